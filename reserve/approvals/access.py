"""Who may make approval requests and who may see them: one rule for every entry point.

The workflow screens, the admin, the REST API and the engine itself ask these functions; none
keeps a list of its own. Seeing a request gives no power to decide it (the engine counts
approver memberships for that), and making one gives no power to approve it.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from reserve import roles
from reserve.models import ApprovalRequest, ApproverMembership, Decision, PolicyTier

#: Roles whose members may propose requests: the clerks of both streams, the approvers (a
#: custody officer may propose a transfer others approve) and integration clients (the API).
MAKER_ROLES = (
    roles.INTAKE_CLERK,
    roles.MINING_CLERK,
    roles.CUSTODY_OFFICER,
    roles.TREASURY_OFFICER,
    roles.BOARD_MEMBER,
    roles.INTEGRATION_CLIENT,
)

#: Roles that read every request (and change nothing).
READ_ALL_ROLES = (roles.AUDITOR,)


def _role_names(user) -> set[str]:
    cached = getattr(user, "_reserve_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._reserve_role_names = cached
    return cached


def may_make_requests(user) -> bool:
    """Active people holding a maker role; superusers too (making gives no power to approve)."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return bool(_role_names(user) & set(MAKER_ROLES))


def may_make_kind(user, kind) -> bool:
    """Whether ``user`` may make requests of ``kind`` (a registered request kind): a maker role,
    and one of the kind's ``maker_roles`` when it names any. Superusers pass, as for
    :func:`may_make_requests` (making gives no power to approve)."""
    if not may_make_requests(user):
        return False
    allowed = getattr(kind, "maker_roles", None)
    if allowed is None or user.is_superuser:
        return True
    return bool(_role_names(user) & set(allowed))


def reads_every_request(user) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or bool(_role_names(user) & set(READ_ALL_ROLES)))
    )


def active_memberships() -> QuerySet[ApproverMembership]:
    return ApproverMembership.objects.filter(revoked_at__isnull=True, user__is_active=True)


def approver_group_ids(user) -> set[int]:
    """The approver groups ``user`` currently sits in (explicit memberships, not Django groups)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(active_memberships().filter(user=user).order_by().values_list("group_id", flat=True))


def requests_visible_to(user) -> QuerySet[ApprovalRequest]:
    """The requests ``user`` may read: those they made, those they can decide (an approver in a
    group the request's policy names) or decided; auditors and superusers read all."""
    qs = ApprovalRequest.objects.select_related("maker", "asset")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if reads_every_request(user):
        return qs
    condition = Q(maker=user) | Exists(Decision.objects.filter(request=OuterRef("pk"), approver=user))
    groups = approver_group_ids(user)
    if groups:
        condition |= Exists(PolicyTier.objects.filter(policy=OuterRef("policy"), group_id__in=groups))
    return qs.filter(condition)


def may_view_request(user, approval: ApprovalRequest) -> bool:
    return requests_visible_to(user).filter(pk=approval.pk).exists()
