"""Replacing a lost authenticator: the person's second-factor devices are removed by an approved
request, so they can enrol a new one. Nobody replaces a second factor alone — not the person,
not an administrator."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.approvals import payload as checks
from reserve.approvals.registry import RequestKind
from reserve.otp import reset_authenticators

User = get_user_model()


@dataclass(frozen=True)
class AuthenticatorResetAction:
    user: object
    reason: str


class AuthenticatorResetKind(RequestKind):
    code = "reserve.authenticator_reset"
    label = gettext_lazy("Authenticator replacement")
    slug = "authenticator-resets"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        username = checks.text(payload, "user", errors, max_length=150)
        reason = checks.text(payload, "reason", errors, max_length=500)
        if username and not User.objects.filter(username=username, is_active=True).exists():
            errors.add("user", _("No active user has this name."))
        errors.raise_if_any()
        return {"user": username, "reason": reason}

    def parse(self, payload: dict) -> AuthenticatorResetAction:
        user = User.objects.filter(username=payload["user"], is_active=True).first()
        if user is None:
            raise ValidationError({"user": [_("No active user has this name.")]})
        return AuthenticatorResetAction(user=user, reason=payload["reason"])

    def title(self, action: AuthenticatorResetAction) -> str:
        return _("Replace the authenticator of %(user)s") % {"user": action.user.get_username()}

    def notices(self, action) -> list[str]:
        return [
            _(
                "Once approved, the person's authenticators are removed and they enrol a new one at "
                "their next decision. Confirm who they are in person or by a call you placed."
            )
        ]

    def execute(self, *, request, action: AuthenticatorResetAction, actor) -> dict:
        return {"devices_removed": reset_authenticators(user=action.user, actor=actor, request=request)}
