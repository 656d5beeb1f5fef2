"""Service forms: how an admin page offers a write that a service makes at once (a manual
price, an observation, an explanation), unlike a proposal, which the approval engine decides.

A :class:`ServiceForm` only parses types and calls its one service with the signed-in user; the
service's :class:`~django.core.exceptions.ValidationError` is put back on the form, so a refusal
is a form error, never a server error. Each form needs one model permission (e.g.
``reserve.add_quote``), checked on every GET and POST.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class ServiceForm(forms.Form):
    """Base of the forms that call one service. Subclasses declare the fields and :meth:`submit`."""

    title: ClassVar[str | Promise]
    intro: ClassVar[str | Promise] = ""
    done_message: ClassVar[str | Promise] = _("Recorded: %(obj)s.")

    def __init__(self, data=None, *, instance=None, initial=None) -> None:
        self.instance = instance
        super().__init__(data, initial=initial)
        for field in self.fields.values():
            field.label = capfirst(field.label)

    def submit(self, *, actor) -> Model:
        raise NotImplementedError

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)

    def has_errors(self) -> bool:
        return bool(self.errors)


@dataclass(frozen=True)
class ServiceAction:
    """A button that opens a service form: on the list page, or (``on_row``) on the page of the
    row it is about, where ``action_label`` also offers it as an admin action."""

    slug: str
    label: object
    form: type[ServiceForm]
    permission: str
    on_row: bool = False
    applies: Callable[[Model], bool] | None = None
    action_label: object = None


class ServiceFormAdminMixin:
    """Adds service forms to an admin: ``do/<slug>/`` and ``<pk>/do/<slug>/``. The links are
    shown with the proposals' object tools (``proposal_links``)."""

    service_actions: tuple[ServiceAction, ...] = ()
    service_template = "admin/reserve/service_form.html"

    def _service_url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        view = self.admin_site.admin_view(self.service_view)
        return [
            path("do/<slug:slug>/", view, name=self._service_url_name("do")),
            path("<path:object_id>/do/<slug:slug>/", view, name=self._service_url_name("do_row")),
            *super().get_urls(),
        ]

    def service_url(self, action: ServiceAction, obj: Model | None = None) -> str:
        if action.on_row:
            return reverse(f"admin:{self._service_url_name('do_row')}", args=[obj.pk, action.slug])
        return reverse(f"admin:{self._service_url_name('do')}", args=[action.slug])

    def service_links(self, request, obj: Model | None = None) -> list[tuple[str, object]]:
        return [
            (self.service_url(action, obj), action.label)
            for action in self.service_actions
            if action.on_row == (obj is not None)
            and request.user.has_perm(action.permission)
            and (obj is None or action.applies is None or action.applies(obj))
        ]

    def changelist_view(self, request, extra_context=None):
        context = {"proposal_links": self.service_links(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        links = self.service_links(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {"proposal_links": links, **(extra_context or {})}
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in self.service_actions:
            if action.on_row and action.action_label and request.user.has_perm(action.permission):
                name = f"do_{action.slug}"
                actions[name] = (self._row_action(action), name, action.action_label)
        return actions

    def _row_action(self, service_action: ServiceAction):
        def action(modeladmin, request, queryset):
            rows = list(queryset[:2])
            if len(rows) != 1:
                modeladmin.message_user(request, _("Select exactly one row."), messages.WARNING)
                return None
            return HttpResponseRedirect(modeladmin.service_url(service_action, rows[0]))

        return action

    def service_view(self, request, slug: str, object_id: str | None = None):
        on_row = object_id is not None
        action = next((a for a in self.service_actions if a.slug == slug and a.on_row == on_row), None)
        if action is None:
            raise Http404
        obj = self.get_object(request, unquote(object_id)) if on_row else None
        if on_row and obj is None:
            raise Http404
        if not request.user.has_perm(action.permission):
            raise PermissionDenied
        back = (
            reverse(f"admin:{self._service_url_name('change')}", args=[obj.pk])
            if obj is not None
            else reverse(f"admin:{self._service_url_name('changelist')}")
        )
        if obj is not None and action.applies is not None and not action.applies(obj):
            self.message_user(request, _("This does not apply to %(obj)s.") % {"obj": obj}, messages.WARNING)
            return HttpResponseRedirect(back)
        if request.method == "POST":
            form = action.form(request.POST, instance=obj)
            if form.is_valid():
                try:
                    made = form.submit(actor=request.user)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    self.message_user(request, form.done_message % {"obj": made}, messages.SUCCESS)
                    return HttpResponseRedirect(back)
        else:
            form = action.form(instance=obj)
        context = {
            **self.admin_site.each_context(request),
            "title": form.title,
            "intro": form.intro,
            "opts": self.opts,
            "original": obj,
            "form": form,
            "back": back,
            "media": self.media + form.media,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.service_template, context)
