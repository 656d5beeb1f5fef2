"""Proposals: how a read-only admin page offers changes that the approval engine decides.

A proposal form (``reserve.admin.forms``) makes a request through
``reserve.approvals.services.create_request``; the quorum of the policy in force decides it in
the workflow screens. Nothing here writes a row the request is about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reserve.admin.base import workflow_request_path
from reserve.admin.forms import ProposalForm
from reserve.approvals.access import may_make_requests
from reserve.approvals.registry import MatchFacts
from reserve.approvals.services import ApprovalError, match_policy
from reserve.models import (
    ApprovalPolicy,
    ApprovalRequest,
)


def may_propose(request) -> bool:
    """Whether the signed-in user may make requests from the admin: the engine's rule
    (:func:`reserve.approvals.access.may_make_requests`) for staff users."""
    cached = getattr(request, "_reserve_may_propose", None)
    if cached is None:
        cached = bool(request.user.is_staff) and may_make_requests(request.user)
        request._reserve_may_propose = cached
    return cached


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
            return form.make_request(
                maker=request.user, comment=form.cleaned_data["comment"], idempotency_key=key
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
