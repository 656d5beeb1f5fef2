"""Intake's reads.

:func:`cases`, :func:`orders` and :func:`items` feed the API: each fetches what its output
shows, in a constant number of queries however many rows a page holds. :func:`case_dossier` gathers, for every seized item of a case, the three
things an auditor follows from one to the others: the court order, the chain of custody, and
the ledger (the lots the item opened, the pieces they were split into, and the journal entries
that opened or consumed them); and, for released coins, the on-chain transfer that carried them
to their owner."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q, QuerySet

from intake.models import Case, CourtOrder, CustodyEvent, Party, ReleaseTransfer, SeizedItem
from reserve.models import ApprovalRequest, JournalEntry, Lot, LotMovement


@dataclass
class ItemTrail:
    item: SeizedItem
    events: list[CustodyEvent] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    transfer: ReleaseTransfer | None = None


@dataclass
class CaseDossier:
    case: Case
    orders: list[CourtOrder]
    items: list[ItemTrail]


def item_lots(items: list[SeizedItem]) -> dict[int, list[Lot]]:
    """Every lot descending from a lot that ``items`` opened, by item id (root first)."""
    if not items:
        return {}
    content_type = ContentType.objects.get_for_model(SeizedItem)
    roots = list(
        Lot.objects.filter(
            origin_content_type=content_type,
            origin_object_id__in=[str(item.pk) for item in items],
            root__isnull=True,
        ).values_list("pk", "origin_object_id")
    )
    owner = {pk: int(object_id) for pk, object_id in roots}
    found: dict[int, list[Lot]] = defaultdict(list)
    lots = (
        Lot.objects.filter(Q(pk__in=owner.keys()) | Q(root_id__in=owner.keys()))
        .select_related("account__wallet", "account__asset", "opened_by__entry")
        .order_by("id")
    )
    for lot in lots:
        found[owner[lot.root_id or lot.pk]].append(lot)
    return found


def case_dossier(*, case: Case) -> CaseDossier:
    """The case's orders and, per item, its custody events, lots and journal entries."""
    orders = list(
        case.orders.select_related("document").prefetch_related(
            Prefetch(
                "items",
                queryset=SeizedItem.objects.select_related("asset", "custody_wallet").order_by("id"),
            )
        )
    )
    items = [item for order in orders for item in order.items.all()]
    events: dict[int, list[CustodyEvent]] = defaultdict(list)
    for event in (
        CustodyEvent.objects.filter(item__in=items).select_related("actor").order_by("item", "sequence")
    ):
        events[event.item_id].append(event)
    lots = item_lots(items)
    lot_ids = {lot.pk: item_id for item_id, item_lots_ in lots.items() for lot in item_lots_}
    entries: dict[int, dict[int, JournalEntry]] = defaultdict(dict)
    for item_id, item_lots_ in lots.items():
        for lot in item_lots_:
            entry = lot.opened_by.entry
            entries[item_id][entry.pk] = entry
    for movement in LotMovement.objects.filter(lot_id__in=lot_ids.keys()).select_related("posting__entry"):
        entry = movement.posting.entry
        entries[lot_ids[movement.lot_id]][entry.pk] = entry
    transfers = {t.item_id: t for t in ReleaseTransfer.objects.filter(item__in=items).select_related("entry")}
    request_type = ContentType.objects.get_for_model(ApprovalRequest)
    for by_id in entries.values():
        for entry in by_id.values():
            is_request = entry.source_content_type_id == request_type.pk and entry.source_object_id
            entry.request_pk = int(entry.source_object_id) if is_request else None
    return CaseDossier(
        case=case,
        orders=orders,
        items=[
            ItemTrail(
                item=item,
                events=events[item.pk],
                lots=lots.get(item.pk, []),
                entries=sorted(entries[item.pk].values(), key=lambda entry: (entry.effective_at, entry.pk)),
                transfer=transfers.get(item.pk),
            )
            for item in items
        ],
    )


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
