"""Who may call the API.

Two kinds of callers (``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``):

- integration clients with a bearer token: bounded by their client's scopes
  (:class:`TokenHasScope`, the view's ``required_scope``); model permissions do not apply;
- people signed in with a session (the browsable docs): bounded by model permissions
  (:class:`CanViewModels`), and they cannot write — people use the workflow screens
  (:class:`TokenRequired`).

Which approval requests a caller sees is decided by a selector, not here: object permissions
do not run on list views.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from reserve.api.authentication import api_token


class TokenHasScope(BasePermission):
    """A token call needs ``view.required_scope`` among its client's scopes."""

    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        token = api_token(request)
        if token is None:
            return True
        scope = getattr(view, "required_scope", None)
        if not scope:
            raise ImproperlyConfigured(f"{type(view).__name__} must name its required_scope.")
        if token.client.has_scope(scope):
            return True
        self.message = _("This token lacks the scope %(scope)s; its client has: %(scopes)s.") % {
            "scope": scope,
            "scopes": ", ".join(token.client.scopes) or _("no scopes"),
        }
        return False


class CanViewModels(BasePermission):
    """Allow session users holding the ``view`` permission of every model in ``view.view_models``.

    The read-only counterpart of ``DjangoModelPermissions``: auditors and every role granted
    ``reserve.view_*`` may read; an authenticated user without it gets 403. The check runs for
    every method, so a write to a read-only endpoint answers 405 only to those who may read.
    Token calls are bounded by scopes instead (:class:`TokenHasScope`).
    """

    def has_permission(self, request, view) -> bool:
        models = getattr(view, "view_models", ())
        if not models:
            raise ImproperlyConfigured(f"{type(view).__name__} must name its view_models.")
        if api_token(request) is not None:
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perms([f"{model._meta.app_label}.view_{model._meta.model_name}" for model in models])


class TokenRequired(BasePermission):
    """Changes through the API are made by integration clients only."""

    def has_permission(self, request, view) -> bool:
        if api_token(request) is not None:
            return True
        self.message = _(
            "Changes through the API need an integration client's bearer token; "
            "people make and decide requests in the workflow screens."
        )
        return False
