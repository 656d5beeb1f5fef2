"""The approvers' workflow screens (DESIGN §7): inbox, request page with approve/reject,
new transfer, second factor (TOTP) verification and enrolment, dashboard.

Views are thin: they check who may see a page, call the approval engine's services and
selectors, and put the engine's refusals back on the page. The engine re-checks every rule
under a row lock, so nothing here is the last line of defence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from base64 import b32encode
from dataclasses import dataclass
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve.approvals.access import may_make_requests, may_view_request
from reserve.approvals.registry import UnknownKind, get_kind
from reserve.approvals.services import (
    create_request,
    decide,
    quorum_progress,
    refusal_reason,
    requests_awaiting,
)
from reserve.audit import record_event
from reserve.forms import DecisionForm, OtpForm, TransferForm, add_service_errors
from reserve.ledger.selectors import balances, holdings_as_of
from reserve.models import (
    HELD_CATEGORIES,
    ApprovalRequest,
    AuditEvent,
    Decision,
    JournalEntry,
    Posting,
    RequestStatus,
    Verdict,
)

#: Name of a device enrolled from the screens (stored data, shown in the admin).
ENROLLED_DEVICE_NAME = "Authenticator app"

login_view = auth_views.LoginView.as_view(redirect_authenticated_user=True)
logout_view = auth_views.LogoutView.as_view()


def may_see_dashboard(user) -> bool:
    return user.is_authenticated and user.has_perm("reserve.view_account")


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("workflow:inbox")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


# --- inbox -----------------------------------------------------------------------------------------


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
        {"awaiting": awaiting, "mine_open": mine_open, "took_part": took_part, "now": timezone.now()},
    )


# --- request page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceItem:
    label: str
    url: str = ""
    details: str = ""


def _evidence(items) -> list[EvidenceItem]:
    """Evidence is free JSON from the kind that made the request; links only for http(s)."""
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
        if not url.startswith(("https://", "http://")):
            url = ""
        shown.append(EvidenceItem(label=label, url=url, details=details))
    return shown


def _notices(approval: ApprovalRequest) -> list[str]:
    try:
        return get_kind(approval.kind).notices(approval.payload)
    except (UnknownKind, ObjectDoesNotExist, LookupError, ValueError, ValidationError):
        return []


def _ledger_effect(approval: ApprovalRequest):
    try:
        return get_kind(approval.kind).ledger_effect(approval.payload)
    except (UnknownKind, ObjectDoesNotExist, LookupError, ValueError, ValidationError):
        return None


SECOND_FACTOR_SESSION_KEY = "reserve_second_factor_at"


def _mark_second_factor(request: HttpRequest, device) -> None:
    request.session.cycle_key()  # a new session key for the raised privilege
    django_otp.login(request, device)
    request.session[SECOND_FACTOR_SESSION_KEY] = timezone.now().timestamp()


def second_factor_fresh(request: HttpRequest) -> bool:
    """A decision counts as made with a second factor only within a few minutes of entering a
    code (settings.SECOND_FACTOR_MAX_AGE), not for the whole life of the session."""
    if not request.user.is_verified():
        return False
    verified_at = request.session.get(SECOND_FACTOR_SESSION_KEY)
    if verified_at is None:
        return False
    return timezone.now().timestamp() - verified_at <= settings.SECOND_FACTOR_MAX_AGE.total_seconds()


def _request_context(request: HttpRequest, approval: ApprovalRequest, form: DecisionForm | None) -> dict:
    user = request.user
    reason = refusal_reason(approval, user)
    requires_2fa = approval.policy.requires_second_factor
    verified = second_factor_fresh(request)
    entries = (
        JournalEntry.objects.filter(request=approval)
        .prefetch_related(
            Prefetch("postings", queryset=Posting.objects.select_related("account__asset", "account__wallet"))
        )
        .order_by("year", "sequence")
    )
    audit = (
        AuditEvent.objects.filter(
            subject_content_type=ContentType.objects.get_for_model(ApprovalRequest),
            subject_object_id=str(approval.pk),
        )
        .select_related("actor")
        .order_by("id")
    )
    if form is None:
        form = DecisionForm(initial={"digest": approval.payload_digest})
    expired = approval.status == RequestStatus.PENDING and approval.expires_at <= timezone.now()
    return {
        "approval": approval,
        "expired": expired,
        "payload_rows": sorted(approval.payload.items()) if isinstance(approval.payload, dict) else [],
        "evidence": _evidence(approval.evidence),
        "tiers": list(approval.policy.tiers.select_related("group").order_by("position")),
        "progress": quorum_progress(approval),
        "decisions": list(approval.decisions.select_related("approver").order_by("decided_at", "id")),
        "effect": _ledger_effect(approval),
        "notices": _notices(approval) if approval.status == RequestStatus.PENDING else [],
        "entries": list(entries),
        "audit": list(audit),
        "refusal": reason,
        "may_decide": reason is None and (verified or not requires_2fa),
        "needs_second_factor": reason is None and requires_2fa and not verified,
        "has_device": TOTPDevice.objects.devices_for_user(user, confirmed=True).exists(),
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


# --- new transfer ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def new_transfer(request: HttpRequest) -> HttpResponse:
    if not may_make_requests(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = TransferForm(request.POST)
        started = timezone.now()
        if form.is_valid():
            try:
                approval = create_request(
                    kind="reserve.transfer",
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
        form = TransferForm(initial={"submission": uuid.uuid4().hex})
    return render(request, "reserve/transfer_form.html", {"form": form})


# --- second factor ----------------------------------------------------------------------------------


class CodeThrottled(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id").first()


#: Wrong codes in a row after which a device takes no code for a minute after the last one.
MAX_WRONG_CODES_PER_MINUTE = 5


def _check_code(device: TOTPDevice, code: str) -> TOTPDevice | None:
    """Verify ``code`` on ``device`` under a row lock (no two concurrent tries), with
    django-otp's throttling (after each wrong code the next try waits twice as long) capped so
    that no minute sees more than five tries."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        now = timezone.now()
        allowed, info = locked.verify_is_allowed()
        until = (info or {}).get("locked_until") if not allowed else None
        last_failure = locked.throttling_failure_timestamp
        if locked.throttling_failure_count >= MAX_WRONG_CODES_PER_MINUTE and last_failure is not None:
            until = max(until or now, last_failure + dt.timedelta(minutes=1))
        if not allowed or (until is not None and until > now):
            raise CodeThrottled(max(1, int(((until or now) - now).total_seconds()) + 1))
        return locked if locked.verify_token(code) else None


def _code_form_result(form, device: TOTPDevice) -> TOTPDevice | None:
    try:
        verified = _check_code(device, form.cleaned_data["code"])
    except CodeThrottled as exc:
        form.add_error(
            "code",
            _("Too many wrong codes. Wait %(seconds)d seconds, then enter a new code.")
            % {"seconds": exc.seconds},
        )
        return None
    if verified is None:
        form.add_error(
            "code", _("This code is not valid. Enter the current code from your authenticator app.")
        )
    return verified


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    device = _confirmed_device(request.user)
    if device is None:
        messages.info(request, _("Set up an authenticator app first; deciding requests needs it."))
        return redirect(_with_next("workflow:otp-enrol", next_url))
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified = _code_form_result(form, device)
        if verified is not None:
            _mark_second_factor(request, verified)
            messages.success(request, _("Second factor verified."))
            return redirect(next_url)
    return render(request, "reserve/otp_verify.html", {"form": form, "next": next_url})


@login_required
@require_http_methods(["GET", "POST"])
def otp_enrol(request: HttpRequest) -> HttpResponse:
    """First enrolment of an authenticator app: an unconfirmed device, shown as a QR code and
    its secret, confirmed by its first code. Replacing a confirmed device is an admin task."""
    user = request.user
    next_url = _safe_next(request)
    if _confirmed_device(user) is not None:
        messages.info(request, _("Your authenticator app is already set up; enter its code."))
        return redirect(_with_next("workflow:otp-verify", next_url))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=ENROLLED_DEVICE_NAME, confirmed=False)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified = _code_form_result(form, device)
        if verified is not None:
            with transaction.atomic():
                verified.confirmed = True
                verified.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                record_event(action="reserve.second_factor.enrolled", actor=user, subject=verified)
            _mark_second_factor(request, verified)
            messages.success(request, _("Your authenticator app is set up and verified."))
            return redirect(next_url)
    return render(
        request,
        "reserve/otp_enrol.html",
        {
            "form": form,
            "next": next_url,
            # segno draws the SVG from the otpauth:// URL: paths only, no user-supplied markup.
            "qr_svg": mark_safe(segno.make(device.config_url).svg_inline(scale=4)),  # noqa: S308
            "secret": b32encode(device.bin_key).decode("ascii"),
        },
    )


# --- dashboard ------------------------------------------------------------------------------------


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
        },
    )
