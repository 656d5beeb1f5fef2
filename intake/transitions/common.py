"""What intake's transitions share: reading the item and the court order of a payload, the
rule that an order is in legal force, the item's lots, and splitting an item into parts."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from intake.custody_chain import append_event
from intake.models import ChainCheck, CourtOrder, ItemState, SeizedItem
from reserve.approvals import payload as checks
from reserve.audit import record_event
from reserve.ledger.services import get_account
from reserve.models import Category, Lot


def refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def item_label(item: SeizedItem) -> str:
    return f"{item.order.case.number} / {item.order.number} / item {item.pk}"


def order_evidence(order: CourtOrder) -> list[dict]:
    """The order and, when recorded, its signed document (served after the reader's
    permission and the stored SHA-256 are checked)."""
    found = {
        "label": _("Court order %(number)s (%(kind)s)")
        % {"number": order.number, "kind": order.get_kind_display()}
    }
    if order.document_id:
        found["url"] = reverse("intake:court-document", args=[order.document_id])
        found["sha256"] = order.document.sha256
    else:
        found["document"] = _("no signed document recorded")
    return [found]


def item_evidence(item: SeizedItem, *orders: CourtOrder) -> list[dict]:
    """What an approver opens for a request about ``item``: the order(s) it names, the order
    the coins were seized under, and the case page (order, custody chain and ledger linked)."""
    unique = {order.pk: order for order in (*orders, item.order) if order is not None}
    found = [shown for order in unique.values() for shown in order_evidence(order)]
    found.append(
        {
            "label": _("Case %(case)s: orders, chain of custody and ledger")
            % {"case": item.order.case.number},
            "url": reverse("intake:case", args=[item.order.case_id]),
        }
    )
    return found


def _number(payload: dict, field: str, errors: checks.PayloadErrors, message: str) -> int | None:
    raw = payload.get(field)
    if raw in (None, ""):
        errors.add(field, _("This field is required."))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        errors.add(field, message)
        return None
    return int(raw)


def read_item(payload: dict, errors: checks.PayloadErrors) -> SeizedItem | None:
    pk = _number(payload, "item", errors, _("Name the seized item by its number."))
    if pk is None:
        return None
    item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").filter(pk=pk).first()
    if item is None:
        errors.add("item", _("No seized item #%(item)s.") % {"item": pk})
    return item


def payload_item(payload: dict) -> SeizedItem | None:
    """The item a raw payload names, or None when it names none readable (a kind's
    ``prepare`` looks before the payload is cleaned; ``clean_payload`` then says why)."""
    return read_item(payload, checks.PayloadErrors()) if isinstance(payload, dict) else None


def read_chain_check(
    payload: dict, errors: checks.PayloadErrors, item: SeizedItem | None
) -> ChainCheck | None:
    """The on-chain check a payload names (``chain_check``), which must be of ``item``."""
    raw = payload.get("chain_check")
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors.add("chain_check", _("Name the on-chain check by its number."))
        return None
    check = ChainCheck.objects.filter(pk=raw).first()
    if check is None or (item is not None and check.item_id != item.pk):
        errors.add("chain_check", _("No on-chain check #%(check)s of this item.") % {"check": raw})
        return None
    return check


def read_order(payload: dict, errors: checks.PayloadErrors) -> CourtOrder | None:
    raw = payload.get("order")
    if raw in (None, ""):
        errors.add("order", _("Name the court order that orders this."))
        return None
    pk = _number(payload, "order", errors, _("Name the court order by its number."))
    if pk is None:
        return None
    order = CourtOrder.objects.select_related("case").filter(pk=pk).first()
    if order is None:
        errors.add("order", _("No court order #%(order)s.") % {"order": pk})
    return order


def read_part(payload: dict, errors: checks.PayloadErrors, item: SeizedItem | None) -> int | None:
    """The units the transition takes of ``item`` (``amount``; all of it when not given)."""
    if item is None:
        return None
    if payload.get("amount") in (None, ""):
        return item.received_amount
    return checks.amount(payload, "amount", errors, item.asset)


def ensure_in_force(*, order: CourtOrder, item: SeizedItem, kind: str, kind_label: str) -> None:
    """``order`` is an order of ``kind`` in ``item``'s case and in legal force today: entered
    into force on or before today, and either its appeal term expired with no appeal lodged, or
    the appellate court has ruled on the appeal (CPC 470: property stays with the case until
    then)."""
    today = timezone.localdate()
    if order.kind != kind:
        raise refuse(
            "order",
            _("Order %(order)s is a %(found)s, not a %(needed)s.")
            % {"order": order.number, "found": order.get_kind_display(), "needed": kind_label},
            "wrong_order_kind",
        )
    if order.case_id != item.order.case_id:
        raise refuse(
            "order",
            _("Order %(order)s is of case %(other)s; item #%(item)s is seized in case %(case)s.")
            % {
                "order": order.number,
                "other": order.case.number,
                "item": item.pk,
                "case": item.order.case.number,
            },
            "other_case",
        )
    if order.appeal_lodged and (order.appellate_ruling_on is None or order.appellate_ruling_on > today):
        raise refuse(
            "order",
            _("An appeal against order %(order)s is pending; wait for the appellate ruling.")
            % {"order": order.number},
            "appeal_pending",
        )
    if order.in_force_on is None or order.in_force_on > today:
        raise refuse(
            "order",
            _("Order %(order)s is not in legal force (in force on: %(day)s).")
            % {"order": order.number, "day": order.in_force_on.isoformat() if order.in_force_on else "—"},
            "not_in_force",
        )
    if not order.appeal_lodged and (order.appeal_deadline is None or order.appeal_deadline >= today):
        raise refuse(
            "order",
            _("The appeal term of order %(order)s is running (deadline: %(day)s); it is not final yet.")
            % {
                "order": order.number,
                "day": order.appeal_deadline.isoformat() if order.appeal_deadline else "—",
            },
            "appeal_term_running",
        )


def ensure_in_custody(item: SeizedItem, *, doing: str) -> None:
    if item.state != ItemState.IN_CUSTODY:
        raise refuse(
            "item",
            _("Item #%(item)s is %(state)s; only an item in custody can be %(doing)s.")
            % {"item": item.pk, "state": item.get_state_display(), "doing": doing},
            "wrong_state",
        )


def ensure_part(item: SeizedItem, units: int | None) -> None:
    if units is None:
        return
    if units > (item.received_amount or 0):
        raise refuse(
            "amount",
            _("Item #%(item)s holds %(held)s %(asset)s; %(asked)s cannot be taken of it.")
            % {
                "item": item.pk,
                "held": item.asset.format(item.received_amount or 0),
                "asset": item.asset.symbol,
                "asked": item.asset.format(units),
            },
            "exceeds_item",
        )


def item_lots(item: SeizedItem, *, category: str = Category.CUSTODY_PENDING) -> list[Lot]:
    """The open lots of ``item``'s coins in its custody wallet's ``category`` account (in
    custody by default; ``released`` for coins awaiting their transfer out) whose origin is the
    registered item it descends from."""
    account = get_account(wallet=item.custody_wallet, category=category, asset=item.asset)
    return list(
        Lot.objects.filter(
            account=account,
            remaining__gt=0,
            origin_content_type=ContentType.objects.get_for_model(SeizedItem),
            origin_object_id=str(item.root.pk),
        ).order_by("id")
    )


def ensure_lots_cover(item: SeizedItem, units: int) -> list[Lot]:
    lots = item_lots(item)
    if sum(lot.remaining for lot in lots) < units:
        raise refuse(
            "item",
            _("The custody ledger holds less of item #%(item)s than %(amount)s %(asset)s; run verify_ledger.")
            % {"item": item.pk, "amount": item.asset.format(units), "asset": item.asset.symbol},
            "lots_short",
        )
    return lots


def split(*, item: SeizedItem, units: int, part_state: str, actor, request) -> tuple[SeizedItem, SeizedItem]:
    """Split ``item`` (locked, in custody) into the part a verdict acts on (``units``, in
    ``part_state``) and the rest (still in custody); the item becomes ``split`` and names its
    parts. The parts' amounts sum to the item's received amount exactly; each part starts its
    own chain of custody at the item's last event."""
    total = item.received_amount
    parts = []
    for amount, state in ((units, part_state), (total - units, ItemState.IN_CUSTODY)):
        part = SeizedItem(
            parent=item,
            order=item.order,
            asset=item.asset,
            claimed_amount=amount,
            received_amount=amount,
            source_kind=item.source_kind,
            source_address=item.source_address,
            exchange_account=item.exchange_account,
            custody_wallet=item.custody_wallet,
            restriction=item.restriction,
            state=state,
        )
        part._history_user = actor
        part.save()
        parts.append(part)
    acted, rest = parts
    assert acted.received_amount + rest.received_amount == total
    item.state = ItemState.SPLIT
    item._history_user = actor
    item.save(update_fields=["state"])
    details = {
        "request": request.pk,
        "received_amount": item.asset.format(total),
        "parts": [{"item": p.pk, "amount": item.asset.format(p.received_amount)} for p in parts],
    }
    record_event(action="intake.item.split", actor=actor, subject=item, data=details)
    last = append_event(item=item, action="intake.item.split", actor=actor, data=details)
    for part in parts:
        origin = {
            "request": request.pk,
            "parent": item.pk,
            "root": item.root.pk,
            "parent_event": last.hash,
            "amount": item.asset.format(part.received_amount),
        }
        record_event(action="intake.item.split_from", actor=actor, subject=part, data=origin)
        append_event(item=part, action="intake.item.split_from", actor=actor, data=origin)
    return acted, rest


def take_part(*, item_pk: int, units: int, part_state: str, doing: str, actor, request):
    """The start of a verdict's execution (forfeiture, release): lock the item, check it is still
    in custody and its lots still cover ``units``, and split off that part when it is not the
    whole item. Returns ``(item, lots, part, rest)``; ``part`` is the item itself and ``rest``
    None when the verdict takes all of it."""
    item = (
        SeizedItem.objects.select_for_update()
        .select_related("asset", "custody_wallet", "order__case")
        .get(pk=item_pk)
    )
    ensure_in_custody(item, doing=doing)
    lots = ensure_lots_cover(item, units)
    if units < item.received_amount:
        part, rest = split(item=item, units=units, part_state=part_state, actor=actor, request=request)
        return item, lots, part, rest
    return item, lots, item, None
