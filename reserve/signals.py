"""Deactivating a user ends their approval power for good.

The engine already ignores inactive users; revoking their memberships as well means that
re-activating the account (in the admin, say) does not quietly restore approval power: that
takes a new ``reserve.approver_change`` request.
"""

from django.db.models.signals import post_save, pre_save
from django.utils import timezone


def remember_active_flag(sender, instance, **kwargs) -> None:
    if instance.pk is None:
        instance._was_active = instance.is_active
        return
    instance._was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


def revoke_memberships_of_deactivated(sender, instance, created, **kwargs) -> None:
    from reserve.audit import record_event
    from reserve.models import ApproverMembership

    if created or instance.is_active or not getattr(instance, "_was_active", False):
        return
    memberships = list(
        ApproverMembership.objects.filter(user=instance, revoked_at__isnull=True).select_related("group")
    )
    if not memberships:
        return
    now = timezone.now()
    for membership in memberships:
        membership.revoked_at = now
        membership.save(update_fields=["revoked_at"])
    record_event(
        action="reserve.approvers.revoked_on_deactivation",
        subject=instance,
        data={"groups": [m.group.name for m in memberships]},
    )


def connect() -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    pre_save.connect(remember_active_flag, sender=User, dispatch_uid="reserve.remember_active_flag")
    post_save.connect(
        revoke_memberships_of_deactivated, sender=User, dispatch_uid="reserve.revoke_on_deactivation"
    )
