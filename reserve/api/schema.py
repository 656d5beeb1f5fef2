"""The schema generator of the API: drf-spectacular's, plus the scope each operation needs (in
its description and as ``x-required-scope``) and the ``Retry-After`` header of every 409, 429
and 503 reply."""

from __future__ import annotations

from drf_spectacular import openapi

from reserve.api.errors import RETRY_AFTER


class AutoSchema(openapi.AutoSchema):
    def get_override_parameters(self) -> list:
        return [*super().get_override_parameters(), RETRY_AFTER]

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        scope = getattr(self.view, "required_scope", None)
        if operation is None or not scope:
            return operation
        note = f"**Scope:** `{scope}` (token calls)."
        description = operation.get("description")
        operation["description"] = f"{description}\n\n{note}" if description else note
        operation["x-required-scope"] = str(scope)
        return operation
