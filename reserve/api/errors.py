"""One error body for the whole API: ``{"code": ..., "message": ..., "errors": {field: [...]}}``.

``code`` is machine-readable, ``message`` is a sentence in the request's language, ``errors``
lists messages per input field (``non_field_errors`` for the rest) and is empty unless the
input was invalid. The status codes and codes (also in the schema's description):

=====  =================================================================================
400    ``invalid`` (field errors), ``refused`` (the approval engine said no: no policy
       covers it, second factor missing), ``malformed`` (not JSON, nested deeper than 32
       levels, a lone surrogate, NaN/Infinity), ``idempotency_key_required``
401    ``not_authenticated``, ``token_invalid``, ``token_revoked``, ``token_expired``,
       ``client_revoked``, ``client_disabled`` (with ``WWW-Authenticate: Bearer``)
403    ``permission_denied`` (scope missing, or no permission), ``refused`` (the approval
       engine refused the caller: the maker deciding, not an approver, a role that may not
       make requests)
404    ``not_found``
409    ``not_pending``, ``expired``, ``already_decided``, ``digest_mismatch``,
       ``policy_changed``, ``reference_conflict`` (intake: a court's identifier registered
       with other content), ``idempotency_in_flight`` (with ``Retry-After``)
412    ``precondition_failed`` (stale ``If-Match``)
413    ``too_large`` (the body exceeds ``API_MAX_BODY_SIZE``, 1 MB)
422    ``idempotency_key_reused`` (same key, another request)
428    ``precondition_required`` (no ``If-Match``)
429    ``throttled`` (with ``Retry-After``)
503    ``service_busy`` (database contention; nothing changed; with ``Retry-After``)
=====  =================================================================================

Installed as ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``; :func:`error_responses` documents the
same shape in the OpenAPI schema.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from reserve.approvals.services import STATE_CONFLICTS, ApprovalError
from reserve.retry import ServiceBusy, is_retryable


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_(
            "Machine-readable error code: invalid, refused, not_authenticated, token_expired, "
            "permission_denied, not_found, not_pending, digest_mismatch, precondition_failed, "
            "idempotency_key_reused, throttled, service_busy, ..."
        )
    )
    message = serializers.CharField(help_text=_("Human-readable summary in the request's language."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_(
            "Messages per input field (non_field_errors for the input as a whole); empty unless "
            "code is invalid."
        ),
    )


class Refused(exceptions.APIException):
    """The approval engine refused the caller or the request (the reason is the message)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The approval engine refused this.")
    default_code = "refused"


class PayloadTooLarge(exceptions.APIException):
    """The body is larger than ``settings.API_MAX_BODY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The body is too large for this API.")
    default_code = "too_large"


class RefusedPermission(exceptions.PermissionDenied):
    """The approval engine refused the caller: it may not do this at all (wrong role, the
    maker deciding, not an approver the policy names)."""

    default_code = "refused"


class IdempotencyKeyRequired(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _(
        "This POST changes state: send an Idempotency-Key header (1 to 128 printable characters)."
    )
    default_code = "idempotency_key_required"


class Conflict(exceptions.APIException):
    """The request conflicts with the current state of the resource."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This conflicts with the current state of the resource.")
    default_code = "conflict"

    def __init__(self, detail=None, code=None, *, wait: int | None = None):
        super().__init__(detail, code)
        self.wait = wait


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "The resource changed since you read it (If-Match does not match its ETag); nothing was changed."
    )
    default_code = "precondition_failed"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was used for another request (other method, path or body).")
    default_code = "idempotency_key_reused"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _(
        "Send If-Match with the ETag you read, so that a concurrent change is not overwritten."
    )
    default_code = "precondition_required"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is busy; nothing was changed. Try again in a moment.")
    default_code = "service_busy"

    def __init__(self, detail=None, code=None, *, wait: int = 1):
        super().__init__(detail, code)
        self.wait = wait


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (status codes, ``WWW-Authenticate``, ``Retry-After``, rollback) with our
    error body.

    Exceptions that are not API errors still return ``None`` so that Django reports them as
    server errors instead of this handler hiding them.
    """
    if isinstance(exc, ServiceBusy):
        exc = ServiceUnavailable(str(exc), wait=exc.retry_after_seconds)
    elif isinstance(exc, OperationalError) and is_retryable(exc):
        # A lost race outside a retried service (or inside an enclosing transaction): it
        # changed nothing, so the caller may simply try again.
        exc = ServiceUnavailable()
    elif isinstance(exc, ApprovalError):
        exc = refusal(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = error_body(exc)
    return response


#: Engine refusal codes that mean the caller may not do this at all (wrong role, the maker
#: deciding, not an approver of the policy): 403.
PERMISSION_REFUSALS = frozenset({"refused"})


def refusal(exc: ApprovalError) -> exceptions.APIException:
    """The one mapping from an engine refusal to the API's error, for every endpoint.

    - field errors: 400 ``invalid`` with the fields' messages;
    - a state in the way (:data:`reserve.approvals.services.STATE_CONFLICTS`: no longer
      pending, expired, changed since read, policy changed, already decided, an asset or
      wallet deactivated since it was made): 409 with the
      engine's code;
    - the caller may not do this (:data:`PERMISSION_REFUSALS`): 403 ``refused``;
    - anything else the engine says no to (no policy covers it, a second factor is missing):
      400 ``refused``.
    """
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(serializers.as_serializer_error(exc))
    code = exc.error_list[0].code
    message = exc.messages[0]
    if code in STATE_CONFLICTS:
        return Conflict(message, code=code)
    if code in PERMISSION_REFUSALS:
        return RefusedPermission(message)
    return Refused(message)


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return {
            "code": "invalid",
            "message": str(_("Invalid input.")),
            "errors": field_errors(exc.detail),
        }
    detail = exc.detail
    if isinstance(detail, list | dict):
        return {
            "code": exc.default_code,
            "message": str(exc.default_detail),
            "errors": field_errors(detail),
        }
    return {
        "code": getattr(detail, "code", None) or exc.default_code,
        "message": str(detail),
        "errors": {},
    }


def field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF error details to ``{"field": [...], "nested.field": [...], "rows.0.x": ...}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            for name, messages in field_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(messages)
        return flat
    if isinstance(detail, list):
        flat = {}
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                nested = field_errors(item, f"{prefix}.{index}" if prefix else str(index))
            else:
                nested = {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(item)]}
            for name, messages in nested.items():
                flat.setdefault(name, []).extend(messages)
        return flat
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(detail)]}


_RESPONSES = {
    400: (
        _(
            "Invalid input (code invalid, with field errors) or refused by the approval engine (code refused)."
        ),
        {
            "code": "invalid",
            "message": "Invalid input.",
            "errors": {"asset": ["This field is required."]},
        },
    ),
    401: (
        _("No valid credentials: no token, or an unknown, revoked or expired one."),
        {"code": "token_expired", "message": "This API token expired.", "errors": {}},
    ),
    403: (
        _("The token lacks the scope this needs, or the signed-in user lacks the permission."),
        {
            "code": "permission_denied",
            "message": "This token lacks the scope holdings:read.",
            "errors": {},
        },
    ),
    404: (
        _("No such object (or not visible to you), or an invalid page cursor."),
        {"code": "not_found", "message": "Not found.", "errors": {}},
    ),
    409: (
        _(
            "Conflicts with the request's current state (not_pending, expired, already_decided, "
            "digest_mismatch, policy_changed), or a POST with the same Idempotency-Key is still "
            "running (idempotency_in_flight)."
        ),
        {
            "code": "not_pending",
            "message": "This request is rejected; it takes no more decisions.",
            "errors": {},
        },
    ),
    412: (
        _("If-Match does not match the current ETag: the request changed; nothing was changed."),
        {"code": "precondition_failed", "message": "The resource changed since you read it.", "errors": {}},
    ),
    422: (
        _("The Idempotency-Key was used before with another method, path or body."),
        {
            "code": "idempotency_key_reused",
            "message": "This Idempotency-Key was used for another request.",
            "errors": {},
        },
    ),
    428: (
        _("If-Match is missing."),
        {"code": "precondition_required", "message": "Send If-Match with the ETag you read.", "errors": {}},
    ),
    429: (
        _("Too many calls by this client; see Retry-After."),
        {
            "code": "throttled",
            "message": "Request was throttled. Expected available in 12 seconds.",
            "errors": {},
        },
    ),
    503: (
        _("The database stayed contended through every retry; nothing was changed. See Retry-After."),
        {"code": "service_busy", "message": "The ledger is busy; nothing was changed.", "errors": {}},
    ),
}

#: Response headers, for the schema.
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[409, 429, 503],
    description=_("Seconds to wait before trying again."),
)


def error_responses(
    *status_codes: int, invalid: dict[str, list[str]] | None = None
) -> dict[int, OpenApiResponse]:
    """Schema responses for the given error status codes, all with :class:`ErrorSerializer`.

    ``invalid`` is the example of field errors shown for 400.
    """
    responses = {}
    for status_code in status_codes:
        description, example = _RESPONSES[status_code]
        if status_code == 400 and invalid is not None:
            example = {**example, "errors": invalid}
        responses[status_code] = OpenApiResponse(
            response=ErrorSerializer,
            description=description,
            examples=[OpenApiExample(f"error-{status_code}", value=example, status_codes=[status_code])],
        )
    return responses


@csrf_exempt
def endpoint_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other path under ``/api/v1/``: the error body instead of Django's HTML page."""
    return JsonResponse(
        {"code": "not_found", "message": str(_("No such endpoint or object.")), "errors": {}}, status=404
    )


def document_query_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation that reads query parameters answers
    400 (code ``invalid``, the parameter named) to one it cannot take, e.g. a null character in
    any of them (refused before the view runs, :class:`reserve.api.base.ApiEndpoint`); document
    it where a view's own responses do not already."""
    example = {
        "code": "invalid",
        "message": "Invalid input.",
        "errors": {"cursor": ["Null characters are not allowed."]},
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            takes_query = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
            if takes_query and "400" not in operation["responses"]:
                operation["responses"]["400"] = {
                    "description": str(_RESPONSES[400][0]),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"},
                            "examples": {"Error-400": {"value": example}},
                        }
                    },
                }
    return result
