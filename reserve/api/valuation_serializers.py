"""Input and output serializers of the valuation endpoints.

Prices, rates and values leave the API as exact decimal strings (``"64250.5"``, ``"12.34"``),
never as JSON numbers; a missing value is ``null``, never zero.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

DECIMAL_SCHEMA = {
    "type": "string",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "description": "Exact decimal number.",
    "example": "64250.50",
}
EARLIEST = dt.date(1970, 1, 1)
# "?at=2026-01-31T12:00:00+05:00" typed unencoded arrives with a space for the "+".
_UNENCODED_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) (\d{2}:?\d{2})$")
LATEST = dt.date(9998, 12, 31)


@extend_schema_field({**DECIMAL_SCHEMA, "nullable": True})
class DecimalStringField(serializers.Field):
    """A :class:`~decimal.Decimal` written exactly as a string (``null`` for None)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Decimal | str | None) -> str | None:
        if value is None:
            return None
        return format(Decimal(value), "f")

    def get_attribute(self, instance):
        try:
            return super().get_attribute(instance)
        except (KeyError, AttributeError):
            return None


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-01-31T12:00:00+05:00"})
class AwareDateTimeField(serializers.Field):
    """A date-time with its offset (``Z`` or ``+05:00``); one without is refused, not guessed."""

    default_error_messages = {
        "invalid": _("Enter a date-time with a time zone (YYYY-MM-DDThh:mm[:ss][+HH:MM|Z])."),
        "naive": _("Give the time zone of the date-time (+05:00 for Almaty, or Z)."),
        "range": _("Date out of range (1970 to 9998)."),
    }

    def to_internal_value(self, data) -> dt.datetime:
        text = _UNENCODED_PLUS.sub(r"\1+\2", data.strip()) if isinstance(data, str) else ""
        try:
            moment = parse_datetime(text)
        except ValueError:
            self.fail("invalid")
        if moment is None:
            self.fail("invalid")
        if timezone.is_naive(moment):
            self.fail("naive")
        try:
            utc = moment.astimezone(dt.UTC)
        except OverflowError:
            self.fail("range")
        if not (EARLIEST <= utc.date() <= LATEST):
            self.fail("range")
        return moment


class ValuationAtInputSerializer(serializers.Serializer):
    at = AwareDateTimeField(
        help_text=_("The valuation in force at this moment: a date-time with its offset.")
    )


class NavInputSerializer(serializers.Serializer):
    since = serializers.DateField(
        required=False, help_text=_("First day (Asia/Almaty), inclusive."), format="iso-8601"
    )
    until = serializers.DateField(
        required=False, help_text=_("Last day (Asia/Almaty), inclusive."), format="iso-8601"
    )

    def validate(self, attrs):
        for name in ("since", "until"):
            day = attrs.get(name)
            if day is not None and not (EARLIEST <= day <= LATEST):
                raise serializers.ValidationError({name: [_("Date out of range (1970 to 9998).")]})
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": [_("The last day comes before the first.")]})
        return attrs


@extend_schema_serializer(component_name="ValuationQuote")
class QuoteRefSerializer(serializers.Serializer):
    """A quote as the snapshot recorded it."""

    id = serializers.IntegerField()
    source = serializers.CharField(help_text=_("Code of the price source (kraken, coingecko, manual...)."))
    price = DecimalStringField(help_text=_("Price per unit, USD."))
    market_time = serializers.CharField(
        allow_null=True, help_text=_("The time the source states for the price (ISO 8601).")
    )
    fetched_at = serializers.CharField(help_text=_("When the quote was fetched or entered (ISO 8601)."))
    manual = serializers.BooleanField(help_text=_("Entered by a clerk."))


@extend_schema_serializer(component_name="RejectedQuote")
class RejectedQuoteSerializer(QuoteRefSerializer):
    reason = serializers.CharField(help_text=_("Why the quote was not used (stale, outlier...)."))


@extend_schema_serializer(component_name="ValuationPrice")
class SnapshotPriceSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    price_usd = DecimalStringField(source="price", help_text=_("The price used; null when unpriced."))
    quotes = QuoteRefSerializer(many=True, help_text=_("The quotes the price is the median of."))
    rejected = RejectedQuoteSerializer(many=True)
    unpriced_reason = serializers.CharField(help_text=_("Why there is no price; empty when priced."))


@extend_schema_serializer(component_name="Unpriced")
class UnpricedSerializer(serializers.Serializer):
    asset = serializers.CharField(help_text=_("Asset symbol, or KZT when no USD/KZT rate was in force."))
    reason = serializers.CharField()


@extend_schema_serializer(component_name="UsdKztRate")
class RateSerializer(serializers.Serializer):
    rate = DecimalStringField(source="rate_per_unit", help_text=_("KZT per USD."))
    source = serializers.CharField(source="source.code")
    day = serializers.DateField(help_text=_("The day the rate was published for."))
    applies_from = serializers.DateField()


@extend_schema_serializer(component_name="Valuation")
class SnapshotOutputSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField(help_text=_("The moment the holdings are valued at."))
    created_at = serializers.DateTimeField()
    reserve_usd = DecimalStringField(help_text=_("The reserve (forfeited, mined, restricted), USD."))
    reserve_kzt = DecimalStringField(help_text=_("The reserve, KZT; null without an official rate."))
    custody_usd = DecimalStringField(help_text=_("Units held for cases (not state property), USD."))
    custody_kzt = DecimalStringField(help_text=_("Units held for cases, KZT."))
    usd_kzt = RateSerializer(source="usd_kzt_rate", allow_null=True)
    prices = SnapshotPriceSerializer(many=True, source="prices.all")
    unpriced = UnpricedSerializer(many=True)


@extend_schema_serializer(component_name="NavDay")
class NavDayOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    taken_at = serializers.DateTimeField(help_text=_("The day's last snapshot."))
    reserve_usd = DecimalStringField()
    reserve_kzt = DecimalStringField()
    custody_usd = DecimalStringField()
    custody_kzt = DecimalStringField()
