"""One error body for the whole API: ``{"code": ..., "message": ..., "errors": {field: [...]}}``.

``code`` is machine-readable (``invalid``, ``not_authenticated``, ``permission_denied``,
``not_found``, ``method_not_allowed``, ``throttled`` ...), ``message`` is a sentence in the
request's language, ``errors`` lists messages per input field (``non_field_errors`` for the
rest) and is empty unless the input was invalid.

Installed as ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``; :func:`error_responses` documents the
same shape in the OpenAPI schema.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_(
            "Machine-readable error code: invalid, not_authenticated, authentication_failed, "
            "permission_denied, not_found, method_not_allowed, throttled, ..."
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


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (status codes, ``WWW-Authenticate``, rollback) with our error body.

    Exceptions that are not API errors still return ``None`` so that Django reports them as
    server errors instead of this handler hiding them.
    """
    if isinstance(exc, DjangoValidationError):
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
        _("The query parameters are invalid."),
        {
            "code": "invalid",
            "message": "Invalid input.",
            "errors": {"asset": ["This field is required."]},
        },
    ),
    401: (
        _("No valid credentials were given."),
        {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "errors": {},
        },
    ),
    403: (
        _("Not signed in (session authentication answers 403), or not allowed to read this."),
        {
            "code": "permission_denied",
            "message": "You do not have permission to perform this action.",
            "errors": {},
        },
    ),
    404: (
        _("No such object, or an invalid page cursor."),
        {"code": "not_found", "message": "Not found.", "errors": {}},
    ),
}


def error_responses(
    *status_codes: int, invalid: dict[str, list[str]] | None = None
) -> dict[int, OpenApiResponse]:
    """Schema responses for the given error status codes, all with :class:`ErrorSerializer`.

    ``invalid`` is the example of field errors shown for 400.
    """
    responses = {}
    for status in status_codes:
        description, example = _RESPONSES[status]
        if status == 400 and invalid is not None:
            example = {**example, "errors": invalid}
        responses[status] = OpenApiResponse(
            response=ErrorSerializer,
            description=description,
            examples=[OpenApiExample(f"error-{status}", value=example, status_codes=[status])],
        )
    return responses
