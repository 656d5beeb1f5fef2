"""Clerks' screens for the reserve: reference data (assets, wallets, addresses) is edited here;
the ledger (balances, entries, postings, lots, periods) and the audit journal are read-only.

Nothing here writes to the ledger. Entries are posted by ``reserve.ledger.services`` (through
the approval engine), never by an admin form or action; amounts are shown exactly with
``asset.format``.

The approval engine's rows (policies, approvers, the allow-list, governed settings, requests and
decisions) are read-only for everyone, superusers included. Changes to who decides are
*proposed* here: a proposal form makes a request through
``reserve.approvals.services.create_request`` and the quorum of the policy in force decides it
in the workflow screens. Django's approver groups cannot be edited in the user admin, so that
they stay in step with the memberships the engine counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, get_script_prefix, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from reserve import roles
from reserve.addresses import AddressError, normalize_address
from reserve.admin_forms import (
    AllowListAdditionForm,
    AllowListRemovalForm,
    ApproverGrantForm,
    ApproverGroupsGuardedUserChangeForm,
    ApproverRevokeForm,
    PolicyProposalForm,
    ProposalForm,
    SettingChangeForm,
)
from reserve.approvals.access import may_make_requests
from reserve.approvals.registry import MatchFacts, UnknownKind, get_kind, kind_label, registered_kinds
from reserve.approvals.services import ApprovalError, create_request, match_policy, quorum_progress
from reserve.ledger.reasons import reason_label, registered_reasons
from reserve.models import (
    Account,
    AllowListedAddress,
    ApprovalPolicy,
    ApprovalRequest,
    ApproverMembership,
    Asset,
    AuditEvent,
    Decision,
    GovernedSetting,
    JournalEntry,
    Lot,
    LotMovement,
    Period,
    PolicyTier,
    Posting,
    RequestStatus,
    Wallet,
    WalletAddress,
)
from reserve.settings_governed import KEYS

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


def pretty_json(value: object) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html("<pre>{}</pre>", text)


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
    #: Once an asset has accounts, these fields give its amounts their meaning, and requests
    #: name it by symbol (a renamed symbol would change what an approved request executes).
    fixed_once_used = ("symbol", "network", "decimals", "contract_address")

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
        # Addresses and accounts were checked against the network the wallet was created on;
        # requests name wallets by code, so a code never changes under a pending request.
        fixed = ("created_at", "network", "code") if obj is not None else ("created_at",)
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


def registry_filter(title, field: str, entries):
    """A list filter over the codes of a registry (posting reasons, request kinds): apps
    register them at start-up, so the choices are not model field choices."""

    class RegistryFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(entry.code, entry.label) for entry in entries()]

        def queryset(self, request, queryset):
            if self.value():
                return queryset.filter(**{field: self.value()})
            return queryset

    RegistryFilter.title = title
    return RegistryFilter


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
        return pretty_json(obj.data)


# --- Approval engine: proposals ------------------------------------------------------------------


def may_propose(request) -> bool:
    """Whether the signed-in user may make requests from the admin: the engine's rule
    (:func:`reserve.approvals.access.may_make_requests`) for staff users."""
    cached = getattr(request, "_reserve_may_propose", None)
    if cached is None:
        cached = bool(request.user.is_staff) and may_make_requests(request.user)
        request._reserve_may_propose = cached
    return cached


def workflow_request_path(made: ApprovalRequest) -> str:
    """The approvers' page of a request, in the workflow screens outside the admin."""
    return f"{get_script_prefix()}workflow/requests/{made.pk}/"


def policy_summary(policy: ApprovalPolicy) -> str:
    """Such as "2 of Board member + 1 of Treasury officer" (uses prefetched tiers if any)."""
    return " + ".join(
        str(_("%(required)d of %(group)s") % {"required": tier.required, "group": tier.group.name})
        for tier in sorted(policy.tiers.all(), key=lambda tier: tier.position)
    )


@dataclass(frozen=True)
class Proposal:
    """A button that opens a proposal form: on the list page, or (``on_row``) on the page of
    the row it is about, where ``action_label`` also offers it as an admin action."""

    slug: str
    label: object
    form: type[ProposalForm]
    on_row: bool = False
    applies: Callable[[Model], bool] | None = None
    action_label: object = None


class ProposalAdminMixin:
    """Adds proposal forms to a read-only admin: ``propose/<slug>/`` and
    ``<pk>/propose/<slug>/``. A valid form becomes a request through ``create_request``; the
    engine's field errors are shown on the form and nothing is written."""

    proposals: tuple[Proposal, ...] = ()
    proposal_template = "admin/reserve/proposal_form.html"

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        view = self.admin_site.admin_view(self.proposal_view)
        return [
            path("propose/<slug:slug>/", view, name=self._url_name("propose")),
            path("<path:object_id>/propose/<slug:slug>/", view, name=self._url_name("propose_row")),
            *super().get_urls(),
        ]

    def proposal_url(self, proposal: Proposal, obj: Model | None = None) -> str:
        if proposal.on_row:
            return reverse(f"admin:{self._url_name('propose_row')}", args=[obj.pk, proposal.slug])
        return reverse(f"admin:{self._url_name('propose')}", args=[proposal.slug])

    def proposal_links(self, request, obj: Model | None = None) -> list[tuple[str, object]]:
        if not may_propose(request):
            return []
        return [
            (self.proposal_url(proposal, obj), proposal.label)
            for proposal in self.proposals
            if proposal.on_row == (obj is not None)
            and (obj is None or proposal.applies is None or proposal.applies(obj))
        ]

    def changelist_view(self, request, extra_context=None):
        context = {"proposal_links": self.proposal_links(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        links = self.proposal_links(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {"proposal_links": links, **(extra_context or {})}
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not may_propose(request):
            return actions
        for proposal in self.proposals:
            if proposal.on_row and proposal.action_label:
                name = f"propose_{proposal.slug}"
                actions[name] = (self._proposal_action(proposal), name, proposal.action_label)
        return actions

    def _proposal_action(self, proposal: Proposal):
        def action(modeladmin, request, queryset):
            rows = list(queryset[:2])
            if len(rows) != 1:
                modeladmin.message_user(
                    request, _("Select exactly one row to make this proposal about."), messages.WARNING
                )
                return None
            return HttpResponseRedirect(modeladmin.proposal_url(proposal, rows[0]))

        return action

    def proposal_view(self, request, slug: str, object_id: str | None = None):
        on_row = object_id is not None
        proposal = next((p for p in self.proposals if p.slug == slug and p.on_row == on_row), None)
        if proposal is None:
            raise Http404
        obj = self.get_object(request, unquote(object_id)) if on_row else None
        if on_row and obj is None:
            raise Http404
        if not self.has_view_permission(request, obj) or not may_propose(request):
            raise PermissionDenied
        if obj is not None and proposal.applies is not None and not proposal.applies(obj):
            self.message_user(
                request, _("This proposal does not apply to %(obj)s.") % {"obj": obj}, messages.WARNING
            )
            return HttpResponseRedirect(reverse(f"admin:{self._url_name('change')}", args=[obj.pk]))
        if request.method == "POST":
            form = proposal.form(request.POST, instance=obj)
            made = self._make_request(request, form) if form.is_valid() else None
            if made is not None:
                return self._request_made(request, made)
        else:
            initial = {key: value for key, value in request.GET.items() if key in proposal.form.base_fields}
            form = proposal.form(instance=obj, initial=initial)
        context = {
            **self.admin_site.each_context(request),
            "title": proposal.form.title,
            "opts": self.opts,
            "original": obj,
            "form": form,
            "media": self.media + form.media,
            "decided_by": self._decided_by(proposal.form.request_kind),
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.proposal_template, context)

    def _make_request(self, request, form: ProposalForm) -> ApprovalRequest | None:
        submission = form.cleaned_data.get("submission") or ""
        key = f"admin:{request.user.pk}:{submission}" if submission else None
        try:
            return create_request(
                kind=form.request_kind,
                payload=form.payload(),
                maker=request.user,
                comment=form.cleaned_data["comment"],
                idempotency_key=key,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return None

    def _request_made(self, request, made: ApprovalRequest) -> HttpResponseRedirect:
        link = format_html(
            '<a href="{}">{}</a>', workflow_request_path(made), _("open it in the workflow screens")
        )
        self.message_user(
            request,
            format_html(
                str(_("Request {reference} was made and awaits approval: {title}; {link}.")),
                reference=made.reference,
                title=made.title,
                link=link,
            ),
            messages.SUCCESS,
        )
        if self.admin_site.is_registered(ApprovalRequest) and self.admin_site.get_model_admin(
            ApprovalRequest
        ).has_view_permission(request, made):
            return HttpResponseRedirect(reverse("admin:reserve_approvalrequest_change", args=[made.pk]))
        return HttpResponseRedirect(reverse(f"admin:{self._url_name('changelist')}"))

    def _decided_by(self, kind: str) -> str:
        try:
            policy = match_policy(kind, MatchFacts())
        except ApprovalError as exc:
            return exc.messages[0]
        return _("Decided under the policy in force, “%(policy)s”: %(tiers)s.") % {
            "policy": policy.name,
            "tiers": policy_summary(policy),
        }


def request_link(made: ApprovalRequest | None, *, none: object = "—") -> str:
    return admin_link(made, made.reference) if made is not None else str(none)


# --- Approval engine: who decides (read-only; changed by proposals) --------------------------------


class PolicyTierInline(ReadOnlyInline):
    model = PolicyTier
    fields = ("position", "group", "required")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = (
        "priority",
        "name",
        "kind_display",
        "asset",
        "amount_bounds",
        "valuation_bounds",
        "tiers_display",
        "maker_may_approve",
        "requires_second_factor",
        "is_active",
        "version",
    )
    list_display_links = ("priority", "name")
    list_filter = ("is_active", "requires_second_factor")
    list_select_related = ("asset",)
    search_fields = ("name", "kind")
    fields = (
        "name",
        "priority",
        "is_active",
        "version",
        "kind_display",
        "asset",
        "amount_bounds",
        "valuation_bounds",
        "source_category",
        "destination_category",
        "maker_may_approve",
        "expires_after",
        "requires_second_factor",
        "changes_display",
    )
    inlines = [PolicyTierInline]
    history_list_display = ["version", "tiers"]
    proposals = (
        Proposal("new", _("Propose a new policy"), PolicyProposalForm),
        Proposal(
            "change",
            _("Propose a change"),
            PolicyProposalForm,
            on_row=True,
            action_label=_("Propose a change to the selected policy"),
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers__group")

    @admin.display(description=_("request kind"), ordering="kind")
    def kind_display(self, obj: ApprovalPolicy) -> str:
        if not obj.kind:
            return str(_("Any kind"))
        try:
            return f"{get_kind(obj.kind).label} ({obj.kind})"
        except UnknownKind:
            return obj.kind

    @admin.display(description=_("amount"))
    def amount_bounds(self, obj: ApprovalPolicy) -> str:
        if obj.asset is None or (obj.min_units is None and obj.max_units is None):
            return "—"
        low = obj.asset.format(obj.min_units) if obj.min_units is not None else "0"
        high = obj.asset.format(obj.max_units) if obj.max_units is not None else "∞"
        return f"[{low}, {high}) {obj.asset.symbol}"

    @admin.display(description=_("valuation"))
    def valuation_bounds(self, obj: ApprovalPolicy) -> str:
        if obj.min_valuation is None and obj.max_valuation is None:
            return "—"
        low = obj.min_valuation if obj.min_valuation is not None else "0"
        high = obj.max_valuation if obj.max_valuation is not None else "∞"
        return f"[{low}, {high}) {obj.valuation_currency}"

    @admin.display(description=_("approvers required"))
    def tiers_display(self, obj: ApprovalPolicy) -> str:
        return policy_summary(obj) or "—"

    @admin.display(description=_("requests that change this policy"))
    def changes_display(self, obj: ApprovalPolicy) -> str:
        changes = (
            ApprovalRequest.objects.filter(kind="reserve.policy_change")
            .filter(Q(payload__policy=obj.pk) | Q(result__policy=obj.pk))
            .select_related("maker")
            .order_by("-created_at")[:50]
        )
        if not changes:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} · {} · {}</li>",
                ((request_link(c), c.get_status_display(), c.created_at, c.maker) for c in changes),
            ),
        )

    @admin.display(description=_("tiers"))
    def tiers(self, record) -> str:
        """The tiers of one historical version: a policy change saves the policy, then replaces
        its tiers, so they are the tiers recorded after this version and before the next."""
        created = PolicyTier.history.filter(
            policy_id=record.id, history_type="+", history_date__gte=record.history_date
        )
        following = record.next_record
        if following is not None:
            created = created.filter(history_date__lt=following.history_date)
        rows = created.select_related("group").order_by("position")
        return (
            " + ".join(
                str(_("%(required)d of %(group)s") % {"required": row.required, "group": row.group.name})
                for row in rows
            )
            or "—"
        )


class ApproverGroupFilter(admin.SimpleListFilter):
    title = _("approver group")
    parameter_name = "group"

    def lookups(self, request, model_admin):
        return [(name, name) for name in roles.APPROVER_ROLES]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(group__name=self.value())
        return queryset


def _membership_is_current(membership: ApproverMembership) -> bool:
    return membership.revoked_at is None


@admin.register(ApproverMembership)
class ApproverMembershipAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = ("user", "group", "counts_now", "granted_at", "granted_by", "revoked_at", "revoked_by")
    list_filter = (ApproverGroupFilter, ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "group", "granted_by_request", "revoked_by_request")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    date_hierarchy = "granted_at"
    fields = ("user", "group", "counts_now", "granted_at", "granted_by", "revoked_at", "revoked_by")
    proposals = (
        Proposal("grant", _("Propose granting approval power"), ApproverGrantForm),
        Proposal(
            "revoke",
            _("Propose revoking approval power"),
            ApproverRevokeForm,
            on_row=True,
            applies=_membership_is_current,
            action_label=_("Propose revoking the selected approval power"),
        ),
    )

    @admin.display(description=_("counts now"), boolean=True)
    def counts_now(self, obj: ApproverMembership) -> bool:
        return obj.revoked_at is None and obj.user.is_active

    @admin.display(description=_("granted by"))
    def granted_by(self, obj: ApproverMembership) -> str:
        return request_link(obj.granted_by_request, none=_("one-time bootstrap"))

    @admin.display(description=_("revoked by"))
    def revoked_by(self, obj: ApproverMembership) -> str:
        return request_link(obj.revoked_by_request)


def _allowlist_entry_is_current(entry: AllowListedAddress) -> bool:
    return entry.removed_at is None


@admin.register(AllowListedAddress)
class AllowListedAddressAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = (
        "label",
        "network",
        "address",
        "counterparty",
        "state",
        "usable_from",
        "added_by",
        "removed_at",
    )
    list_filter = ("network", ("removed_at", admin.EmptyFieldListFilter))
    list_select_related = ("added_by_request", "removed_by_request")
    search_fields = ("address", "label", "counterparty")
    date_hierarchy = "added_at"
    fields = (
        "label",
        "network",
        "address",
        "counterparty",
        "state",
        "added_at",
        "usable_from",
        "added_by",
        "removed_at",
        "removed_by",
    )
    proposals = (
        Proposal("add", _("Propose adding an allow-list address"), AllowListAdditionForm),
        Proposal(
            "remove",
            _("Propose removal"),
            AllowListRemovalForm,
            on_row=True,
            applies=_allowlist_entry_is_current,
            action_label=_("Propose removing the selected address"),
        ),
    )

    @admin.display(description=_("state"))
    def state(self, obj: AllowListedAddress) -> str:
        if obj.removed_at is not None:
            return str(_("removed"))
        if timezone.now() < obj.usable_from:
            return str(_("cooling off"))
        return str(_("usable"))

    @admin.display(description=_("added by"))
    def added_by(self, obj: AllowListedAddress) -> str:
        return request_link(obj.added_by_request)

    @admin.display(description=_("removed by"))
    def removed_by(self, obj: AllowListedAddress) -> str:
        return request_link(obj.removed_by_request)


@admin.register(GovernedSetting)
class GovernedSettingAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = ("key", "label", "value", "changed_at", "changed_by")
    list_select_related = ("changed_by_request",)
    search_fields = ("key",)
    fields = ("key", "label", "value", "changed_at", "changed_by")
    proposals = (
        Proposal("change", _("Propose a setting change"), SettingChangeForm),
        Proposal("change", _("Propose a change"), SettingChangeForm, on_row=True),
    )

    @admin.display(description=_("setting"))
    def label(self, obj: GovernedSetting) -> str:
        spec = KEYS.get(obj.key)
        return str(spec.label) if spec is not None else "—"

    @admin.display(description=_("changed by"))
    def changed_by(self, obj: GovernedSetting) -> str:
        return request_link(obj.changed_by_request)


# --- Approval engine: requests and decisions (read-only) -------------------------------------------


KindFilter = registry_filter(_("kind"), "kind", registered_kinds)


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ("decided_at", "approver", "verdict", "comment", "revision", "digest", "second_factor", "via")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("approver")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "reference",
        "title",
        "kind_display",
        "status",
        "maker",
        "policy",
        "created_at",
        "expires_at",
    )
    list_display_links = ("reference", "title")
    list_filter = ("status", KindFilter)
    list_select_related = ("maker", "policy")
    search_fields = ("title",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "title",
                    "kind_display",
                    "status",
                    "maker",
                    "comment",
                    "created_at",
                    "expires_at",
                    "executed_at",
                    "closed_at",
                    "workflow_link",
                )
            },
        ),
        (_("What executes"), {"fields": ("payload_display", "payload_digest", "revision")}),
        (
            _("Policy and quorum"),
            {"fields": ("policy_link", "policy_version", "quorum_display", "facts_display")},
        ),
        (_("Evidence"), {"fields": ("evidence_display",)}),
        (_("Result"), {"fields": ("result_display",)}),
    )
    inlines = [DecisionInline]

    @admin.display(description=_("reference"), ordering="id")
    def reference(self, obj: ApprovalRequest) -> str:
        return obj.reference

    @admin.display(description=_("kind"), ordering="kind")
    def kind_display(self, obj: ApprovalRequest) -> str:
        return kind_label(obj.kind)

    @admin.display(description=_("approvers' page"))
    def workflow_link(self, obj: ApprovalRequest) -> str:
        return format_html('<a href="{}">{}</a>', workflow_request_path(obj), workflow_request_path(obj))

    @admin.display(description=_("action"))
    def payload_display(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.payload)

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.evidence) if obj.evidence else "—"

    @admin.display(description=_("result"))
    def result_display(self, obj: ApprovalRequest) -> str:
        return pretty_json(obj.result) if obj.result else "—"

    @admin.display(description=_("policy"))
    def policy_link(self, obj: ApprovalRequest) -> str:
        return admin_link(obj.policy)

    @admin.display(description=_("approvals counted now"))
    def quorum_display(self, obj: ApprovalRequest) -> str:
        progress = quorum_progress(obj)
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} / {} {}</li>",
                (
                    (tier.group_name, len(tier.approvers), tier.required, ", ".join(tier.approvers))
                    for tier in progress
                ),
            ),
        )

    @admin.display(description=_("facts the policy matched on"))
    def facts_display(self, obj: ApprovalRequest) -> str:
        facts = {
            _("asset"): obj.asset.symbol if obj.asset_id else "",
            _("amount"): obj.asset.format(obj.amount_units)
            if obj.asset_id and obj.amount_units is not None
            else "",
            _("valuation"): obj.valuation if obj.valuation is not None else "",
            _("source category"): obj.source_category,
            _("destination category"): obj.destination_category,
        }
        shown = [(label, value) for label, value in facts.items() if value not in ("", None)]
        if not shown:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", shown))


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Decisions are immutable rows recorded by the engine; the database refuses edits too."""

    list_display = ("decided_at", "request", "approver", "verdict", "revision", "second_factor", "via")
    list_filter = ("verdict", "second_factor")
    list_select_related = ("request", "approver")
    search_fields = ("request__title", "approver__username", "comment")
    date_hierarchy = "decided_at"
    show_full_result_count = False
    fields = (
        "request",
        "approver",
        "verdict",
        "comment",
        "digest",
        "revision",
        "second_factor",
        "decided_at",
        "via",
    )
    readonly_fields = fields


# --- Django users and groups: no approval power here -----------------------------------------------

User = get_user_model()


def _membership_lines(memberships) -> str:
    return format_html_join(
        "",
        "<li>{} — {} {} ({})</li>",
        (
            (
                m.group.name,
                _("granted"),
                m.granted_at,
                request_link(m.granted_by_request, none=_("one-time bootstrap")),
            )
            for m in memberships
        ),
    )


class ReserveUserAdmin(auth_admin.UserAdmin):
    """Django's user admin, plus the approval power the engine counts (read-only) and a form
    that refuses edits of approver groups."""

    form = ApproverGroupsGuardedUserChangeForm
    readonly_fields = ("approval_power",)
    fieldsets = (*auth_admin.UserAdmin.fieldsets, (_("Approval power"), {"fields": ("approval_power",)}))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._named_by_the_engine(obj):
            readonly.append("username")
        return readonly

    @staticmethod
    def _named_by_the_engine(user) -> bool:
        """Approver-change requests name users by username: renaming an approver, or a user
        named in a pending request, could make an approved request act on someone else."""
        pending = ApprovalRequest.objects.filter(
            kind="reserve.approver_change", status=RequestStatus.PENDING, payload__user=user.get_username()
        )
        return user.approver_memberships.exists() or pending.exists()

    @admin.display(description=_("active approver memberships"))
    def approval_power(self, obj) -> str:
        memberships = list(
            obj.approver_memberships.filter(revoked_at__isnull=True)
            .select_related("group", "granted_by_request")
            .order_by("group__name")
        )
        listing = format_html("<ul>{}</ul>", _membership_lines(memberships)) if memberships else _("None.")
        note = _("Approval power is granted and revoked only through approved requests.")
        inactive = (
            ""
            if obj.is_active
            else format_html(" <strong>{}</strong>", _("This user is deactivated: none of it counts."))
        )
        grant = reverse("admin:reserve_approvermembership_propose", args=["grant"])
        return format_html(
            '{}<p class="help">{}{} <a href="{}?{}">{}</a></p>',
            listing,
            note,
            inactive,
            grant,
            urlencode({"user": obj.get_username()}),
            _("Propose granting approval power"),
        )


class ReserveGroupAdmin(auth_admin.GroupAdmin):
    """Role groups keep their names and are never deleted; approver groups show the approvers
    the engine counts, which only approved requests change."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in roles.ROLE_DESCRIPTIONS:
            readonly.append("name")
        if obj is not None and obj.name in roles.APPROVER_ROLES:
            readonly.append("approvers")
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name in roles.ROLE_DESCRIPTIONS:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        role_groups = [str(group) for group in objs if group.name in roles.ROLE_DESCRIPTIONS]
        return deleted, counts, perms_needed, [*protected, *role_groups]

    @admin.display(description=_("approvers counted by the engine"))
    def approvers(self, obj: Group) -> str:
        memberships = list(
            ApproverMembership.objects.filter(group=obj, revoked_at__isnull=True)
            .select_related("user", "granted_by_request")
            .order_by("user__username")
        )
        listing = format_html_join(
            "",
            "<li>{} ({})</li>",
            (
                (m.user.get_username(), request_link(m.granted_by_request, none=_("one-time bootstrap")))
                for m in memberships
            ),
        )
        return format_html(
            '<ul>{}</ul><p class="help">{}</p>',
            listing,
            _(
                "Approval power is granted and revoked only through approved requests; members added "
                "to this group elsewhere would count for nothing."
            ),
        )


for _model, _model_admin in ((User, ReserveUserAdmin), (Group, ReserveGroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
# Authenticators are enrolled only by their owner on the workflow screens: an admin who could
# add a device (with a key of their choosing) to an approver could decide in their name.
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)

# The API client screens live with the API.
import reserve.api.admin  # noqa: E402,F401
