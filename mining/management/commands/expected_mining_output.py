import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from mining.expected import DEFAULT_TIMEZONE, ExpectedOutputError, expected_output, get_zone, output_as_json


class Command(BaseCommand):
    help = "Print the expected Bitcoin mining output of a hashrate over one local day, as one JSON object."

    def add_arguments(self, parser):
        parser.add_argument("--day", required=True, help=_("Local calendar day, YYYY-MM-DD."))
        parser.add_argument("--hashrate-hs", required=True, help=_("Average hashrate in hashes per second."))
        parser.add_argument("--fees-per-block-sats", help=_("Transaction fees per block in satoshis."))
        parser.add_argument("--timezone", default=DEFAULT_TIMEZONE, help=_("IANA time zone of the site."))

    def handle(self, *args, **options):
        try:
            day = dt.date.fromisoformat(options["day"])
        except ValueError as exc:
            raise CommandError(_("Bad date %(day)s: use YYYY-MM-DD.") % {"day": options["day"]}) from exc
        try:
            hashrate = Decimal(options["hashrate_hs"])
        except InvalidOperation as exc:
            raise CommandError(_("The hashrate must be a number of hashes per second.")) from exc
        fees = options["fees_per_block_sats"]
        if fees is None:
            fees = settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS
        else:
            try:
                fees = int(fees)
            except ValueError as exc:
                raise CommandError(_("Fees per block are whole satoshis.")) from exc
        tz = options["timezone"]
        try:
            today = timezone.now().astimezone(get_zone(tz)).date()
            if day >= today:
                raise CommandError(
                    _("The day %(day)s is not over yet in %(tz)s.") % {"day": day.isoformat(), "tz": tz}
                )
            result = expected_output(day=day, hashrate_hs=hashrate, fees_per_block_sats=fees, tz=tz)
        except ExpectedOutputError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(output_as_json(result)))
