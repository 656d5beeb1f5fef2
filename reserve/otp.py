"""The second factor (TOTP, django-otp): one check and one enrolment for every entry point.

The workflow screens (verification and enrolment) and the REST API (a decision's
``otp_token``) all call :func:`verify_code`, so a person gets five wrong codes in a row in all,
not five per screen or per face, before codes are refused for a minute.

Where the count lives: on the user's ``TOTPDevice`` rows in the database (django-otp's
``throttling_failure_count`` and ``throttling_failure_timestamp``), read and written under a row
lock. No cache is assumed, so the cap holds across every web process and worker in production
and behaves the same in tests (each test's database is its own; nothing leaks between tests).
On top of the cap, django-otp's own back-off still applies (after the n-th wrong code in a row
the next try waits 2^(n-1) seconds, settings.OTP_TOTP_THROTTLE_FACTOR); a right code resets
both.
"""

from __future__ import annotations

import datetime as dt
import enum

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve.audit import record_event, request_source

#: Wrong codes in a row after which a person's codes are refused for a minute after the last.
MAX_WRONG_CODES_PER_MINUTE = 5

#: How long the cap holds after the last wrong code.
CAP_PERIOD = dt.timedelta(minutes=1)

#: Name of a device enrolled from the screens (stored data, shown in the admin).
ENROLLED_DEVICE_NAME = "Authenticator app"


class Purpose(enum.StrEnum):
    """Why a code is entered; it chooses the devices the code is checked against."""

    #: Raise a signed-in session to "second factor verified" (the screens).
    VERIFY = "verify"
    #: Sign one decision made through the REST API.
    DECIDE = "decide"
    #: Confirm a device being enrolled: the code must come from the unconfirmed device.
    ENROL = "enrol"


class CodeThrottled(Exception):
    """Too many wrong codes: no code is checked for ``seconds`` more seconds."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id").first()


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def _locked_until(device: TOTPDevice, now: dt.datetime) -> dt.datetime | None:
    allowed, info = device.verify_is_allowed()
    until = (info or {}).get("locked_until") if not allowed else None
    last_failure = device.throttling_failure_timestamp
    if device.throttling_failure_count >= MAX_WRONG_CODES_PER_MINUTE and last_failure is not None:
        until = max(until or now, last_failure + CAP_PERIOD)
    return until if until is not None and until > now else None


def verify_code(*, user, code: str, purpose: Purpose = Purpose.VERIFY) -> TOTPDevice | None:
    """Check ``code`` for ``user``: the device that accepted it, or None for a wrong code.

    Raises :class:`CodeThrottled` while the person is capped. All of the user's devices are
    locked for the check (no two concurrent tries count as one) and the cap is the strictest
    of them, whichever screen or API call the wrong codes came from. Call it outside a
    surrounding transaction that may roll back: a used code and a wrong try must stay
    recorded even when what follows is refused.
    """
    with transaction.atomic():
        devices = list(TOTPDevice.objects.filter(user=user).select_for_update().order_by("id"))
        now = timezone.now()
        waits = [until for until in (_locked_until(d, now) for d in devices) if until is not None]
        if waits:
            raise CodeThrottled(max(1, int((max(waits) - now).total_seconds()) + 1))
        want_confirmed = purpose != Purpose.ENROL
        for device in devices:
            # verify_token counts a wrong code on the device and accepts each code once.
            if device.confirmed == want_confirmed and device.verify_token(code):
                return device
    return None


@transaction.atomic
def start_enrolment(*, user) -> TOTPDevice:
    """The unconfirmed device of a first enrolment, reused while it is not confirmed (so
    reloading the page shows the same secret). Replacing a confirmed device is an admin task."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=ENROLLED_DEVICE_NAME, confirmed=False)
    return device


def confirm_enrolment(*, user, code: str) -> TOTPDevice | None:
    """Confirm the enrolling device with its first code; None for a wrong code (and
    :class:`CodeThrottled` as :func:`verify_code`). Writes ``reserve.second_factor.enrolled``."""
    verified = verify_code(user=user, code=code, purpose=Purpose.ENROL)
    if verified is None:
        return None
    with transaction.atomic():
        verified.confirmed = True
        verified.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        record_event(action="reserve.second_factor.enrolled", actor=user, subject=verified)
    return verified


@transaction.atomic
def reset_authenticators(*, user, actor, request=None) -> int:
    """Remove every authenticator of ``user`` (a lost or stolen phone) so that they enrol a new
    one at their next decision. Only an approved ``reserve.authenticator_reset`` request calls
    this: a second factor replaced by one person alone would be no second factor."""
    devices = list(TOTPDevice.objects.select_for_update().filter(user=user).values_list("pk", "name"))
    TOTPDevice.objects.filter(pk__in=[pk for pk, _name in devices]).delete()
    record_event(
        action="reserve.second_factor.reset",
        actor=actor,
        subject=user,
        data={
            "devices": [name for _pk, name in devices],
            **request_source(request),
        },
    )
    return len(devices)
