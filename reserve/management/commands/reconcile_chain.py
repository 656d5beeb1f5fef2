"""Reconcile the ledger with the chain on demand: observe the wallets through the configured
chain sources (none offline), then compare every wallet's latest observation with the ledger.
Prints each open difference; exits non-zero while any difference is open (unexplained)."""

from django.core.management.base import BaseCommand, CommandError

from reserve.chain.services import observe_wallets, reconcile
from reserve.models import DifferenceStatus, ReconciliationDifference


class Command(BaseCommand):
    help = (
        "Observe the wallets through the configured chain sources and record every difference "
        "between the ledger and the chain. Exits non-zero while a difference is unexplained."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-observe", action="store_true", help="Only compare the observations already recorded."
        )

    def handle(self, *args, **options) -> None:
        if not options["no_observe"]:
            observed = observe_wallets()
            self.stdout.write(f"{len(observed)} wallet(s) observed through chain sources.")
        found = reconcile()
        self.stdout.write(f"{len(found)} new difference(s).")
        open_ones = ReconciliationDifference.objects.filter(status=DifferenceStatus.OPEN).select_related(
            "wallet", "asset"
        )
        for difference in open_ones:
            asset = difference.asset
            self.stdout.write(
                f"OPEN  {difference.wallet.code} {asset.symbol}: ledger {asset.format(difference.ledger_balance)}, "
                f"chain {asset.format(difference.chain_balance)} (found {difference.found_at:%Y-%m-%d %H:%M})"
            )
        if open_ones:
            raise CommandError(
                f"{len(open_ones)} difference(s) between the ledger and the chain need an explanation."
            )
        self.stdout.write(self.style.SUCCESS("The ledger agrees with the latest observations."))
