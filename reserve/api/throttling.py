"""Throttling per integration client.

The rate is ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_client"]`` (env
``API_THROTTLE_RATE``, default ``600/min``), read on every call so that tests can change it.
Counts live in Django's cache: in production that cache must be shared by the web processes
(Redis), or each process counts on its own. People signed in with a session are not throttled
here (login throttling is django-axes' job).
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from reserve.api.authentication import api_token


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        token = api_token(request)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.client_id}
