"""Reads of intake's records for the API: each one fetches what its output shows, in a constant
number of queries however many rows a page holds."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from intake.models import Case, CourtOrder, CustodyEvent, Party, SeizedItem


def cases() -> QuerySet[Case]:
    return Case.objects.select_related("court").prefetch_related(
        Prefetch("parties", queryset=Party.objects.order_by("id")),
        Prefetch("orders", queryset=CourtOrder.objects.order_by("id").only("id", "case_id")),
    )


def orders() -> QuerySet[CourtOrder]:
    return CourtOrder.objects.select_related("document").prefetch_related(
        Prefetch("items", queryset=SeizedItem.objects.order_by("id").only("id", "order_id"))
    )


def items() -> QuerySet[SeizedItem]:
    return SeizedItem.objects.select_related("asset", "custody_wallet").prefetch_related(
        Prefetch("custody_events", queryset=CustodyEvent.objects.order_by("sequence"))
    )
