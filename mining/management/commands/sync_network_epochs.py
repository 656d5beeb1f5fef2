from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mining.services import EpochSyncError, sync_epochs
from reserve.chain.services import chain_source


class Command(BaseCommand):
    help = (
        "Record the start of Bitcoin difficulty epochs (and new epochs up to the tip) from the "
        "configured chain source, through the one write path for epochs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--up-to-height", type=int, default=None, help=_("Stop at this block height (default: the tip).")
        )

    def handle(self, *args, **options):
        up_to = options["up_to_height"]
        if up_to is not None and up_to < 0:
            raise CommandError(_("The height to stop at must not be negative."))
        source = chain_source("bitcoin")
        if source is None:
            raise CommandError(
                _(
                    "No chain source is configured for bitcoin (CHAIN_SOURCES; the embedded default "
                    "is offline). A clerk can record an epoch's start time in the admin."
                )
            )
        try:
            recorded = sync_epochs(source=source, actor=None, up_to_height=up_to)
        except EpochSyncError as exc:
            for row in exc.recorded:
                self._print(row)
            raise CommandError(str(exc)) from exc
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        for row in recorded:
            self._print(row)
        self.stdout.write(_("%(count)s epoch(s) recorded.") % {"count": len(recorded)})

    def _print(self, row):
        self.stdout.write(
            _("Epoch %(epoch)s (height %(height)s): start %(start)s, bits %(bits)s")
            % {
                "epoch": row.epoch,
                "height": row.start_height,
                "start": row.start_time.isoformat() if row.start_time else "-",
                "bits": row.bits,
            }
        )
