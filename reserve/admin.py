"""Clerks' screens for the reserve: reference data (assets, wallets, addresses) is edited here;
the ledger (balances, entries, postings, lots, periods) and the audit journal are read-only.

Nothing here writes to the ledger. Entries are posted by ``reserve.services.ledger`` (through
the approval engine), never by an admin form or action; amounts are shown exactly with
``asset.format``.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from reserve.addresses import AddressError, normalize_address
from reserve.models import (
    Account,
    Asset,
    AuditEvent,
    JournalEntry,
    Lot,
    LotMovement,
    Period,
    Posting,
    Wallet,
    WalletAddress,
)
from reserve.posting_rules import reason_label, registered_reasons

admin.site.site_header = _("State Digital Asset Fund")
admin.site.site_title = _("State Digital Asset Fund")
admin.site.index_title = _("Back office")


def admin_link(obj: Model | None, text: object = None) -> str:
    """A link to ``obj``'s admin change page, or its text when it has none."""
    if obj is None:
        return "—"
    opts = obj._meta
    label = obj if text is None else text
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(label)
    return format_html('<a href="{}">{}</a>', url, label)


# --- Base classes ---------------------------------------------------------------------------


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """``SimpleHistoryAdmin`` that cannot be used to write past the permissions.

    simple-history's version page (``<pk>/history/<version>/``) saves the old version on a POST
    from anyone who may *view* the object: lacking change permission, or with
    ``SIMPLE_HISTORY_REVERT_DISABLED``, only the "Revert" button is hidden. Here that POST is
    refused unless the admin allows reverting (``allow_revert``) and the user may change the
    object. Users who may only view see the version read-only instead of as editable inputs.
    """

    allow_revert = False

    def revert_disabled(self, request, obj=None) -> bool:
        return (
            not self.allow_revert
            or not self.has_change_permission(request, obj)
            or super().revert_disabled(request, obj)
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            obj = self.get_object(request, unquote(object_id))
            if self.revert_disabled(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            shown = flatten_fieldsets(self.fieldsets) if self.fieldsets else self.fields or []
            readonly += [name for name in shown if name not in readonly]
        return readonly


class ReadOnlyAdminMixin:
    """Nobody, superusers included, adds, changes or deletes these rows in the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyHistoryAdmin(ReadOnlyAdminMixin, GuardedHistoryAdmin):
    """Ledger rows: viewable with their history, never written from the admin."""

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets) if self.fieldsets else list(self.fields or ())


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())


# --- Assets ---------------------------------------------------------------------------------


@admin.register(Asset)
class AssetAdmin(GuardedHistoryAdmin):
    list_display = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    list_filter = ("network", "is_active")
    search_fields = ("symbol", "name", "contract_address")
    fields = ("symbol", "name", "network", "decimals", "contract_address", "is_active")
    #: Once an asset has accounts, these fields give its amounts their meaning.
    fixed_once_used = ("network", "decimals", "contract_address")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.accounts.exists():
            readonly += [name for name in self.fixed_once_used if name not in readonly]
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Wallets and addresses ------------------------------------------------------------------


class WalletAddressForm(forms.ModelForm):
    """Validates a new address against its wallet's network, even before the wallet is saved.

    ``WalletAddress.clean()`` normalises the address only once the wallet has a primary key, and
    ``full_clean`` skips the (network, address) uniqueness check because ``network`` is not a
    form field; both matter on the "add wallet with its first address" page, so they are done
    here. A recorded address is never edited: deactivate it and add the new one.
    """

    class Meta:
        model = WalletAddress
        fields = ("wallet", "address", "label", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "address" in self.fields:
            self.fields["address"].disabled = True
            self.fields["address"].help_text = _(
                "A recorded address is not edited: deactivate it and add the new address."
            )

    def clean(self):
        cleaned = super().clean()
        wallet, address = cleaned.get("wallet"), cleaned.get("address")
        if self.instance.pk is not None or wallet is None or not address or not wallet.network:
            return cleaned
        try:
            normalized = normalize_address(wallet.network, address)
        except AddressError as exc:
            self.add_error("address", str(exc))
            return cleaned
        if WalletAddress.objects.filter(network=wallet.network, address=normalized).exists():
            self.add_error("address", _("This address is already recorded."))
            return cleaned
        cleaned["address"] = normalized
        return cleaned


class WalletAddressFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if form.instance.pk is not None or not hasattr(form, "cleaned_data"):
                continue
            address = form.cleaned_data.get("address")
            if not address:
                continue
            if address in seen:
                raise ValidationError(_("The same address is entered twice."))
            seen.add(address)


class WalletAddressInline(admin.TabularInline):
    model = WalletAddress
    form = WalletAddressForm
    formset = WalletAddressFormSet
    fields = ("address", "label", "is_active", "created_at")
    readonly_fields = ("created_at",)
    extra = 1
    can_delete = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WalletAccountInline(ReadOnlyInline):
    model = Account
    fields = ("category", "asset", "balance_display")
    verbose_name = _("balance")
    verbose_name_plural = _("balances")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset")

    @admin.display(description=_("balance"))
    def balance_display(self, obj: Account) -> str:
        return obj.asset.format(obj.balance)


@admin.register(Wallet)
class WalletAdmin(GuardedHistoryAdmin):
    allow_revert = True
    list_display = ("code", "name", "kind", "network", "custodian", "is_active", "created_at")
    list_filter = ("kind", "network", "is_active")
    search_fields = ("code", "name", "custodian", "addresses__address")
    fields = (
        "code",
        "name",
        "kind",
        "network",
        "custodian",
        "description",
        "is_active",
        "created_at",
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Addresses and accounts were checked against the network the wallet was created on.
        fixed = ("created_at", "network") if obj is not None else ("created_at",)
        return readonly + [name for name in fixed if name not in readonly]

    def get_inlines(self, request, obj):
        if obj is None:
            return [WalletAddressInline]
        return [WalletAddressInline, WalletAccountInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WalletAddress)
class WalletAddressAdmin(GuardedHistoryAdmin):
    allow_revert = True
    form = WalletAddressForm
    list_display = ("address", "wallet", "network", "label", "is_active", "created_at")
    list_filter = ("network", "is_active")
    list_select_related = ("wallet",)
    search_fields = ("address", "label", "wallet__code", "wallet__name")
    fields = ("wallet", "address", "network", "label", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        fixed = (
            ("network", "created_at", "wallet", "address") if obj is not None else ("network", "created_at")
        )
        return readonly + [name for name in fixed if name not in readonly]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Ledger (read-only) ---------------------------------------------------------------------


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(reason.code, reason.label) for reason in registered_reasons()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(reason=self.value())
        return queryset


class RemainingFilter(admin.SimpleListFilter):
    title = _("remaining")
    parameter_name = "remaining"

    def lookups(self, request, model_admin):
        return [("open", _("units remaining")), ("spent", _("fully moved out"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(remaining__gt=0)
        if self.value() == "spent":
            return queryset.filter(remaining=0)
        return queryset


@admin.register(Account)
class AccountAdmin(ReadOnlyHistoryAdmin):
    list_display = ("wallet", "category_label", "asset", "balance_display", "postings_link")
    list_filter = ("category", "asset", "wallet")
    list_select_related = ("wallet", "asset")
    search_fields = ("wallet__code", "wallet__name", "asset__symbol")
    fields = ("wallet", "category_label", "asset", "balance_display", "created_at", "postings_link")

    @admin.display(description=_("category"), ordering="category")
    def category_label(self, obj: Account) -> str:
        return obj.get_category_display()

    @admin.display(description=_("balance"), ordering="balance")
    def balance_display(self, obj: Account) -> str:
        return obj.asset.format(obj.balance)

    @admin.display(description=_("postings"))
    def postings_link(self, obj: Account) -> str:
        url = reverse("admin:reserve_posting_changelist")
        return format_html('<a href="{}?account__id__exact={}">{}</a>', url, obj.pk, _("postings"))


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ("line", "account", "category_label", "amount_display", "balance_after_display")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__asset", "account__wallet")

    @admin.display(description=_("category"))
    def category_label(self, obj: Posting) -> str:
        return obj.account.get_category_display()

    @admin.display(description=_("amount"))
    def amount_display(self, obj: Posting) -> str:
        return obj.account.asset.format(obj.amount)

    @admin.display(description=_("account balance after"))
    def balance_after_display(self, obj: Posting) -> str:
        return obj.account.asset.format(obj.balance_after)


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "number",
        "effective_at",
        "reason_display",
        "memo_excerpt",
        "source_display",
        "reverses",
        "reversed_by_display",
        "posted_by",
    )
    list_filter = (ReasonFilter,)
    list_select_related = ("posted_by", "reverses", "reversed_by", "source_content_type")
    search_fields = ("=number", "memo", "=idempotency_key", "=reason")
    date_hierarchy = "effective_at"
    show_full_result_count = False
    fields = (
        "number",
        "effective_at",
        "posted_at",
        "posted_by",
        "reason_display",
        "memo",
        "source_link",
        "request",
        "reverses",
        "reversed_by_display",
        "idempotency_key",
    )
    inlines = [PostingInline]

    @admin.display(description=_("reason"), ordering="reason")
    def reason_display(self, obj: JournalEntry) -> str:
        return reason_label(obj.reason)

    @admin.display(description=_("memo"))
    def memo_excerpt(self, obj: JournalEntry) -> str:
        return Truncator(obj.memo).chars(60)

    @admin.display(description=_("source document"))
    def source_display(self, obj: JournalEntry) -> str:
        # The type and id only: fetching each row's document would cost a query per row.
        if obj.source_content_type_id is None:
            return "—"
        return f"{obj.source_content_type.name} #{obj.source_object_id}"

    @admin.display(description=_("source document"))
    def source_link(self, obj: JournalEntry) -> str:
        if obj.source_content_type_id is None:
            return "—"
        return admin_link(obj.source) if obj.source is not None else self.source_display(obj)

    @admin.display(description=_("reversed by"))
    def reversed_by_display(self, obj: JournalEntry) -> str:
        return admin_link(getattr(obj, "reversed_by", None))


@admin.register(Posting)
class PostingAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "entry",
        "line",
        "account",
        "amount_display",
        "balance_after_display",
        "effective_at",
    )
    list_filter = ("account__category", "account__asset", "account__wallet")
    list_select_related = ("entry", "account__asset", "account__wallet")
    search_fields = ("=entry__number", "account__wallet__code")
    date_hierarchy = "effective_at"
    ordering = ("-entry_id", "line")
    show_full_result_count = False
    fields = ("entry", "line", "account", "amount_display", "balance_after_display", "effective_at")

    @admin.display(description=_("amount"))
    def amount_display(self, obj: Posting) -> str:
        return obj.account.asset.format(obj.amount)

    @admin.display(description=_("account balance after"))
    def balance_after_display(self, obj: Posting) -> str:
        return obj.account.asset.format(obj.balance_after)


class LotMovementInline(ReadOnlyInline):
    model = LotMovement
    fk_name = "lot"
    fields = ("posting_entry", "amount_display")
    verbose_name = _("units moved out")
    verbose_name_plural = _("units moved out")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("posting__entry", "lot__account__asset")

    @admin.display(description=_("entry"))
    def posting_entry(self, obj: LotMovement) -> str:
        return admin_link(obj.posting.entry)

    @admin.display(description=_("amount taken"))
    def amount_display(self, obj: LotMovement) -> str:
        return obj.lot.account.asset.format(obj.amount)


@admin.register(Lot)
class LotAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "id",
        "origin_label",
        "origin_kind",
        "account",
        "restriction",
        "amount_display",
        "remaining_display",
        "root_lot",
        "opened_at",
    )
    list_filter = (
        RemainingFilter,
        "origin_kind",
        "restriction",
        "account__category",
        "account__asset",
    )
    list_select_related = ("account__asset", "account__wallet")
    search_fields = ("origin_label", "account__wallet__code")
    date_hierarchy = "opened_at"
    show_full_result_count = False
    fields = (
        "account",
        "opened_by_entry",
        "origin_kind",
        "origin_label",
        "origin_link",
        "restriction",
        "amount_display",
        "remaining_display",
        "parent",
        "root_lot",
        "opened_at",
    )
    inlines = [LotMovementInline]

    @admin.display(description=_("amount opened"))
    def amount_display(self, obj: Lot) -> str:
        return obj.account.asset.format(obj.amount)

    @admin.display(description=_("remaining"), ordering="remaining")
    def remaining_display(self, obj: Lot) -> str:
        return obj.account.asset.format(obj.remaining)

    @admin.display(description=_("original lot"))
    def root_lot(self, obj: Lot) -> str:
        root_id = obj.root_id or obj.pk
        url = reverse("admin:reserve_lot_change", args=[root_id])
        return format_html('<a href="{}">{}</a>', url, root_id)

    @admin.display(description=_("opened by entry"))
    def opened_by_entry(self, obj: Lot) -> str:
        return admin_link(obj.opened_by.entry)

    @admin.display(description=_("origin document"))
    def origin_link(self, obj: Lot) -> str:
        if obj.origin_content_type_id is None:
            return "—"
        return admin_link(obj.origin)


@admin.register(Period)
class PeriodAdmin(ReadOnlyHistoryAdmin):
    """Periods are closed through the approval engine, not here."""

    list_display = ("__str__", "is_closed_display", "closed_at", "closed_by")
    list_filter = (("closed_at", admin.EmptyFieldListFilter),)
    list_select_related = ("closed_by",)
    fields = ("year", "month", "is_closed_display", "closed_at", "closed_by")

    @admin.display(description=_("closed"), boolean=True)
    def is_closed_display(self, obj: Period) -> bool:
        return obj.is_closed


# --- Audit journal --------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "action", "actor", "subject_repr")
    list_filter = ("action",)
    list_select_related = ("actor",)
    search_fields = ("action", "subject_repr", "=subject_object_id", "actor__username")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    fields = ("occurred_at", "action", "actor", "subject_link", "data_display")
    readonly_fields = fields

    @admin.display(description=_("subject"))
    def subject_link(self, obj: AuditEvent) -> str:
        if obj.subject_content_type_id is None:
            return obj.subject_repr or "—"
        subject = obj.subject
        return admin_link(subject, obj.subject_repr) if subject is not None else obj.subject_repr

    @admin.display(description=_("details"))
    def data_display(self, obj: AuditEvent) -> str:
        text = json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
        return format_html("<pre>{}</pre>", text)
