"""Django users and groups, approver memberships and authenticators: no approval power here.

Approver memberships are read-only and change only through approved requests; Django's approver
groups cannot be edited in the user admin, so that they stay in step with the memberships the
engine counts.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve import roles
from reserve.admin.base import ReadOnlyHistoryAdmin, request_link
from reserve.admin.forms import (
    ApproverGrantForm,
    ApproverGroupsGuardedUserChangeForm,
    ApproverRevokeForm,
    AuthenticatorResetForm,
)
from reserve.admin.proposals import Proposal, ProposalAdminMixin
from reserve.models import (
    ApprovalRequest,
    ApproverMembership,
    RequestStatus,
)


class ApproverGroupFilter(admin.SimpleListFilter):
    title = _("approver group")
    parameter_name = "group"

    def lookups(self, request, model_admin):
        return [(name, name) for name in roles.APPROVER_ROLES]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(group__name=self.value())
        return queryset


def _membership_is_current(membership: ApproverMembership) -> bool:
    return membership.revoked_at is None


@admin.register(ApproverMembership)
class ApproverMembershipAdmin(ProposalAdminMixin, ReadOnlyHistoryAdmin):
    list_display = ("user", "group", "counts_now", "granted_at", "granted_by", "revoked_at", "revoked_by")
    list_filter = (ApproverGroupFilter, ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user", "group", "granted_by_request", "revoked_by_request")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    date_hierarchy = "granted_at"
    fields = ("user", "group", "counts_now", "granted_at", "granted_by", "revoked_at", "revoked_by")
    proposals = (
        Proposal("grant", _("Propose granting approval power"), ApproverGrantForm),
        Proposal(
            "revoke",
            _("Propose revoking approval power"),
            ApproverRevokeForm,
            on_row=True,
            applies=_membership_is_current,
            action_label=_("Propose revoking the selected approval power"),
        ),
    )

    @admin.display(description=_("counts now"), boolean=True)
    def counts_now(self, obj: ApproverMembership) -> bool:
        return obj.revoked_at is None and obj.user.is_active

    @admin.display(description=_("granted by"))
    def granted_by(self, obj: ApproverMembership) -> str:
        return request_link(obj.granted_by_request, none=_("one-time bootstrap"))

    @admin.display(description=_("revoked by"))
    def revoked_by(self, obj: ApproverMembership) -> str:
        return request_link(obj.revoked_by_request)


User = get_user_model()


def _membership_lines(memberships) -> str:
    return format_html_join(
        "",
        "<li>{} — {} {} ({})</li>",
        (
            (
                m.group.name,
                _("granted"),
                m.granted_at,
                request_link(m.granted_by_request, none=_("one-time bootstrap")),
            )
            for m in memberships
        ),
    )


class ReserveUserAdmin(ProposalAdminMixin, auth_admin.UserAdmin):
    """Django's user admin, plus the approval power the engine counts (read-only) and a form
    that refuses edits of approver groups."""

    form = ApproverGroupsGuardedUserChangeForm
    readonly_fields = ("approval_power",)
    proposals = (
        Proposal(
            "replace-authenticator",
            _("Propose replacing the authenticator"),
            AuthenticatorResetForm,
            on_row=True,
            applies=lambda user: user.is_active,
        ),
    )
    fieldsets = (*auth_admin.UserAdmin.fieldsets, (_("Approval power"), {"fields": ("approval_power",)}))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._named_by_the_engine(obj):
            readonly.append("username")
        return readonly

    @staticmethod
    def _named_by_the_engine(user) -> bool:
        """Approver-change requests name users by username: renaming an approver, or a user
        named in a pending request, could make an approved request act on someone else."""
        pending = ApprovalRequest.objects.filter(
            kind__in=["reserve.approver_change", "reserve.authenticator_reset"],
            status=RequestStatus.PENDING,
            payload__user=user.get_username(),
        )
        return user.approver_memberships.exists() or pending.exists()

    @admin.display(description=_("active approver memberships"))
    def approval_power(self, obj) -> str:
        memberships = list(
            obj.approver_memberships.filter(revoked_at__isnull=True)
            .select_related("group", "granted_by_request")
            .order_by("group__name")
        )
        listing = format_html("<ul>{}</ul>", _membership_lines(memberships)) if memberships else _("None.")
        note = _("Approval power is granted and revoked only through approved requests.")
        inactive = (
            ""
            if obj.is_active
            else format_html(" <strong>{}</strong>", _("This user is deactivated: none of it counts."))
        )
        grant = reverse("admin:reserve_approvermembership_propose", args=["grant"])
        return format_html(
            '{}<p class="help">{}{} <a href="{}?{}">{}</a></p>',
            listing,
            note,
            inactive,
            grant,
            urlencode({"user": obj.get_username()}),
            _("Propose granting approval power"),
        )


class ReserveGroupAdmin(auth_admin.GroupAdmin):
    """Role groups keep their names and are never deleted; approver groups show the approvers
    the engine counts, which only approved requests change."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in roles.ROLE_DESCRIPTIONS:
            readonly.append("name")
        if obj is not None and obj.name in roles.APPROVER_ROLES:
            readonly.append("approvers")
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name in roles.ROLE_DESCRIPTIONS:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        role_groups = [str(group) for group in objs if group.name in roles.ROLE_DESCRIPTIONS]
        return deleted, counts, perms_needed, [*protected, *role_groups]

    @admin.display(description=_("approvers counted by the engine"))
    def approvers(self, obj: Group) -> str:
        memberships = list(
            ApproverMembership.objects.filter(group=obj, revoked_at__isnull=True)
            .select_related("user", "granted_by_request")
            .order_by("user__username")
        )
        listing = format_html_join(
            "",
            "<li>{} ({})</li>",
            (
                (m.user.get_username(), request_link(m.granted_by_request, none=_("one-time bootstrap")))
                for m in memberships
            ),
        )
        return format_html(
            '<ul>{}</ul><p class="help">{}</p>',
            listing,
            _(
                "Approval power is granted and revoked only through approved requests; members added "
                "to this group elsewhere would count for nothing."
            ),
        )


for _model, _model_admin in ((User, ReserveUserAdmin), (Group, ReserveGroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)

# Authenticators are enrolled only by their owner on the workflow screens: an admin who could
# add a device (with a key of their choosing) to an approver could decide in their name.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
