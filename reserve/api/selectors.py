"""Reads of the requests API."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from reserve import roles
from reserve.models import ApprovalRequest, Decision, PolicyTier
from reserve.services.approvals import approver_group_ids


def requests_visible_to(user) -> QuerySet[ApprovalRequest]:
    """The requests ``user`` may read: those they made, those they can decide (they are an
    approver in a group the request's policy names) or decided; auditors read all."""
    qs = ApprovalRequest.objects.select_related("maker", "asset")
    if user.is_superuser or user.groups.filter(name=roles.AUDITOR).exists():
        return qs
    condition = Q(maker=user) | Exists(Decision.objects.filter(request=OuterRef("pk"), approver=user))
    groups = approver_group_ids(user)
    if groups:
        condition |= Exists(PolicyTier.objects.filter(policy=OuterRef("policy"), group_id__in=groups))
    return qs.filter(condition)


def request_detail(queryset: QuerySet[ApprovalRequest], pk: int) -> ApprovalRequest:
    """One request with what its detail shows, fetched in a fixed number of queries."""
    return (
        queryset.select_related("policy")
        .prefetch_related("policy__tiers__group", "decisions__approver")
        .get(pk=pk)
    )
