"""Prices, official rates and valuation snapshots (issue #17).

Where a figure came from is always kept: every quote names its source, when it was fetched and
the market time it states; a manual price names who entered it; a snapshot names the quotes and
the official rate it used. Quotes, rates and snapshots are written once and never changed.
Prices, rates and values are exact decimals (:class:`~reserve.amounts.ExactDecimalField`).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reserve.amounts import AmountField, ExactDecimalField
from reserve.models.assets import Asset, Wallet
from reserve.models.immutable import ImmutableModel


class SourceKind(models.TextChoices):
    EXCHANGE = "exchange", _("exchange ticker")
    AGGREGATOR = "aggregator", _("aggregator")
    MANUAL = "manual", _("manual (entered by a clerk)")
    OFFICIAL_RATES = "official_rates", _("official exchange rates")


class FailureClass(models.TextChoices):
    """Why a source gave no usable answer (the classes of :mod:`reserve.external.http`)."""

    UNREACHABLE = "unreachable", _("unreachable")
    TIMEOUT = "timeout", _("timed out")
    RATE_LIMITED = "rate_limited", _("rate-limited")
    MALFORMED = "malformed", _("malformed answer")
    UNKNOWN_ASSET = "unknown_asset", _("unknown asset")
    STALE = "stale", _("stale")
    HTTP_ERROR = "http_error", _("HTTP error")


class PriceSource(models.Model):
    """A configured source of prices or official rates, in the order it is asked, with its
    health (last success, last failure and its class)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveSmallIntegerField(
        _("order"), default=100, help_text=_("Sources are asked in this order; lower first.")
    )
    base_url = models.URLField(
        _("base URL"), blank=True, help_text=_("Empty: the provider's public address.")
    )
    max_age_seconds = models.PositiveIntegerField(
        _("maximum age (seconds)"),
        default=900,
        help_text=_("A quote whose market time is older than this is stale and not used."),
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_failure = models.CharField(
        _("last failure class"), max_length=20, choices=FailureClass.choices, blank=True
    )
    last_failure_detail = models.TextField(_("last failure detail"), blank=True)
    retry_after_until = models.DateTimeField(
        _("rate-limited until"), null=True, blank=True, help_text=_("Kept from the provider's Retry-After.")
    )
    history = HistoricalRecords(
        excluded_fields=[
            "last_success_at",
            "last_failure_at",
            "last_failure",
            "last_failure_detail",
            "retry_after_until",
        ]
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("price source")
        verbose_name_plural = _("price sources")

    def __str__(self) -> str:
        return self.name


class Quote(ImmutableModel):
    """One price of one asset from one source. A manual quote names the clerk who entered it."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("asset"))
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    price = ExactDecimalField(_("price per unit"))
    source = models.ForeignKey(
        PriceSource, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("source")
    )
    fetched_at = models.DateTimeField(_("fetched at"), db_index=True)
    market_time = models.DateTimeField(_("market time"), null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("For a manual price: where it was read."))

    class Meta:
        ordering = ["-fetched_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        # A price is positive: checked by the pricing services (a CHECK would compare text on
        # SQLite, where exact decimals are stored as text).
        indexes = [models.Index(fields=["asset", "currency", "fetched_at"])]

    def __str__(self) -> str:
        return f"{self.asset} {self.price} {self.currency} ({self.source.code})"

    @property
    def manual(self) -> bool:
        return self.entered_by_id is not None


class OfficialRate(ImmutableModel):
    """An official rate in KZT as published (per ``quant`` units) for a day; it applies from
    ``applies_from`` (the next working day)."""

    currency = models.CharField(_("currency"), max_length=3)
    quant = models.PositiveIntegerField(_("units quoted"), default=1)
    rate = ExactDecimalField(_("KZT per quoted units"))
    rate_per_unit = ExactDecimalField(_("KZT per unit"))
    day = models.DateField(_("rate of"))
    applies_from = models.DateField(_("applies from"), db_index=True)
    source = models.ForeignKey(
        PriceSource, on_delete=models.PROTECT, related_name="rates", verbose_name=_("source")
    )
    fetched_at = models.DateTimeField(_("fetched at"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )

    class Meta:
        ordering = ["-applies_from", "currency"]
        verbose_name = _("official rate")
        verbose_name_plural = _("official rates")
        constraints = [
            models.UniqueConstraint(fields=["source", "currency", "day"], name="official_rate_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.currency}/KZT {self.rate_per_unit} ({self.day})"


class ValuationSnapshot(ImmutableModel):
    """The holdings valued at one instant, with the prices and the rate used. One per instant:
    a refresh of the same instant finds it and creates nothing."""

    taken_at = models.DateTimeField(_("valued at"), unique=True)
    created_at = models.DateTimeField(_("computed at"))
    usd_kzt = ExactDecimalField(_("USD/KZT rate used"), null=True, blank=True)
    usd_kzt_rate = models.ForeignKey(
        OfficialRate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("official rate"),
    )
    reserve_usd = ExactDecimalField(_("reserve, USD"))
    reserve_kzt = ExactDecimalField(_("reserve, KZT"), null=True, blank=True)
    custody_usd = ExactDecimalField(_("held for cases, USD"))
    custody_kzt = ExactDecimalField(_("held for cases, KZT"), null=True, blank=True)
    unpriced = models.JSONField(_("unpriced assets"), default=list, blank=True)
    trigger = models.CharField(_("made by"), max_length=20, default="schedule")

    class Meta:
        ordering = ["-taken_at"]
        get_latest_by = "taken_at"
        verbose_name = _("valuation snapshot")
        verbose_name_plural = _("valuation snapshots")

    def __str__(self) -> str:
        return f"valuation {self.taken_at:%Y-%m-%d %H:%M}"


class SnapshotPrice(ImmutableModel):
    """The price a snapshot used for an asset, with the quotes behind it; or why there is none."""

    snapshot = models.ForeignKey(ValuationSnapshot, on_delete=models.PROTECT, related_name="prices")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset"))
    price = ExactDecimalField(_("price, USD"), null=True, blank=True)
    quotes = models.JSONField(_("quotes used"), default=list, blank=True)
    rejected = models.JSONField(_("quotes rejected"), default=list, blank=True)
    unpriced_reason = models.TextField(_("why unpriced"), blank=True)

    class Meta:
        ordering = ["snapshot_id", "asset_id"]
        verbose_name = _("snapshot price")
        verbose_name_plural = _("snapshot prices")
        constraints = [models.UniqueConstraint(fields=["snapshot", "asset"], name="snapshot_price_once")]

    def __str__(self) -> str:
        return f"{self.asset_id and self.asset.symbol}: {self.price if self.price is not None else '—'} USD"


class SnapshotLine(ImmutableModel):
    """Units of an asset in one wallet and legal category at the instant, and their value."""

    snapshot = models.ForeignKey(ValuationSnapshot, on_delete=models.PROTECT, related_name="lines")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset"))
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+", verbose_name=_("wallet"))
    category = models.CharField(_("category"), max_length=32)
    units = AmountField(_("units"))
    value_usd = ExactDecimalField(_("value, USD"), null=True, blank=True)
    value_kzt = ExactDecimalField(_("value, KZT"), null=True, blank=True)

    class Meta:
        ordering = ["snapshot_id", "asset_id", "wallet_id", "category"]
        verbose_name = _("snapshot line")
        verbose_name_plural = _("snapshot lines")

    def __str__(self) -> str:
        return f"{self.asset.symbol} {self.wallet.code} {self.category}"
