"""The approval engine's rows: policies and governed settings (changed by proposals), requests and
decisions (recorded by the engine). All are read-only for everyone, superusers included.

Requests and decisions are listed to each user as the workflow screens and the API show them:
:func:`reserve.approvals.access.requests_visible_to` decides.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from reserve.admin.base import (
    ReadOnlyAdminMixin,
    ReadOnlyHistoryAdmin,
    ReadOnlyInline,
    admin_link,
    kind_label,
    policy_kind_label,
    pretty_json,
    registry_filter,
    request_link,
    workflow_request_path,
)
from reserve.admin.forms import PolicyProposalForm, SettingChangeForm
from reserve.admin.proposals import Proposal, ProposalAdminMixin, policy_summary
from reserve.approvals.access import requests_visible_to
from reserve.approvals.registry import registered_kinds
from reserve.approvals.services import quorum_progress
from reserve.models import (
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    GovernedSetting,
    PolicyTier,
)
from reserve.settings_governed import KEYS


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
        return policy_kind_label(obj.kind)

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


KindFilter = registry_filter(_("kind"), "kind", registered_kinds)


def visible_to(user, queryset: QuerySet, request_field: str = "pk") -> QuerySet:
    """``queryset`` narrowed to the requests ``user`` may read (through ``request_field``): the
    rule of the workflow screens and the API. Superusers read everything, without a subquery."""
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{request_field}__in": requests_visible_to(user).values("pk")})


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

    def get_queryset(self, request):
        return visible_to(request.user, super().get_queryset(request))

    def history_view(self, request, object_id, extra_context=None):
        # simple-history shows the last recorded version of a row get_queryset hides, so a
        # request the user may not read is refused here as the change page refuses it.
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _visible_or_404(self, request, object_id: str) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404

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

    def get_queryset(self, request):
        return visible_to(request.user, super().get_queryset(request), "request")
