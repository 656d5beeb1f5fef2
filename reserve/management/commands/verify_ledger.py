"""Check every ledger invariant from the stored rows; exit non-zero on any problem."""

from django.core.management.base import BaseCommand, CommandError

from reserve.ledger.verification import verify_ledger


class Command(BaseCommand):
    help = (
        "Verify the ledger: balanced entries, balances = sum of postings, daily closings, lots, "
        "gapless numbering, reversals. Prints every problem and exits non-zero if there is any."
    )

    def handle(self, *args, **options) -> None:
        report = verify_ledger()
        for check in report.checks:
            if check.ok:
                self.stdout.write(self.style.SUCCESS(f"OK    {check.name} ({check.checked} checked)"))
            else:
                self.stdout.write(
                    self.style.ERROR(
                        f"FAIL  {check.name} ({check.checked} checked, {len(check.problems)} problem(s))"
                    )
                )
                for problem in check.problems:
                    self.stdout.write(f"      - {problem}")
        if not report.ok:
            raise CommandError(f"The ledger has {len(report.problems)} problem(s); see above.")
        self.stdout.write(self.style.SUCCESS("The ledger is consistent."))
