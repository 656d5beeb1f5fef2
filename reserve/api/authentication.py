"""``Authorization: Bearer <token>`` for integration clients.

First in ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``, so that a call without
credentials answers 401 with ``WWW-Authenticate: Bearer realm="api"``; session authentication
follows it for the browsable docs. ``request.auth`` is the :class:`ApiToken` of a token call.
The token (or the refused one, when it is known) is also noted on the Django request, for the
call log written by :class:`reserve.api.base.ApiEndpoint`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from reserve.api.clients import TokenRefused, authenticate_token
from reserve.models import ApiToken


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as 'Authorization: Bearer <token>'."), code="token_invalid"
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Unknown API token."), code="token_invalid")
        try:
            token = authenticate_token(secret)
        except TokenRefused as exc:
            note_caller(request, exc.token, presented=secret)
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code)
        note_caller(request, token, presented=secret)
        return token.client.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def note_caller(request, token: ApiToken | None, *, presented: str) -> None:
    django_request = getattr(request, "_request", request)
    django_request.api_client = token.client if token is not None else None
    django_request.api_token_prefix = token.prefix if token is not None else presented[:12]


def api_token(request) -> ApiToken | None:
    """The token a DRF request was authenticated with, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "reserve.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An integration client's token, from the admin or `manage.py issue_api_token CLIENT`. "
                "What it may do is bounded by its client's scopes."
            ),
        }
