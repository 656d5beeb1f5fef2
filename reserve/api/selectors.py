"""Reads of the requests API."""

from __future__ import annotations

from django.db.models import QuerySet

from reserve.models import ApprovalRequest


def request_detail(queryset: QuerySet[ApprovalRequest], pk: int) -> ApprovalRequest:
    """One request with what its detail shows, fetched in a fixed number of queries."""
    return (
        queryset.select_related("policy")
        .prefetch_related("policy__tiers__group", "decisions__approver")
        .get(pk=pk)
    )
