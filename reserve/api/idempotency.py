"""``Idempotency-Key`` on POST: a retried call gets the first call's reply, never a second effect.

- The key is 1 to 128 printable ASCII characters, chosen by the client (a UUID is ideal), and
  scoped to the caller: two clients may use the same key.
- The first call claims the key (an insert under a unique constraint, in its own transaction),
  runs the action, and stores its reply for 24 hours when it succeeded (2xx).
- A replay with the same key, method, path and body gets the stored status and body and the
  header ``Idempotent-Replayed: true``; the action does not run again.
- The same key with another method, path or body: 422 ``idempotency_key_reused``.
- A duplicate arriving while the first is still running: 409 ``idempotency_in_flight``
  with ``Retry-After``; retry and it gets the stored reply.
- Error replies (4xx, 5xx) are not stored: the services change nothing when they refuse, so
  the same key may be retried, e.g. with a corrected body or after a 503.
- POSTs that change state refuse to run without a key: 400 ``idempotency_key_required``.

The records: :func:`claim_idempotency_key` inserts the record before the action runs, in its
own transaction, under the unique (user, key) constraint, so that of concurrent duplicates
exactly one runs the action; :func:`complete_idempotency_key` stores the reply after it;
:func:`release_idempotency_key` forgets a claim whose action ended in a server error so the
client may retry with the same key.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from reserve.api.authentication import api_token
from reserve.api.errors import Conflict, IdempotencyKeyRequired, IdempotencyKeyReused
from reserve.models import ApiClient, IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
_KEY = re.compile(KEY_PATTERN)
#: Headers of the first reply that a replay repeats.
_KEPT_HEADERS = ("ETag", "Location")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=KEY_PATTERN,
    description=(
        "A key you choose for this call (1 to 128 printable ASCII characters; a UUID is ideal). "
        "Retrying with the same key and body returns the first reply (with `Idempotent-Replayed: "
        "true`) and changes nothing; the same key with another body is refused (422). Keys are "
        "kept 24 hours, per client."
    ),
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    enum=["true"],
    description="Present on a replayed reply: this is the stored reply of the first call with this key.",
)


def idempotent(handler):
    """Decorate a view's ``post``: require an ``Idempotency-Key`` and make retries safe.

    Runs after authentication, permissions and throttling (DRF's ``initial``), so the key is
    scoped to an authenticated caller.
    """

    @functools.wraps(handler)
    def wrapper(view, request: Request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            raise IdempotencyKeyRequired()
        if not _KEY.match(key):
            raise exceptions.ValidationError(
                {HEADER: [_("1 to 128 printable ASCII characters, without spaces.")]}
            )
        request._request.idempotency_key = key
        token = api_token(request)
        claim, record = claim_idempotency_key(
            user=request.user,
            client=token.client if token is not None else None,
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=request_fingerprint(request.method, request.path, request.data),
        )
        if claim is Claim.MISMATCH:
            raise IdempotencyKeyReused()
        if claim is Claim.IN_FLIGHT:
            raise Conflict(
                _("A call with this Idempotency-Key is still running; retry shortly for its reply."),
                code="idempotency_in_flight",
                wait=1,
            )
        if claim is Claim.REPLAY:
            return _replay(record)

        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - answered here as DRF would, to release the claim
            try:
                response = view.handle_exception(exc)
            except Exception:
                release_idempotency_key(record)
                raise
        if response.status_code >= 400:
            release_idempotency_key(record)
            return response
        complete_idempotency_key(
            record,
            status_code=response.status_code,
            body=_render(response),
            headers={name: response[name] for name in _KEPT_HEADERS if response.has_header(name)},
        )
        return response

    return wrapper


def _render(response: Response) -> str:
    data = getattr(response, "data", None)
    if data is None:
        return ""
    return JSONRenderer().render(data).decode("utf-8")


def _replay(record) -> HttpResponse:
    response = HttpResponse(
        record.response_body,
        status=record.status_code,
        content_type="application/json" if record.response_body else None,
    )
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def request_key(request: Request) -> str | None:
    """A key for the approval request this call makes (``ApprovalRequest.idempotency_key``).

    Derived from the caller, the Idempotency-Key and the body, so that the engine refuses to
    make the same request twice even if the stored reply were lost, while another client's
    identical key can never return this client's request.
    """
    key = getattr(request._request, "idempotency_key", None)
    if key is None:
        return None
    fingerprint = request_fingerprint(request.method, request.path, request.data)
    return "api:" + hashlib.sha256(f"{request.user.pk}:{key}:{fingerprint}".encode()).hexdigest()


#: How long a stored reply answers a replay; after that the key may be used again.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
#: A claim still unanswered after this long belongs to a worker that died; it may be taken over.
IDEMPOTENCY_CLAIM_TIMEOUT = dt.timedelta(minutes=5)


def request_fingerprint(method: str, path: str, body) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this caller runs the action
    REPLAY = "replay"  # answered before: return the stored reply
    MISMATCH = "mismatch"  # the key was used for another request
    IN_FLIGHT = "in_flight"  # a duplicate is running the action right now


def claim_idempotency_key(
    *,
    user,
    client: ApiClient | None,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> tuple[Claim, IdempotencyRecord | None]:
    now = now or timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user,
                    client=client,
                    key=key,
                    fingerprint=fingerprint,
                    method=method,
                    path=path[:500],
                    created_at=now,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
            return Claim.CLAIMED, record
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        if existing.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.fingerprint != fingerprint:
            return Claim.MISMATCH, existing
        if existing.completed:
            return Claim.REPLAY, existing
        if existing.created_at <= now - IDEMPOTENCY_CLAIM_TIMEOUT:
            # An abandoned claim. Taking it over is safe: the engine refuses to decide twice and
            # a request's own idempotency key refuses to create it twice.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, completed_at__isnull=True, created_at__lte=existing.created_at
            ).delete()
            continue
        return Claim.IN_FLIGHT, existing
    return Claim.IN_FLIGHT, None


def complete_idempotency_key(
    record: IdempotencyRecord, *, status_code: int, body: str, headers: dict[str, str] | None = None
) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, completed_at__isnull=True).update(
        status_code=status_code,
        response_body=body,
        response_headers=headers or {},
        completed_at=timezone.now(),
    )


def release_idempotency_key(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, completed_at__isnull=True).delete()


def purge_expired_idempotency_records(now: dt.datetime | None = None) -> int:
    """Delete stored replies past their 24 hours (run periodically by a Celery task)."""
    deleted, _by_model = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
