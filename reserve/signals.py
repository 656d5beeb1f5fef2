"""Deactivating a user ends their approval power for good.

The engine already ignores inactive users; revoking their memberships as well means that
re-activating the account (in the admin, say) does not quietly restore approval power: that
takes a new ``reserve.approver_change`` request. The revocation itself is a database trigger
(:func:`reserve.dbguards.deactivation_revokes_sql`), so a bulk ``update(is_active=False)`` or
raw SQL revokes too; these signals add the audit event where the application saves a user.
"""

from django.db.models.signals import post_save, pre_save
from django.utils import timezone


def remember_active_flag(sender, instance, **kwargs) -> None:
    from reserve.models import ApproverMembership

    if instance.pk is None:
        instance._was_active = instance.is_active
        instance._approver_groups = []
        return
    instance._was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    instance._approver_groups = (
        list(
            ApproverMembership.objects.filter(user=instance, revoked_at__isnull=True).values_list(
                "group__name", flat=True
            )
        )
        if instance._was_active and not instance.is_active
        else []
    )


def revoke_memberships_of_deactivated(sender, instance, created, **kwargs) -> None:
    from reserve.audit import record_event
    from reserve.models import ApproverMembership

    if created or instance.is_active or not getattr(instance, "_was_active", False):
        return
    # The trigger has revoked them already; this catches a database without it (belt and braces).
    ApproverMembership.objects.filter(user=instance, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    groups = getattr(instance, "_approver_groups", [])
    if groups:
        record_event(
            action="reserve.approvers.revoked_on_deactivation",
            subject=instance,
            data={"groups": sorted(groups)},
        )


def connect() -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    pre_save.connect(remember_active_flag, sender=User, dispatch_uid="reserve.remember_active_flag")
    post_save.connect(
        revoke_memberships_of_deactivated, sender=User, dispatch_uid="reserve.revoke_on_deactivation"
    )
