"""The admin toolkit every app's admin builds on: links, read-only and history-guarded base
classes, registry filters and kind labels.

Importing this module registers nothing, so ``intake`` and ``mining`` import it freely; the
screens of the reserve itself are registered by the other modules of ``reserve.admin``.
"""

from __future__ import annotations

import json
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from reserve.approvals.registry import UnknownKind, get_kind, kind_label
from reserve.models import ApprovalRequest

__all__ = [
    "GuardedHistoryAdmin",
    "ReadOnlyAdminMixin",
    "ReadOnlyHistoryAdmin",
    "ReadOnlyInline",
    "admin_link",
    "kind_label",
    "policy_kind_label",
    "pretty_json",
    "registry_filter",
    "request_link",
    "workflow_request_path",
]


def admin_link(obj: Model | None, text: object = None) -> str:
    """A link to ``obj``'s admin change page, or its text when it has none."""
    if obj is None:
        return "—"
    opts = obj._meta
    label = obj if text is None else text
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(label)
    return format_html('<a href="{}">{}</a>', url, label)


def pretty_json(value: object) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    return format_html("<pre>{}</pre>", text)


def workflow_request_path(made: ApprovalRequest) -> str:
    """The approvers' page of a request, in the workflow screens outside the admin."""
    return f"{get_script_prefix()}workflow/requests/{made.pk}/"


def request_link(made: ApprovalRequest | None, *, none: object = "—") -> str:
    return admin_link(made, made.reference) if made is not None else str(none)


def policy_kind_label(kind: str) -> str:
    """The kind a policy applies to, with its code ("Any kind" when it names none); a kind no
    longer registered shows its code alone."""
    if not kind:
        return str(_("Any kind"))
    try:
        return f"{get_kind(kind).label} ({kind})"
    except UnknownKind:
        return kind


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """``SimpleHistoryAdmin`` that cannot be used to write past the permissions.

    simple-history's version page (``<pk>/history/<version>/``) saves the old version on a POST
    from anyone who may *view* the object: lacking change permission, or with
    ``SIMPLE_HISTORY_REVERT_DISABLED``, only the "Revert" button is hidden. Here that POST is
    refused unless the admin allows reverting (``allow_revert``) and the user may change the
    object. Users who may only view see the version read-only instead of as editable inputs.
    """

    allow_revert = False

    def revert_disabled(self, request, obj=None) -> bool:
        return (
            not self.allow_revert
            or not self.has_change_permission(request, obj)
            or super().revert_disabled(request, obj)
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            obj = self.get_object(request, unquote(object_id))
            if self.revert_disabled(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            shown = flatten_fieldsets(self.fieldsets) if self.fieldsets else self.fields or []
            readonly += [name for name in shown if name not in readonly]
        return readonly


class ReadOnlyAdminMixin:
    """Nobody, superusers included, adds, changes or deletes these rows in the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyHistoryAdmin(ReadOnlyAdminMixin, GuardedHistoryAdmin):
    """Ledger rows: viewable with their history, never written from the admin."""

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets) if self.fieldsets else list(self.fields or ())


class WrittenOnce:
    """The one line of an insert-only row's history page, in the shape of Django's history
    template (``action_time``, ``user``, ``get_change_message``)."""

    def __init__(self, *, action_time: datetime, user: Any, message: str) -> None:
        self.action_time = action_time
        self.user = user
        self.message = message

    def get_change_message(self) -> str:
        return self.message


class InsertOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows written once and never changed (journal entries, postings) are their own history:
    the history page shows that one write, read from the row (when and by whom), instead of a
    second history row stored per insert. ``written_at`` and ``written_by`` name the row's
    attributes (dotted paths allowed: a posting is written with its entry)."""

    written_at: str = ""
    written_by: str = ""
    written_message = _("Posted. The ledger refuses every change and deletion of posted rows.")

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets) if self.fieldsets else list(self.fields or ())

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        written = WrittenOnce(
            action_time=attrgetter(self.written_at)(obj),
            user=attrgetter(self.written_by)(obj),
            message=str(self.written_message),
        )
        paginator = self.get_paginator(request, [written], 100)
        page = paginator.get_page(1)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change history: %s") % obj,
            "subtitle": None,
            "action_list": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "pagination_required": False,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/object_history.html", context)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())


def registry_filter(title, field: str, entries):
    """A list filter over the codes of a registry (posting reasons, request kinds): apps
    register them at start-up, so the choices are not model field choices."""

    class RegistryFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(entry.code, entry.label) for entry in entries()]

        def queryset(self, request, queryset):
            if self.value():
                return queryset.filter(**{field: self.value()})
            return queryset

    RegistryFilter.title = title
    return RegistryFilter
