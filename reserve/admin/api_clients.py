"""Admin screens of the integration clients: clients and their scopes, tokens (issued, rotated
and revoked by actions that show a new token once), the call log and stored idempotent replies.

Every change goes through :mod:`reserve.api.clients`, which writes the audit journal.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from reserve.admin.base import ReadOnlyAdminMixin
from reserve.api.clients import (
    DEFAULT_TOKEN_LIFETIME,
    IssuedToken,
    create_client,
    issue_token,
    revoke_client,
    revoke_token,
    rotate_token,
    set_client_scopes,
)
from reserve.models import ApiCallLog, ApiClient, ApiToken, IdempotencyRecord, Scope

User = get_user_model()


def _show_once(request, issued: IssuedToken) -> None:
    messages.warning(
        request,
        format_html(
            "{} <code>{}</code> — {}",
            _("New token for %(client)s, valid until %(until)s:")
            % {
                "client": issued.token.client.name,
                "until": issued.token.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            },
            issued.secret,
            _("copy it now: it is shown only this once and cannot be recovered."),
        ),
    )


def _refusal(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    acts_as = forms.ModelChoiceField(
        label=_("acts as"),
        queryset=User.objects.filter(is_active=True, api_client__isnull=True),
        required=False,
        help_text=_(
            "Leave blank to create a service user for the client. Choose a person (e.g. an approver "
            "deciding from another system) to make the client act as them."
        ),
    )

    class Meta:
        model = ApiClient
        fields = ["name", "description", "scopes"]


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fk_name = "client"
    fields = ["prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    form = ApiClientForm
    list_display = ["name", "user", "scope_list", "is_active", "created_at", "revoked_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "user__username", "description"]
    date_hierarchy = "created_at"
    inlines = [ApiTokenInline]
    actions = ["issue_token_action", "revoke_client_action"]

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes) or "—"

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "description", "acts_as", "scopes"]
        return [
            "name",
            "user",
            "description",
            "scopes",
            "is_active",
            "created_at",
            "created_by",
            "revoked_at",
            "revoked_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = ["name", "user", "is_active", "created_at", "created_by", "revoked_at", "revoked_by"]
        if obj.revoked_at is not None or not self.has_change_permission(request, obj):
            readonly += ["description", "scopes"]
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["fields"] = [
                f for f in ["description", "scopes"] if f not in self.get_readonly_fields(request, obj)
            ]
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: ApiClient, form, change: bool) -> None:
        try:
            if not change:
                created = create_client(
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    user=form.cleaned_data.get("acts_as"),
                    description=form.cleaned_data.get("description", ""),
                    actor=request.user,
                )
                for field in created._meta.concrete_fields:
                    setattr(obj, field.attname, getattr(created, field.attname))
                obj._state.adding = False
                obj._state.db = created._state.db
                return
            if "scopes" in form.cleaned_data:
                set_client_scopes(client=obj, scopes=form.cleaned_data["scopes"], actor=request.user)
            if "description" in form.changed_data:
                obj._history_user = request.user
                obj.save(update_fields=["description"])
        except ValidationError as exc:
            # The form's validation passed; a refusal here means the state changed meanwhile.
            raise PermissionDenied(" ".join(exc.messages))

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Old versions are for reading: a revert would bypass the services and the audit journal.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    @admin.action(
        description=_("Issue a new token (valid %(days)d days)") % {"days": DEFAULT_TOKEN_LIFETIME.days},
        permissions=["change"],
    )
    def issue_token_action(self, request, queryset) -> None:
        for client in queryset:
            try:
                _show_once(
                    request, issue_token(client, expires_in=DEFAULT_TOKEN_LIFETIME, actor=request.user)
                )
            except ValidationError as exc:
                _refusal(request, exc)

    @admin.action(description=_("Revoke the client and all its tokens"), permissions=["change"])
    def revoke_client_action(self, request, queryset) -> None:
        count = 0
        for client in queryset:
            revoke_client(client, actor=request.user)
            count += 1
        messages.success(
            request, ngettext("%(n)d client revoked.", "%(n)d clients revoked.", count) % {"n": count}
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued from the client's page (action); here they are rotated and revoked."""

    list_display = ["prefix", "client", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["client", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "client__name"]
    date_hierarchy = "created_at"
    fields = [
        "client",
        "prefix",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "replaces",
        "last_used_at",
    ]
    readonly_fields = fields
    actions = ["rotate_token_action", "revoke_token_action"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions need it; the page itself is read-only (every field is).
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(
        description=_("Rotate: issue a replacement and revoke these tokens"), permissions=["change"]
    )
    def rotate_token_action(self, request, queryset) -> None:
        for token in queryset.select_related("client"):
            try:
                _show_once(request, rotate_token(token, actor=request.user))
            except ValidationError as exc:
                _refusal(request, exc)

    @admin.action(description=_("Revoke these tokens"), permissions=["change"])
    def revoke_token_action(self, request, queryset) -> None:
        count = 0
        for token in queryset:
            revoke_token(token, actor=request.user)
            count += 1
        messages.success(
            request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count}
        )


@admin.register(ApiCallLog)
class ApiCallLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "at",
        "client",
        "token_prefix",
        "method",
        "path",
        "status",
        "duration_ms",
        "idempotency_key",
    ]
    list_filter = ["client", "method", "status"]
    search_fields = ["path", "token_prefix", "idempotency_key"]
    date_hierarchy = "at"
    list_select_related = ["client"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "client", "user", "method", "path", "status_code", "created_at", "expires_at"]
    list_filter = ["client", "method", "status_code"]
    search_fields = ["key", "path"]
    date_hierarchy = "created_at"
    list_select_related = ["client", "user"]
    fields = [
        "key",
        "client",
        "user",
        "method",
        "path",
        "fingerprint",
        "status_code",
        "response_body",
        "response_headers",
        "created_at",
        "completed_at",
        "expires_at",
    ]
