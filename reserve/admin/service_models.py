"""Service model admins: admin pages of rows that are added only through a service, so the admin
keeps the same rules as every other entry point (intake's and mining's records).

A :class:`ServiceModelForm` is a model form whose save is a service call, ``run(actor=...,
dry_run=...)``: ``clean`` runs it in a savepoint that is rolled back (``dry_run=True``), so the
service's refusals show next to the fields, and :class:`ServiceModelAdmin` runs it for real in
``save_model`` (``dry_run=False``). A saved row is shown read-only and never deleted here.

Unlike :class:`~reserve.admin.service_forms.ServiceForm` (a plain form behind a button, for one-off
writes such as a manual price), these forms are the add page of their model. Importing this module
registers nothing, so other apps' admins import it freely.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction

from reserve.admin.base import GuardedHistoryAdmin

__all__ = ["ServiceModelAdmin", "ServiceModelForm", "add_service_error", "pick"]


def add_service_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Puts a service's refusal on ``form``: on the fields it names that the form has, the rest
    (and a refusal that names no field) on the form as a whole."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def pick(cleaned: dict, *names: str) -> dict:
    """The named values of a form's cleaned data (``None`` for those it lacks)."""
    return {name: cleaned.get(name) for name in names}


class ServiceModelForm(forms.ModelForm):
    """A model form whose save is a service call. ``run(actor=..., dry_run=...)`` calls it;
    ``dry_run`` is true inside the rolled-back check, where nothing outside the database (a
    stored file, for example) may be written.

    On a saved row's page the service runs again only if ``runs_on_change`` (the row may then
    still be completed, as a mining epoch's start time); otherwise a post is not checked unless
    ``checks_on_change``, and then the service judges the page's (read-only, so empty) input.
    """

    actor = None
    runs_on_change = False
    checks_on_change = False

    def run(self, *, actor, dry_run: bool):
        raise NotImplementedError

    def _post_clean(self):
        # The service validates (and builds) the row; the model's own validation would judge
        # raw input such as "0.5" BTC before the service parses it.
        pass

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk is not None and not (self.runs_on_change or self.checks_on_change):
            return cleaned
        try:
            with transaction.atomic():
                self.run(actor=self.actor, dry_run=True)
                transaction.set_rollback(True)
        except ValidationError as exc:
            self.add_service_error(exc)
        return cleaned

    def add_service_error(self, exc: ValidationError) -> None:
        add_service_error(self, exc)


class ServiceModelAdmin(GuardedHistoryAdmin):
    """Adds through ``form.run`` (a :class:`ServiceModelForm`, given the signed-in user as its
    ``actor``); an existing row is shown read-only and saved again only if its form
    ``runs_on_change``; nothing is deleted."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return super().get_readonly_fields(request, obj)
        return [*self.get_fields(request, obj), *super().get_readonly_fields(request, obj)]

    def save_model(self, request, obj, form, change):
        if change and not form.runs_on_change:
            return
        saved = form.run(actor=request.user, dry_run=False)
        obj.__dict__.update(saved.__dict__)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
