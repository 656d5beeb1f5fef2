"""What every endpoint of the API does, whatever it serves: it logs the calls of integration
clients (:class:`reserve.models.ApiCallLog`) and refuses NUL characters in the path and the
query, which PostgreSQL cannot store or compare (they would otherwise be server errors), and
bodies over ``settings.API_MAX_BODY_SIZE`` (413)."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions

from reserve.api.clients import record_api_call
from reserve.api.errors import PayloadTooLarge


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ApiEndpoint:
    """Mixin of every API view (before the DRF view class in the bases).

    Calls refused before the view (bad token, missing scope, throttled) are logged too.
    """

    #: Largest body this endpoint reads; ``None``: ``settings.API_MAX_BODY_SIZE``. A file upload
    #: sets its own (the file's checks refuse oversize files with a field message).
    max_body_size: int | None = None

    def dispatch(self, request, *args, **kwargs):
        started = time.monotonic()
        response = super().dispatch(request, *args, **kwargs)
        if hasattr(request, "api_token_prefix"):
            record_api_call(
                client=request.api_client,
                token_prefix=request.api_token_prefix,
                method=request.method,
                path=request.path,
                status=response.status_code,
                idempotency_key=getattr(request, "idempotency_key", ""),
                duration_ms=round((time.monotonic() - started) * 1000),
            )
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        limit = self.max_body_size if self.max_body_size is not None else settings.API_MAX_BODY_SIZE
        if _content_length(request) > limit:
            # Before anything reads the body (Django would refuse it with an HTML page).
            raise PayloadTooLarge()
        if "\x00" in request.path:
            raise exceptions.NotFound()
        bad = sorted(
            name.replace("\x00", "%00")
            for name, values in request.query_params.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        )
        if bad:
            raise exceptions.ValidationError({name: [_("Null characters are not allowed.")] for name in bad})
