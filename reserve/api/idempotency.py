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
"""

from __future__ import annotations

import functools
import hashlib
import re

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from reserve.api.authentication import api_token
from reserve.api.clients import (
    Claim,
    claim_idempotency_key,
    complete_idempotency_key,
    release_idempotency_key,
    request_fingerprint,
)
from reserve.api.errors import Conflict, IdempotencyKeyRequired, IdempotencyKeyReused

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
