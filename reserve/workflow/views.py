"""The approvers' workflow screens (DESIGN §7): inbox, request page with approve/reject and
the maker's cancel, a "new request" screen for every kind with a form, dashboard. The second
factor screens are in :mod:`reserve.workflow.otp_views`.

Views are thin: they check who may see a page, call the approval engine's services and
selectors, and put the engine's refusals back on the page. The engine re-checks every rule
under a row lock, so nothing here is the last line of defence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import select_template
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from reserve.approvals.access import may_make_requests, may_view_request
from reserve.approvals.registry import RequestKind, kind_for_slug, registered_kinds
from reserve.approvals.selectors import request_view
from reserve.approvals.services import (
    cancel_request,
    create_request,
    decide,
    requests_awaiting,
)
from reserve.ledger.selectors import balances, holdings_as_of
from reserve.models import (
    HELD_CATEGORIES,
    ApprovalRequest,
    AuditEvent,
    Decision,
    RequestStatus,
    Verdict,
)
from reserve.otp import has_confirmed_device
from reserve.valuations.selectors import latest_snapshot
from reserve.workflow.forms import DecisionForm, add_service_errors
from reserve.workflow.otp_views import second_factor_fresh

login_view = auth_views.LoginView.as_view(redirect_authenticated_user=True)
logout_view = auth_views.LogoutView.as_view()


def may_see_dashboard(user) -> bool:
    return user.is_authenticated and user.has_perm("reserve.view_account")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("workflow:inbox")


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Three lists, each one query: awaiting my decision, my open requests, and the requests
    I decided or that I made and are closed."""
    user = request.user
    awaiting = list(requests_awaiting(user).select_related("maker").order_by("expires_at", "id"))
    mine_open = list(
        ApprovalRequest.objects.filter(maker=user, status=RequestStatus.PENDING)
        .select_related("maker")
        .order_by("-created_at", "-id")[:50]
    )
    my_decisions = Prefetch(
        "decisions", queryset=Decision.objects.filter(approver=user), to_attr="my_decisions"
    )
    took_part = list(
        ApprovalRequest.objects.filter(
            Q(decisions__approver=user) | (Q(maker=user) & ~Q(status=RequestStatus.PENDING))
        )
        .distinct()
        .select_related("maker")
        .prefetch_related(my_decisions)
        .order_by("-created_at", "-id")[:20]
    )
    return render(
        request,
        "reserve/inbox.html",
        {
            "awaiting": awaiting,
            "mine_open": mine_open,
            "took_part": took_part,
            "now": timezone.now(),
            "new_request_kinds": proposable_kinds(user),
        },
    )


@dataclass(frozen=True)
class EvidenceItem:
    label: str
    url: str = ""
    details: str = ""


def is_safe_evidence_url(url: str) -> bool:
    """Evidence links to http(s) pages or to a page of this site ("/intake/documents/7/"),
    never to a script, a data URL or another host by a protocol-relative "//" address."""
    if url.startswith(("https://", "http://")):
        return True
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def _evidence(items) -> list[EvidenceItem]:
    """Evidence is free JSON from the kind that made the request; links only for http(s) and
    this site's own paths."""
    shown = []
    for item in items or []:
        if isinstance(item, dict):
            label = str(item.get("label") or item.get("title") or item.get("name") or item.get("url") or "")
            url = str(item.get("url") or "")
            rest = {k: v for k, v in item.items() if k not in {"label", "title", "name", "url"}}
            details = "; ".join(f"{k}: {v}" for k, v in rest.items())
            if not label:
                label, details = details, ""
        else:
            label, url, details = str(item), "", ""
            if label.startswith(("https://", "http://")):
                url = label
        if not is_safe_evidence_url(url):
            url = ""
        shown.append(EvidenceItem(label=label, url=url, details=details))
    return shown


def _request_context(request: HttpRequest, approval: ApprovalRequest, form: DecisionForm | None) -> dict:
    user = request.user
    shown = request_view(approval, user, with_records=True)  # the one "request as shown"
    requires_2fa = approval.policy.requires_second_factor
    verified = second_factor_fresh(request)
    if form is None:
        form = DecisionForm(initial={"digest": approval.payload_digest})
    return {
        "approval": approval,
        "expired": shown.expired,
        "payload_rows": sorted(approval.payload.items()) if isinstance(approval.payload, dict) else [],
        "evidence": _evidence(shown.evidence) + _evidence(approval.evidence),
        "tiers": list(approval.policy.tiers.select_related("group").order_by("position")),
        "progress": shown.progress,
        "decisions": shown.decisions,
        "effect": shown.effect,
        "notices": shown.notices,
        "entries": shown.entries,
        "audit": shown.audit,
        "refusal": shown.refusal,
        "may_decide": shown.may_decide and (verified or not requires_2fa),
        "needs_second_factor": shown.may_decide and requires_2fa and not verified,
        "has_device": has_confirmed_device(user),
        "may_cancel": shown.may_cancel,
        "form": form,
    }


@login_required
@require_http_methods(["GET", "POST"])
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(ApprovalRequest.objects.select_related("maker", "policy", "asset"), pk=pk)
    if not may_view_request(request.user, approval):
        raise Http404
    form = None
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                decide(
                    request=approval,
                    approver=request.user,
                    verdict=form.cleaned_data["verdict"],
                    comment=form.cleaned_data["comment"],
                    digest=form.cleaned_data["digest"],
                    second_factor=second_factor_fresh(request),
                    via="screen",
                )
            except ValidationError as exc:
                # The engine refused and wrote nothing; say why on the page.
                if hasattr(exc, "error_dict") and set(exc.error_dict) <= {"comment"}:
                    add_service_errors(form, exc)
                else:
                    for message in exc.messages:
                        messages.error(request, message)
                    # The page shows the action as it is now; a new try signs that digest.
                    approval.refresh_from_db()
                    form = DecisionForm(
                        initial={"digest": approval.payload_digest, "comment": form.cleaned_data["comment"]}
                    )
            else:
                approval.refresh_from_db()
                if form.cleaned_data["verdict"] == Verdict.REJECT:
                    messages.success(request, _("You rejected the request; it is closed."))
                elif approval.status == RequestStatus.EXECUTED:
                    messages.success(
                        request, _("Your approval completed the quorum; the action was executed.")
                    )
                else:
                    messages.success(request, _("Your approval is recorded; further approvals are needed."))
                return redirect("workflow:request", pk=approval.pk)
        approval.refresh_from_db()
    return render(request, "reserve/request_detail.html", _request_context(request, approval, form))


def _kind_with_form(slug: str) -> RequestKind:
    """The registered kind offered at ``workflow/requests/new/<slug>/``; 404 for an unknown
    slug or a kind without a form (its requests are made elsewhere: the admin or the API)."""
    kind = kind_for_slug(slug, offering="form_class")
    if kind is None:
        raise Http404
    return kind


def proposable_kinds(user) -> list[RequestKind]:
    """The kinds with a "new request" screen that ``user`` may propose (the one maker rule)."""
    if not may_make_requests(user):
        return []
    return [kind for kind in registered_kinds() if kind.slug and kind.form_class]


@login_required
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest, slug: str) -> HttpResponse:
    """The "new request" screen of any kind: its ``form_class`` (a
    :class:`reserve.workflow.forms.RequestForm`) shapes the payload, the engine's
    ``create_request`` validates it and picks the policy."""
    kind = _kind_with_form(slug)
    if not may_make_requests(request.user):
        raise PermissionDenied
    form_class = import_string(kind.form_class)
    if request.method == "POST":
        form = form_class(request.POST)
        started = timezone.now()
        if form.is_valid():
            try:
                approval = create_request(
                    kind=kind.code,
                    payload=form.payload(),
                    maker=request.user,
                    comment=form.cleaned_data["comment"],
                    evidence=form.evidence_items(),
                    # A double click submits the same form twice: one request.
                    idempotency_key=f"screen:{request.user.pk}:{form.cleaned_data['submission']}",
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if approval.created_at < started:
                    messages.info(request, _("This form was already submitted; this is the request it made."))
                else:
                    messages.success(
                        request, _("Request %(ref)s made; it awaits approval.") % {"ref": approval.reference}
                    )
                return redirect("workflow:request", pk=approval.pk)
    else:
        form = form_class(initial={"submission": uuid.uuid4().hex})
    template = select_template([f"reserve/new_request/{kind.slug}.html", "reserve/new_request/generic.html"])
    return HttpResponse(template.render({"form": form, "kind": kind}, request))


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(ApprovalRequest, pk=pk)
    if not may_view_request(request.user, approval):
        raise Http404
    if approval.maker_id != request.user.pk:
        raise PermissionDenied
    try:
        cancel_request(request=approval, maker=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("You cancelled request %(ref)s; it is closed.") % {"ref": approval.reference}
        )
    return redirect("workflow:request", pk=approval.pk)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not may_see_dashboard(user):
        raise PermissionDenied
    now = timezone.now()
    activity = []
    if user.has_perm("reserve.view_auditevent"):
        activity = list(AuditEvent.objects.select_related("actor").order_by("-id")[:20])
    return render(
        request,
        "reserve/dashboard.html",
        {
            "holdings": holdings_as_of(),
            "wallet_balances": list(balances().filter(category__in=HELD_CATEGORIES).exclude(balance=0)),
            "pending_count": ApprovalRequest.objects.filter(
                status=RequestStatus.PENDING, expires_at__gt=now
            ).count(),
            "awaiting_count": requests_awaiting(user).count(),
            "activity": activity,
            "show_activity": user.has_perm("reserve.view_auditevent"),
            "request_type_id": ContentType.objects.get_for_model(ApprovalRequest).pk,
            "valuation": latest_snapshot(),
            "show_valuation_link": user.is_staff and user.has_perm("reserve.view_valuationsnapshot"),
        },
    )
