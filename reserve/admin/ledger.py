"""The ledger (balances, entries, postings, lots, periods) and the audit journal: read-only.

Nothing here writes to the ledger. Entries are posted by ``reserve.ledger.services`` (through
the approval engine), never by an admin form or action; amounts are shown exactly with
``asset.format``.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from reserve.admin.base import (
    InsertOnlyAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyHistoryAdmin,
    ReadOnlyInline,
    admin_link,
    pretty_json,
    registry_filter,
)
from reserve.ledger.reasons import reason_label, registered_reasons
from reserve.ledger.selectors import lots_taken_into
from reserve.models import (
    Account,
    AuditEvent,
    JournalEntry,
    Lot,
    LotMovement,
    Period,
    Posting,
)

ReasonFilter = registry_filter(_("reason"), "reason", registered_reasons)


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
class JournalEntryAdmin(InsertOnlyAdmin):
    written_at = "posted_at"
    written_by = "posted_by"
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
class PostingAdmin(InsertOnlyAdmin):
    written_at = "entry.posted_at"
    written_by = "entry.posted_by"
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
        "taken_from",
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

    @admin.display(description=_("taken from lots"))
    def taken_from(self, obj: Lot) -> str:
        lots = lots_taken_into(obj).only("pk")
        return format_html_join(", ", "{}", ((admin_link(lot, lot.pk),) for lot in lots)) or "—"

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
        return pretty_json(obj.data)
