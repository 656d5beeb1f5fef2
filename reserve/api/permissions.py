"""Who may call the API.

Authentication is whatever ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`` lists (session
today; a token class for integration clients is added there, not in the views).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission


class CanViewModels(BasePermission):
    """Allow users holding the ``view`` permission of every model in ``view.view_models``.

    The read-only counterpart of ``DjangoModelPermissions``: auditors and every role granted
    ``reserve.view_*`` may read; an authenticated user without it gets 403. The check runs for
    every method, so a write to a read-only endpoint answers 405 only to those who may read.
    """

    def has_permission(self, request, view) -> bool:
        models = getattr(view, "view_models", ())
        if not models:
            raise ImproperlyConfigured(f"{type(view).__name__} must name its view_models.")
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perms([f"{model._meta.app_label}.view_{model._meta.model_name}" for model in models])
