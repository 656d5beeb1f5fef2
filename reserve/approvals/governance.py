"""Who decides: approval policies, approver memberships and governed settings.

These change only when an approved ``reserve.policy_change``, ``reserve.approver_change`` or
``reserve.setting_change`` request executes; the request kinds in :mod:`reserve.kinds.governance`
call these services. Each write keeps its history (who, through which request) and writes its
audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve.approvals.registry import MatchFacts
from reserve.audit import record_event, request_source
from reserve.models import ApprovalPolicy, ApproverMembership, Asset, GovernedSetting, PolicyTier

#: The kind that changes policies: some policy must always be able to govern it.
POLICY_CHANGE = "reserve.policy_change"


def active_approver_count(group: Group, *, without: tuple[int, int] | None = None) -> int:
    """Active approvers in ``group``, leaving out ``without`` = (user id, group id) if given."""
    qs = ApproverMembership.objects.filter(group=group, revoked_at__isnull=True, user__is_active=True)
    if without is not None:
        qs = qs.exclude(user_id=without[0], group_id=without[1])
    return qs.count()


def ensure_governance_possible() -> None:
    """Refuse a state in which policy changes could never again be approved."""
    from reserve.approvals.services import ApprovalError, match_policy

    try:
        policy = match_policy(POLICY_CHANGE, MatchFacts())
    except ApprovalError:
        raise ValidationError(_("After this change no policy would govern policy changes; refused."))
    for tier in policy.tiers.select_related("group"):
        if active_approver_count(tier.group) < tier.required:
            raise ValidationError(
                _("After this change policy changes could never again be approved; refused.")
            )


@transaction.atomic
def save_policy(
    *,
    policy_id: int | None,
    name: str,
    priority: int,
    is_active: bool,
    kind: str,
    asset: Asset | None,
    min_units: int | None,
    max_units: int | None,
    valuation_currency: str,
    min_valuation: Decimal | None,
    max_valuation: Decimal | None,
    source_category: str,
    destination_category: str,
    maker_may_approve: bool,
    expires_after: dt.timedelta,
    requires_second_factor: bool,
    tiers: list[tuple[str, int]],
    actor,
    request=None,
) -> ApprovalPolicy:
    """Create the policy (``policy_id`` None) or replace policy ``policy_id``'s rules and tiers
    ``[(group name, required), ...]``, raising its version. Refused (nothing written) when
    policy changes could then never again be approved."""
    values = {
        "name": name,
        "priority": priority,
        "is_active": is_active,
        "kind": kind,
        "asset": asset,
        "min_units": min_units,
        "max_units": max_units,
        "valuation_currency": valuation_currency,
        "min_valuation": min_valuation,
        "max_valuation": max_valuation,
        "source_category": source_category,
        "destination_category": destination_category,
        "maker_may_approve": maker_may_approve,
        "expires_after": expires_after,
        "requires_second_factor": requires_second_factor,
    }
    if policy_id is None:
        policy = ApprovalPolicy(**values)
    else:
        policy = ApprovalPolicy.objects.select_for_update().get(pk=policy_id)
        for field, value in values.items():
            setattr(policy, field, value)
        policy.version += 1
    policy._history_user = actor
    policy.save()
    PolicyTier.objects.filter(policy=policy).delete()
    for position, (group_name, required) in enumerate(tiers, start=1):
        PolicyTier.objects.create(
            policy=policy, position=position, group=Group.objects.get(name=group_name), required=required
        )
    ensure_governance_possible()
    record_event(
        action="reserve.policy.created" if policy_id is None else "reserve.policy.changed",
        actor=actor,
        subject=policy,
        data={
            "version": policy.version,
            "tiers": [[group_name, required] for group_name, required in tiers],
            **request_source(request),
        },
    )
    return policy


@transaction.atomic
def grant_approver(*, user, group: Group, actor, request=None) -> ApproverMembership:
    """Make ``user`` an approver in ``group`` (a membership row and the Django group)."""
    membership = ApproverMembership.objects.create(
        user=user, group=group, granted_at=timezone.now(), granted_by_request=request
    )
    user.groups.add(group)
    record_event(
        action="reserve.approvers.granted",
        actor=actor,
        subject=membership,
        data={"user": user.get_username(), "group": group.name, **request_source(request)},
    )
    return membership


@transaction.atomic
def revoke_approver(*, user, group: Group, actor, request=None) -> ApproverMembership:
    """End ``user``'s active membership in ``group``; the row stays as the record of it."""
    membership = ApproverMembership.objects.select_for_update().get(
        user=user, group=group, revoked_at__isnull=True
    )
    membership.revoked_at = timezone.now()
    membership.revoked_by_request = request
    membership.save(update_fields=["revoked_at", "revoked_by_request"])
    user.groups.remove(group)
    record_event(
        action="reserve.approvers.revoked",
        actor=actor,
        subject=membership,
        data={"user": user.get_username(), "group": group.name, **request_source(request)},
    )
    return membership


@transaction.atomic
def change_setting(*, key: str, value: int, actor, request=None) -> GovernedSetting:
    """Set governed setting ``key`` (see :mod:`reserve.settings_governed`) to ``value``."""
    before = GovernedSetting.objects.filter(key=key).values_list("value", flat=True).first()
    setting, _created = GovernedSetting.objects.update_or_create(
        key=key, defaults={"value": value, "changed_at": timezone.now(), "changed_by_request": request}
    )
    record_event(
        action="reserve.setting.changed",
        actor=actor,
        subject=setting,
        data={"key": key, "before": before, "after": value, **request_source(request)},
    )
    return setting
