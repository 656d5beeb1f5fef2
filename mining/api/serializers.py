"""Input and output serializers of the mining API, one pair per use case.

Input: sats are JSON integers or strings of digits; every other figure (hashrate, uptime,
energy, cost) is an exact decimal string or a JSON integer. JSON numbers with a fraction or an
exponent are refused (they arrive as binary floats), as are booleans, unknown fields and
strings over 40 characters. Output: BTC amounts are strings with 8 decimals, sats JSON
integers (a site's figures stay far below 2^53), other figures exact decimal strings.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mining.models import DailyLine, OutputReport, ReportState, Site
from reserve.amounts import format_amount
from reserve.api.valuation_serializers import DecimalStringField

#: Most days one bulk submission may carry (a leap year).
MAX_BULK_DAYS = 366
#: Longest text a figure may be sent as.
MAX_FIGURE_LENGTH = 40
MAX_TXIDS = 50
BTC_DECIMALS = 8

_FLOAT_MESSAGE = _(
    'Send an exact number as a string (for example "98.5"), not a JSON number with a fraction.'
)


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}, {"type": "integer", "minimum": 0}],
        "example": "98.5",
    }
)
class ExactDecimalInput(serializers.Field):
    """A non-negative exact decimal, sent as a string or a JSON integer; floats are refused."""

    default_error_messages = {
        "float": _FLOAT_MESSAGE,
        "invalid": _('Enter a non-negative decimal number such as "98.5".'),
        "too_long": _("At most {max} characters."),
    }

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, float):
            self.fail("float")
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if len(text) > MAX_FIGURE_LENGTH:
            self.fail("too_long", max=MAX_FIGURE_LENGTH)
        if not text or not all(c.isdigit() or c == "." for c in text) or text.count(".") > 1:
            self.fail("invalid")
        if not text.isascii() or text.startswith(".") or text.endswith("."):
            self.fail("invalid")
        try:
            return Decimal(text)
        except InvalidOperation:
            self.fail("invalid")

    def to_representation(self, value) -> str:
        return format(Decimal(value), "f")


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]{1,18}$"}],
        "example": 216000000,
    }
)
class SatsInput(serializers.Field):
    """Whole satoshis, a JSON integer or a string of digits; floats and fractions are refused."""

    default_error_messages = {
        "float": _(
            'Send satoshis as a whole number (216000000 or "216000000"), not a JSON number with a fraction.'
        ),
        "invalid": _("Enter a whole, non-negative number of satoshis."),
        "too_large": _("More satoshis than will ever exist."),
    }

    def to_internal_value(self, data) -> int:
        if isinstance(data, float):
            self.fail("float")
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            if not text.isascii() or not text.isdigit() or len(text) > 18:
                self.fail("invalid")
            data = int(text)
        if not isinstance(data, int) or data < 0:
            self.fail("invalid")
        if data > 21_000_000 * 10**8:
            self.fail("too_large")
        return data

    def to_representation(self, value) -> int:
        return int(value)


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know (a misspelt figure is never silently dropped)."""

    def validate(self, attrs):
        if isinstance(self.initial_data, dict):
            unknown = sorted(str(name)[:60] for name in self.initial_data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return attrs


class DayInputSerializer(StrictInput):
    day = serializers.DateField(help_text=_("The site's local calendar day, YYYY-MM-DD; it must be over."))
    average_hashrate_hs = ExactDecimalInput(help_text=_("Average hashrate over the whole day, in H/s."))
    uptime_percent = ExactDecimalInput(help_text=_("Uptime in percent, 0 to 100."))
    energy_mwh = ExactDecimalInput(help_text=_("Energy consumed, MWh."))
    curtailment_mwh = ExactDecimalInput(help_text=_("Curtailment, MWh."))
    btc_gross = SatsInput(help_text=_("Gross output in satoshis."))
    pool_fees = SatsInput(help_text=_("Pool fees in satoshis."))
    btc_net = SatsInput(help_text=_("Net output in satoshis (gross minus pool fees)."))
    energy_cost_kzt = ExactDecimalInput(help_text=_("Energy cost in KZT."))
    payout_txids = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=MAX_TXIDS,
        required=False,
        default=list,
        help_text=_("Payout transaction ids (64 hexadecimal digits each)."),
    )


class BulkDaysInputSerializer(StrictInput):
    days = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        max_length=MAX_BULK_DAYS,
        help_text=format_lazy(_("The days, at most {max}, each as for one day."), max=MAX_BULK_DAYS),
    )

    def validate_days(self, rows: list[dict]) -> list[dict]:
        errors: dict[int, dict] = {}
        validated: list[dict] = []
        seen: dict = {}
        for index, row in enumerate(rows):
            serializer = DayInputSerializer(data=row)
            if not serializer.is_valid():
                errors[index] = serializer.errors
                continue
            day = serializer.validated_data["day"]
            if day in seen:
                errors[index] = {"day": [_("This day is also at index %(index)s.") % {"index": seen[day]}]}
                continue
            seen[day] = index
            validated.append(serializer.validated_data)
        if errors:
            raise serializers.ValidationError(errors)
        return validated


def btc(sats: int) -> str:
    return format_amount(int(sats), BTC_DECIMALS)


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+\.[0-9]{8}$", "example": "2.16000000"})
class BtcStringField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return btc(value)


class SiteOutputSerializer(serializers.ModelSerializer):
    power_capacity_mw = DecimalStringField()
    tolerance_percent = DecimalStringField()
    pool_fee_percent = DecimalStringField()
    custody_wallet = serializers.CharField(source="custody_wallet.code", read_only=True)

    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "region",
            "operator",
            "licence_number",
            "energy_source",
            "power_capacity_mw",
            "commissioned_on",
            "pool_name",
            "payout_scheme",
            "pool_fee_percent",
            "payout_address",
            "custody_wallet",
            "tolerance_percent",
            "timezone",
            "status",
        ]
        read_only_fields = fields


class DailyLineOutputSerializer(serializers.ModelSerializer):
    report = serializers.IntegerField(source="report_id", read_only=True)
    report_state = serializers.ChoiceField(source="report.state", choices=ReportState.choices, read_only=True)
    average_hashrate_hs = DecimalStringField()
    uptime_percent = DecimalStringField()
    energy_mwh = DecimalStringField()
    curtailment_mwh = DecimalStringField()
    energy_cost_kzt = DecimalStringField()
    btc_gross = serializers.IntegerField(read_only=True, help_text=_("Satoshis."))
    pool_fees = serializers.IntegerField(read_only=True, help_text=_("Satoshis."))
    btc_net = serializers.IntegerField(read_only=True, help_text=_("Satoshis."))
    btc_gross_btc = BtcStringField(source="btc_gross")
    btc_net_btc = BtcStringField(source="btc_net")
    payout_txids = serializers.SerializerMethodField()

    class Meta:
        model = DailyLine
        fields = [
            "id",
            "report",
            "report_state",
            "day",
            "average_hashrate_hs",
            "uptime_percent",
            "energy_mwh",
            "curtailment_mwh",
            "btc_gross",
            "pool_fees",
            "btc_net",
            "btc_gross_btc",
            "btc_net_btc",
            "energy_cost_kzt",
            "payout_txids",
            "recorded_at",
        ]
        read_only_fields = fields

    def get_payout_txids(self, line: DailyLine) -> list[str]:
        return line.payout_txids.split() if line.payout_txids else []


class SubmittedDayOutputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[("recorded", "recorded"), ("unchanged", "unchanged"), ("corrected", "corrected")],
        help_text=_(
            "recorded: a new line; unchanged: the day was already reported with these figures "
            "(nothing written); corrected: the draft report's line now has these figures."
        ),
    )
    line = DailyLineOutputSerializer()


class BulkSubmittedOutputSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    corrected = serializers.IntegerField()
    days = SubmittedDayOutputSerializer(many=True)


class ReportSummaryOutputSerializer(serializers.ModelSerializer):
    site = serializers.IntegerField(source="site_id", read_only=True)
    site_name = serializers.CharField(source="site.name", read_only=True)
    state = serializers.ChoiceField(choices=ReportState.choices, read_only=True)
    line_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = OutputReport
        fields = ["id", "site", "site_name", "period_start", "period_end", "state", "line_count", "opened_at"]
        read_only_fields = fields


class ReportDetailOutputSerializer(ReportSummaryOutputSerializer):
    lines = DailyLineOutputSerializer(many=True, read_only=True)

    class Meta(ReportSummaryOutputSerializer.Meta):
        fields = [*ReportSummaryOutputSerializer.Meta.fields, "explanation", "lines"]
        read_only_fields = fields


class FiguresOutputSerializer(serializers.Serializer):
    expected_sats = serializers.IntegerField(allow_null=True)
    expected_btc = serializers.SerializerMethodField()
    btc_gross = serializers.IntegerField(help_text=_("Reported gross output, satoshis."))
    btc_net = serializers.IntegerField(help_text=_("Reported net output, satoshis."))
    deviation_sats = serializers.IntegerField(allow_null=True, help_text=_("Reported gross minus expected."))
    deviation_percent = DecimalStringField()
    implied_hashrate_hs = DecimalStringField()
    energy_mwh = DecimalStringField()
    j_per_th = DecimalStringField()
    btc_per_mwh = DecimalStringField()
    kzt_per_btc = DecimalStringField()
    exceeds_tolerance = serializers.BooleanField(allow_null=True)

    def get_expected_btc(self, figures) -> str | None:
        return None if figures.expected_sats is None else btc(figures.expected_sats)


class DayVerificationOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    line = serializers.IntegerField(source="line_id")
    average_hashrate_hs = DecimalStringField()
    uptime_percent = DecimalStringField()
    figures = FiguresOutputSerializer()
    error = serializers.CharField(
        help_text=_("Why no expected output could be computed (empty when it was).")
    )


class VerificationOutputSerializer(serializers.Serializer):
    report = serializers.IntegerField(source="report_id")
    tolerance_percent = DecimalStringField()
    fees_per_block_sats = serializers.IntegerField()
    exceeds_tolerance = serializers.BooleanField()
    days = DayVerificationOutputSerializer(many=True)
    missing_days = serializers.ListField(child=serializers.DateField())
    total = FiguresOutputSerializer()
