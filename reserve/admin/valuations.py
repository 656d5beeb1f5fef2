"""Prices, official rates, valuation snapshots, chain observations, reconciliation differences
and the outbox.

Quotes, rates, snapshots and observations are written once and shown read-only; a clerk's
manual price, official rate and observation, and the explanation of a difference, are made by
their services (:mod:`reserve.pricing.services`, :mod:`reserve.chain.services`) through
service forms, with the signed-in user as actor. Prices and values are shown as exact decimals,
amounts with the asset's decimals, times in the fund's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from reserve.admin.base import (
    GuardedHistoryAdmin,
    InsertOnlyAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyHistoryAdmin,
    ReadOnlyInline,
    admin_link,
    pretty_json,
)
from reserve.admin.service_forms import ServiceAction, ServiceForm, ServiceFormAdminMixin
from reserve.amounts import AmountError, parse_amount
from reserve.chain.services import explain_difference, record_observation
from reserve.models import (
    Asset,
    ChainObservation,
    DifferenceStatus,
    OfficialRate,
    OutboxMessage,
    PriceSource,
    Quote,
    ReconciliationDifference,
    SnapshotLine,
    SnapshotPrice,
    ValuationSnapshot,
    Wallet,
)
from reserve.pricing.services import enter_manual_price, enter_official_rate


def exact(value: Decimal | None) -> str:
    """A price, rate or value as its exact decimal string ("—" when there is none)."""
    return "—" if value is None else format(value, "f")


def _active_assets():
    return Asset.objects.filter(is_active=True).order_by("symbol")


# Service forms


class ManualPriceForm(ServiceForm):
    title = _("Enter a manual price")
    intro = _(
        "A manual price is always flagged as manual and names you as the one who entered it. "
        "Say where it was read."
    )
    done_message = _("The manual price was recorded: %(obj)s.")

    asset = forms.ModelChoiceField(label=_("asset"), queryset=_active_assets())
    price = forms.CharField(label=_("price per unit, USD"), max_length=60)
    market_time = forms.DateTimeField(
        label=_("market time"),
        required=False,
        help_text=_("When the price was quoted (Asia/Almaty); empty: now."),
    )
    note = forms.CharField(
        label=_("where it was read"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def submit(self, *, actor) -> Quote:
        data = self.cleaned_data
        return enter_manual_price(
            asset=data["asset"],
            price=data["price"],
            actor=actor,
            note=data["note"],
            market_time=data["market_time"],
        )


class OfficialRateForm(ServiceForm):
    title = _("Enter an official rate")
    intro = _(
        "An official rate in KZT as the National Bank published it; it applies from the next "
        "working day after its day."
    )
    done_message = _("The official rate was recorded: %(obj)s.")

    currency = forms.CharField(label=_("currency"), max_length=3, min_length=3, initial="USD")
    rate = forms.CharField(label=_("KZT per quoted units"), max_length=60)
    quant = forms.IntegerField(label=_("units quoted"), min_value=1, initial=1)
    day = forms.DateField(label=_("rate of"))

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def submit(self, *, actor) -> OfficialRate:
        data = self.cleaned_data
        return enter_official_rate(
            currency=data["currency"], rate=data["rate"], quant=data["quant"], day=data["day"], actor=actor
        )


class ObservationForm(ServiceForm):
    title = _("Record an observation")
    intro = _(
        "A balance read on chain from an explorer, a node or a custodian's statement. "
        "Say where and how it was read."
    )
    done_message = _("The observation was recorded: %(obj)s.")

    wallet = forms.ModelChoiceField(
        label=_("wallet"), queryset=Wallet.objects.filter(is_active=True).order_by("code")
    )
    asset = forms.ModelChoiceField(label=_("asset"), queryset=_active_assets())
    balance = forms.CharField(
        label=_("balance seen on chain"), max_length=80, help_text=_("In units of the asset, e.g. 1.5.")
    )
    observed_at = forms.DateTimeField(label=_("observed at"), help_text=_("Asia/Almaty time."))
    block_height = forms.IntegerField(label=_("block height"), required=False, min_value=0)
    evidence = forms.CharField(
        label=_("evidence"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def clean(self):
        data = super().clean()
        asset, balance = data.get("asset"), data.get("balance")
        if asset is not None and balance is not None:
            try:
                data["units"] = parse_amount(balance, asset.decimals, allow_zero=True)
            except AmountError as exc:
                self.add_error("balance", str(exc))
        return data

    def submit(self, *, actor) -> ChainObservation:
        data = self.cleaned_data
        return record_observation(
            wallet=data["wallet"],
            asset=data["asset"],
            balance=data["units"],
            observed_at=data["observed_at"],
            actor=actor,
            evidence=data["evidence"],
            block_height=data["block_height"],
        )


class ExplanationForm(ServiceForm):
    title = _("Explain the difference")
    intro = _("Your explanation closes the difference; the figures stay as found.")
    done_message = _("The difference was explained: %(obj)s.")

    explanation = forms.CharField(
        label=_("explanation"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )

    def submit(self, *, actor) -> ReconciliationDifference:
        if self.instance is None:
            raise ValidationError(_("No difference to explain."))
        return explain_difference(
            difference=self.instance, explanation=self.cleaned_data["explanation"], actor=actor
        )


# Prices and rates


@admin.register(PriceSource)
class PriceSourceAdmin(GuardedHistoryAdmin):
    """Sources are configured here (order, address, freshness, on/off), with history; their
    health is written by the pricing services. Only superusers add or delete sources."""

    list_display = (
        "name",
        "code",
        "kind",
        "enabled",
        "position",
        "last_success_at",
        "last_failure",
        "last_failure_at",
        "retry_after_until",
    )
    list_filter = ("kind", "enabled", "last_failure")
    search_fields = ("code", "name")
    fields = (
        "code",
        "name",
        "kind",
        "enabled",
        "position",
        "base_url",
        "max_age_seconds",
        "last_success_at",
        "last_failure_at",
        "last_failure",
        "last_failure_detail",
        "retry_after_until",
    )
    health_fields = (
        "last_success_at",
        "last_failure_at",
        "last_failure",
        "last_failure_detail",
        "retry_after_until",
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = set(super().get_readonly_fields(request, obj)) | set(self.health_fields)
        if obj is not None:
            readonly |= {"code", "kind"}  # the adapter is chosen by the code
            if not request.user.is_superuser:
                readonly.add("name")
        return [name for name in self.fields if name in readonly]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Quote)
class QuoteAdmin(ServiceFormAdminMixin, InsertOnlyAdmin):
    written_at = "fetched_at"
    written_by = "entered_by"
    written_message = _("Stored. Quotes are never changed or deleted.")
    list_display = (
        "asset",
        "source",
        "price_display",
        "currency",
        "market_time",
        "fetched_at",
        "manual_display",
        "entered_by",
    )
    list_filter = ("source", "asset", "currency", ("entered_by", admin.EmptyFieldListFilter))
    list_select_related = ("asset", "source", "entered_by")
    search_fields = ("asset__symbol", "source__code")
    date_hierarchy = "fetched_at"
    show_full_result_count = False
    fields = (
        "asset",
        "source",
        "price_display",
        "currency",
        "market_time",
        "fetched_at",
        "manual_display",
        "entered_by",
        "note",
    )
    service_actions = (
        ServiceAction("manual-price", _("Enter a manual price"), ManualPriceForm, "reserve.add_quote"),
    )

    @admin.display(description=_("price per unit"), ordering="price")
    def price_display(self, obj: Quote) -> str:
        return exact(obj.price)

    @admin.display(description=_("manual"), boolean=True)
    def manual_display(self, obj: Quote) -> bool:
        return obj.manual


@admin.register(OfficialRate)
class OfficialRateAdmin(ServiceFormAdminMixin, InsertOnlyAdmin):
    written_at = "fetched_at"
    written_by = "entered_by"
    written_message = _("Stored. Official rates are never changed or deleted.")
    list_display = (
        "currency",
        "day",
        "applies_from",
        "rate_display",
        "quant",
        "rate_per_unit_display",
        "source",
        "entered_by",
        "fetched_at",
    )
    list_filter = ("currency", "source")
    list_select_related = ("source", "entered_by")
    date_hierarchy = "applies_from"
    show_full_result_count = False
    fields = (
        "currency",
        "day",
        "applies_from",
        "rate_display",
        "quant",
        "rate_per_unit_display",
        "source",
        "entered_by",
        "fetched_at",
    )
    service_actions = (
        ServiceAction("enter", _("Enter an official rate"), OfficialRateForm, "reserve.add_officialrate"),
    )

    @admin.display(description=_("KZT per quoted units"))
    def rate_display(self, obj: OfficialRate) -> str:
        return exact(obj.rate)

    @admin.display(description=_("KZT per unit"))
    def rate_per_unit_display(self, obj: OfficialRate) -> str:
        return exact(obj.rate_per_unit)


# Valuations


def _local(iso: str | None) -> str:
    """A stored ISO time shown in Asia/Almaty, like every other time on the screens."""
    if not iso:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def _quote_lines(quotes: list[dict]) -> str:
    if not quotes:
        return "—"
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            "<li>{} {} USD · {} {} · {} {}{}{}</li>",
            (
                (
                    q.get("source", "?"),
                    q.get("price", "?"),
                    _("market time"),
                    _local(q.get("market_time")),
                    _("fetched at"),
                    _local(q.get("fetched_at")),
                    format_html(" · <strong>{}</strong>", _("manual")) if q.get("manual") else "",
                    format_html(" · {}: {}", _("rejected"), q["reason"]) if q.get("reason") else "",
                )
                for q in quotes
            ),
        ),
    )


class SnapshotPriceInline(ReadOnlyInline):
    model = SnapshotPrice
    fields = ("asset", "price_display", "quotes_display", "rejected_display", "unpriced_reason")
    verbose_name = _("price used")
    verbose_name_plural = _("prices used")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset")

    @admin.display(description=_("price, USD"))
    def price_display(self, obj: SnapshotPrice) -> str:
        return exact(obj.price)

    @admin.display(description=_("quotes used"))
    def quotes_display(self, obj: SnapshotPrice) -> str:
        return _quote_lines(obj.quotes)

    @admin.display(description=_("quotes rejected"))
    def rejected_display(self, obj: SnapshotPrice) -> str:
        return _quote_lines(obj.rejected)


class SnapshotLineInline(ReadOnlyInline):
    model = SnapshotLine
    fields = ("asset", "wallet", "category", "units_display", "value_usd_display", "value_kzt_display")
    verbose_name = _("holding valued")
    verbose_name_plural = _("holdings valued")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset", "wallet")

    @admin.display(description=_("units"))
    def units_display(self, obj: SnapshotLine) -> str:
        return obj.asset.format(obj.units)

    @admin.display(description=_("value, USD"))
    def value_usd_display(self, obj: SnapshotLine) -> str:
        return exact(obj.value_usd)

    @admin.display(description=_("value, KZT"))
    def value_kzt_display(self, obj: SnapshotLine) -> str:
        return exact(obj.value_kzt)


@admin.register(ValuationSnapshot)
class ValuationSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "taken_at",
        "reserve_usd_display",
        "reserve_kzt_display",
        "custody_usd_display",
        "custody_kzt_display",
        "usd_kzt_display",
        "unpriced_count",
        "trigger",
    )
    list_filter = ("trigger",)
    date_hierarchy = "taken_at"
    show_full_result_count = False
    fields = (
        "taken_at",
        "created_at",
        "trigger",
        "reserve_usd_display",
        "reserve_kzt_display",
        "custody_usd_display",
        "custody_kzt_display",
        "usd_kzt_display",
        "rate_link",
        "unpriced_display",
    )
    readonly_fields = fields
    inlines = [SnapshotPriceInline, SnapshotLineInline]

    @admin.display(description=_("reserve, USD"), ordering="taken_at")
    def reserve_usd_display(self, obj: ValuationSnapshot) -> str:
        return exact(obj.reserve_usd)

    @admin.display(description=_("reserve, KZT"))
    def reserve_kzt_display(self, obj: ValuationSnapshot) -> str:
        return exact(obj.reserve_kzt)

    @admin.display(description=_("held for cases, USD"))
    def custody_usd_display(self, obj: ValuationSnapshot) -> str:
        return exact(obj.custody_usd)

    @admin.display(description=_("held for cases, KZT"))
    def custody_kzt_display(self, obj: ValuationSnapshot) -> str:
        return exact(obj.custody_kzt)

    @admin.display(description=_("USD/KZT rate used"))
    def usd_kzt_display(self, obj: ValuationSnapshot) -> str:
        return exact(obj.usd_kzt)

    @admin.display(description=_("official rate"))
    def rate_link(self, obj: ValuationSnapshot) -> str:
        return admin_link(obj.usd_kzt_rate)

    @admin.display(description=_("unpriced"))
    def unpriced_count(self, obj: ValuationSnapshot) -> int:
        return len(obj.unpriced or [])

    @admin.display(description=_("unpriced assets"))
    def unpriced_display(self, obj: ValuationSnapshot) -> str:
        if not obj.unpriced:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>: {}</li>",
                ((u.get("asset"), u.get("reason")) for u in obj.unpriced),
            ),
        )


# The chain


@admin.register(ChainObservation)
class ChainObservationAdmin(ServiceFormAdminMixin, InsertOnlyAdmin):
    written_at = "observed_at"
    written_by = "entered_by"
    written_message = _("Recorded. Observations are never changed or deleted.")
    list_display = (
        "observed_at",
        "wallet",
        "asset",
        "balance_display",
        "block_height",
        "source",
        "entered_by",
    )
    list_filter = ("source", "asset", "wallet")
    list_select_related = ("wallet", "asset", "entered_by")
    search_fields = ("wallet__code", "asset__symbol")
    date_hierarchy = "observed_at"
    show_full_result_count = False
    fields = (
        "observed_at",
        "wallet",
        "asset",
        "balance_display",
        "block_height",
        "source",
        "entered_by",
        "evidence",
    )
    service_actions = (
        ServiceAction("record", _("Record an observation"), ObservationForm, "reserve.add_chainobservation"),
    )

    @admin.display(description=_("balance seen on chain"))
    def balance_display(self, obj: ChainObservation) -> str:
        return obj.asset.format(obj.balance)


def _is_open(difference: ReconciliationDifference) -> bool:
    return difference.status == DifferenceStatus.OPEN


@admin.register(ReconciliationDifference)
class ReconciliationDifferenceAdmin(ServiceFormAdminMixin, ReadOnlyHistoryAdmin):
    list_display = (
        "found_at",
        "wallet",
        "asset",
        "ledger_display",
        "chain_display",
        "difference_display",
        "status",
        "explained_by",
    )
    list_filter = ("status", "asset", "wallet")
    list_select_related = ("wallet", "asset", "explained_by")
    date_hierarchy = "found_at"
    show_full_result_count = False
    fields = (
        "found_at",
        "wallet",
        "asset",
        "ledger_display",
        "chain_display",
        "difference_display",
        "observation_link",
        "status",
        "explanation",
        "explained_by",
        "explained_at",
    )
    service_actions = (
        ServiceAction(
            "explain",
            _("Explain"),
            ExplanationForm,
            "reserve.change_reconciliationdifference",
            on_row=True,
            applies=_is_open,
            action_label=_("Explain the selected difference"),
        ),
    )

    @admin.display(description=_("ledger balance"))
    def ledger_display(self, obj: ReconciliationDifference) -> str:
        return obj.asset.format(obj.ledger_balance)

    @admin.display(description=_("chain balance"))
    def chain_display(self, obj: ReconciliationDifference) -> str:
        return obj.asset.format(obj.chain_balance)

    @admin.display(description=_("chain minus ledger"))
    def difference_display(self, obj: ReconciliationDifference) -> str:
        text = obj.asset.format(obj.difference)
        return text if obj.difference < 0 else f"+{text}"

    @admin.display(description=_("observation"))
    def observation_link(self, obj: ReconciliationDifference) -> str:
        return admin_link(obj.observation)


# Background work


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "task", "created_at", "published_at", "attempts", "dedupe_key")
    list_filter = (("published_at", admin.EmptyFieldListFilter), "task")
    search_fields = ("task", "=dedupe_key")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "task",
        "args_display",
        "kwargs_display",
        "dedupe_key",
        "created_at",
        "published_at",
        "attempts",
        "last_error",
    )
    readonly_fields = fields

    @admin.display(description=_("arguments"))
    def args_display(self, obj: OutboxMessage) -> str:
        return pretty_json(obj.args)

    @admin.display(description=_("keyword arguments"))
    def kwargs_display(self, obj: OutboxMessage) -> str:
        return pretty_json(obj.kwargs)
