"""Second factor screens: enter a code from the authenticator app, or enrol one first.

The check, its cap on wrong codes and the enrolment itself are :mod:`reserve.otp`'s, shared
with the REST API; these views only keep the session's "verified at" mark and talk to the user.
"""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from reserve.otp import CodeThrottled, confirm_enrolment, confirmed_device, start_enrolment, verify_code
from reserve.workflow.forms import OtpForm

SECOND_FACTOR_SESSION_KEY = "reserve_second_factor_at"


def safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("workflow:inbox")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


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


def _checked(form: OtpForm, check):
    """Run ``check(code)`` and put a wrong or throttled code back on the form."""
    try:
        verified = check(form.cleaned_data["code"])
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
    next_url = safe_next(request)
    if confirmed_device(request.user) is None:
        messages.info(request, _("Set up an authenticator app first; deciding requests needs it."))
        return redirect(_with_next("workflow:otp-enrol", next_url))
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified = _checked(form, lambda code: verify_code(user=request.user, code=code))
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
    next_url = safe_next(request)
    if confirmed_device(user) is not None:
        messages.info(request, _("Your authenticator app is already set up; enter its code."))
        return redirect(_with_next("workflow:otp-verify", next_url))
    device = start_enrolment(user=user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified = _checked(form, lambda code: confirm_enrolment(user=user, code=code))
        if verified is not None:
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
