from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from intake.custody_chain import verify_chain
from intake.models import SeizedItem


class Command(BaseCommand):
    help = "Verify every seized item's chain of custody; exit non-zero on a break."

    def handle(self, *args, **options):
        checked = 0
        broken = []
        for item in SeizedItem.objects.order_by("pk").only("pk").iterator(chunk_size=500):
            checked += 1
            problems = verify_chain(item)
            if problems:
                first = problems[0]
                broken.append(first)
                self.stderr.write(
                    _("Broken chain of custody: item #%(item)s, first broken event %(sequence)s: %(problem)s")
                    % {"item": first.item_id, "sequence": first.sequence, "problem": first.message}
                )
        if broken:
            raise CommandError(
                _("%(broken)s of %(checked)s chains of custody are broken.")
                % {"broken": len(broken), "checked": checked}
            )
        self.stdout.write(_("%(checked)s chains of custody verified; none is broken.") % {"checked": checked})
