"""Input and output serializers of the reserve API, one pair per use case.

Amounts leave the API as strings with exactly the asset's number of decimals
(``"1.50000000"``), never as JSON numbers, which clients would read as binary floats.
"""

from __future__ import annotations

import datetime as dt
import re
from operator import attrgetter

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from reserve.amounts import format_amount
from reserve.api.valuation_serializers import DecimalStringField
from reserve.models import Asset, Category, Wallet, WalletAddress

AMOUNT_SCHEMA = {
    "type": "string",
    "pattern": r"^[0-9]+(\.[0-9]+)?$",
    "description": "Exact decimal amount with all of the asset's decimal places.",
    "example": "1.50000000",
}


@extend_schema_field(AMOUNT_SCHEMA)
class AmountStringField(serializers.Field):
    """Smallest units (an int at ``units``) written as ``asset.format(units)``.

    The asset is read from the attribute path ``asset`` of the object, or, with ``asset=None``,
    from ``context["asset"]`` (lists of one asset, where looking it up per row would cost a
    query each).
    """

    def __init__(self, *, units: str, asset: str | None = "asset", **kwargs):
        self.units = attrgetter(units)
        self.asset = attrgetter(asset) if asset else None
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj) -> str:
        asset: Asset = self.asset(obj) if self.asset else self.context["asset"]
        return asset.format(self.units(obj))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_AS_OF = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]")
# "?as_of=2026-01-31T12:00:00+05:00" typed unencoded arrives with a space for the "+".
_UNENCODED_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) (\d{2}:?\d{2})$")


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "example": "2026-01-31",
    }
)
class AsOfField(serializers.Field):
    """A moment given as a date (the end of that day in the fund's time zone) or a date-time.

    A date-time without an offset is read in the fund's time zone (Asia/Almaty). Moments before
    1970 are refused: the fund holds nothing from then, and the zone's offsets of those years
    (local mean time, +05:07:48) are not valid RFC 3339.
    """

    default_error_messages = {
        "invalid": _(
            "Enter a date (YYYY-MM-DD) or a date-time with a time zone (YYYY-MM-DDThh:mm[:ss][+HH:MM|Z])."
        ),
        "range": _("Date out of range (1970 to 9998)."),
    }

    def to_internal_value(self, data) -> dt.datetime:
        text = data.strip() if isinstance(data, str) else ""
        if _DATE.match(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                self.fail("invalid")
            moment = dt.datetime.combine(day, dt.time.max)
        elif _DATETIME.match(text):
            try:
                moment = serializers.DateTimeField().to_internal_value(_UNENCODED_PLUS.sub(r"\1+\2", text))
            except serializers.ValidationError as exc:
                self.fail("range" if "overflow" in exc.get_codes() else "invalid")
        else:
            self.fail("invalid")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        try:
            # The ledger reads from the start of the moment's local day: both ends must exist.
            start = dt.datetime.combine(timezone.localtime(moment).date(), dt.time.min)
            timezone.make_aware(start).astimezone(dt.UTC)
            moment.astimezone(dt.UTC)
        except OverflowError:
            self.fail("range")
        if moment < EARLIEST_AS_OF:
            self.fail("range")
        return moment


@extend_schema_serializer(component_name="Asset")
class AssetOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = ["symbol", "name", "network", "decimals", "contract_address", "is_active"]
        read_only_fields = fields


@extend_schema_serializer(component_name="WalletAddress")
class WalletAddressOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WalletAddress
        fields = ["address", "label", "is_active"]
        read_only_fields = fields


@extend_schema_serializer(component_name="Wallet")
class WalletOutputSerializer(serializers.ModelSerializer):
    addresses = WalletAddressOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Wallet
        fields = ["code", "name", "kind", "network", "custodian", "is_active", "addresses"]
        read_only_fields = fields


@extend_schema_serializer(component_name="Balance")
class BalanceOutputSerializer(serializers.Serializer):
    wallet = serializers.CharField(source="wallet.code", help_text=_("Wallet code."))
    category = serializers.ChoiceField(choices=Category.choices, help_text=_("Legal category."))
    asset = serializers.CharField(source="asset.symbol", help_text=_("Asset symbol."))
    decimals = serializers.IntegerField(source="asset.decimals")
    balance = AmountStringField(units="balance")

    def to_representation(self, instance) -> dict:
        if not isinstance(instance, dict):
            return super().to_representation(instance)
        # A row of reserve.ledger.selectors.balance_rows: the same fields, written directly
        # (the per-field machinery costs several times the row itself in a list of 500).
        decimals = instance["asset__decimals"]
        return {
            "wallet": instance["wallet__code"],
            "category": instance["category"],
            "asset": instance["asset__symbol"],
            "decimals": decimals,
            "balance": format_amount(instance["balance"], decimals),
        }


class HoldingsInputSerializer(serializers.Serializer):
    as_of = AsOfField(
        required=False,
        help_text=_(
            "Holdings at this moment: a date (the end of that day, Asia/Almaty) or a date-time "
            "with an offset. Default: now."
        ),
    )


@extend_schema_serializer(component_name="Holding")
class HoldingOutputSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    category = serializers.ChoiceField(choices=Category.choices)
    amount = AmountStringField(units="units")
    decimals = serializers.IntegerField(source="asset.decimals")
    value_usd = DecimalStringField(
        help_text=_("Value at the latest valuation's price, USD; null when that valuation left it unpriced.")
    )
    value_kzt = DecimalStringField(
        help_text=_("Value at the latest valuation's price and USD/KZT rate; null when either is missing.")
    )


@extend_schema_serializer(component_name="Holdings")
class HoldingsOutputSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text=_("The moment the holdings are taken at."))
    holdings = HoldingOutputSerializer(many=True)
    valued_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_("When the valuation whose prices give the values was taken; null if none."),
    )


class LotsInputSerializer(serializers.Serializer):
    asset = serializers.SlugRelatedField(
        slug_field="symbol", queryset=Asset.objects.all(), help_text=_("Asset symbol, e.g. BTC.")
    )


@extend_schema_serializer(component_name="Lot")
class LotOutputSerializer(serializers.Serializer):
    # Renders a row of reserve.ledger.selectors.open_lot_rows (or a LotView of lots_for); the
    # asset comes in the context.
    id = serializers.IntegerField(source="lot.pk")
    root_lot_id = serializers.IntegerField(help_text=_("The lot the units first entered the fund in."))
    category = serializers.ChoiceField(choices=Category.choices)
    origin_kind = serializers.CharField()
    origin_label = serializers.CharField()
    restriction = serializers.CharField(help_text=_("Empty, or a restriction such as no_sale."))
    opened_at = serializers.DateTimeField(source="lot.opened_at")
    remaining = AmountStringField(units="remaining", asset=None)

    def to_representation(self, instance) -> dict:
        if not isinstance(instance, dict):
            return super().to_representation(instance)
        # The same fields as the declared ones, written directly (see BalanceOutputSerializer).
        opened_at = instance["opened_at"].astimezone(timezone.get_current_timezone()).isoformat()
        if opened_at.endswith("+00:00"):  # as DateTimeField writes it
            opened_at = opened_at[:-6] + "Z"
        decimals = self.context["asset"].decimals
        return {
            "id": instance["id"],
            "root_lot_id": instance["root_id"] or instance["id"],
            "category": instance["account__category"],
            "origin_kind": instance["origin_kind"],
            "origin_label": instance["origin_label"],
            "restriction": instance["restriction"],
            "opened_at": opened_at,
            "remaining": format_amount(instance["remaining"], decimals),
        }
