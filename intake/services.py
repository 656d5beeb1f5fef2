"""Every write of intake's records: courts, cases, parties, court orders and seized items.

Keyword-only, one transaction each, the audit event (and for items the first link of the chain
of custody) written in it. Every refusal is a translated ``ValidationError`` naming its field.
The transitions of an item (transfer pending, in custody, forfeited, released, cancelled) go
through the approval engine and are not here yet.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from intake.custody_chain import append_event
from intake.models import (
    Case,
    Court,
    CourtDocument,
    CourtOrder,
    ItemState,
    OrderKind,
    Party,
    PartyRole,
    SeizedItem,
    SourceKind,
)
from reserve.addresses import AddressError, normalize_address
from reserve.amounts import AmountError, parse_amount
from reserve.audit import record_event
from reserve.models import Asset, Network, Wallet

_BITCOIN_TXID = re.compile(r"[0-9a-fA-F]{64}")
_ETHEREUM_TXID = re.compile(r"0x[0-9a-fA-F]{64}")

#: A restriction code (e.g. ``no_sale``); lots keep it in a 32-character field.
RESTRICTION_CODE = re.compile(r"[a-z0-9_]{1,32}")


def _refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _saved(instance, *, actor) -> None:
    instance._history_user = actor if actor is not None and actor.is_authenticated else None
    instance.save()


def _required(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise _refuse(field, _("This field is required."), "required")
    return value


@transaction.atomic
def register_court(*, name: str, region: str, code: str, actor) -> Court:
    name, region, code = _required("name", name), _required("region", region), _required("code", code)
    if Court.objects.filter(code=code).exists():
        raise _refuse(
            "code", _("A court with code %(code)s is already registered.") % {"code": code}, "duplicate"
        )
    court = Court(name=name, region=region, code=code)
    court.full_clean()
    _saved(court, actor=actor)
    record_event(action="intake.court.registered", actor=actor, subject=court, data={"code": code})
    return court


@transaction.atomic
def open_case(*, court: Court, number: str, investigating_authority: str, opened_on: dt.date, actor) -> Case:
    number = _required("number", number)
    investigating_authority = _required("investigating_authority", investigating_authority)
    if opened_on is None:
        raise _refuse("opened_on", _("This field is required."), "required")
    if Case.objects.filter(court=court, number=number).exists():
        raise _refuse(
            "number",
            _("Case %(number)s is already registered at %(court)s.")
            % {"number": number, "court": court.name},
            "duplicate",
        )
    case = Case(
        court=court, number=number, investigating_authority=investigating_authority, opened_on=opened_on
    )
    _saved(case, actor=actor)
    record_event(
        action="intake.case.opened", actor=actor, subject=case, data={"court": court.code, "number": number}
    )
    return case


@transaction.atomic
def add_party(*, case: Case, role: str, name: str, identity_document_number: str = "", actor) -> Party:
    if role not in PartyRole.values:
        raise _refuse("role", _("Choose the party's role: suspect, lawful owner or victim."))
    party = Party(
        case=case,
        role=role,
        name=_required("name", name),
        identity_document_number=identity_document_number.strip(),
    )
    _saved(party, actor=actor)
    # Personal data stays out of the audit journal, which every auditor reads.
    record_event(
        action="intake.party.added", actor=actor, subject=party, data={"case": case.pk, "role": role}
    )
    return party


@transaction.atomic
def record_order(
    *,
    case: Case,
    kind: str,
    number: str,
    issued_on: dt.date,
    in_force_on: dt.date | None = None,
    appeal_deadline: dt.date | None = None,
    appeal_lodged: bool = False,
    appellate_ruling_on: dt.date | None = None,
    court_reference: str = "",
    document: CourtDocument | None = None,
    actor,
) -> CourtOrder:
    if kind not in OrderKind.values:
        raise _refuse("kind", _("Choose the kind of court order."))
    number = _required("number", number)
    if issued_on is None:
        raise _refuse("issued_on", _("This field is required."), "required")
    if in_force_on is not None and in_force_on < issued_on:
        raise _refuse(
            "in_force_on", _("An order cannot enter into legal force before it is issued."), "before_issued"
        )
    if appeal_deadline is not None and appeal_deadline < issued_on:
        raise _refuse(
            "appeal_deadline", _("The appeal deadline cannot be before the order is issued."), "before_issued"
        )
    if in_force_on is not None and appeal_deadline is not None and in_force_on < appeal_deadline:
        raise _refuse(
            "in_force_on",
            _(
                "A verdict enters into legal force when its appeal term has expired, not before the appeal deadline."
            ),
            "before_appeal_deadline",
        )
    _check_appellate_ruling(issued_on=issued_on, appeal_lodged=appeal_lodged, ruled_on=appellate_ruling_on)
    court_reference = (court_reference or "").strip()
    if court_reference and CourtOrder.objects.filter(court_reference=court_reference).exists():
        raise _refuse(
            "court_reference",
            _("An order with the court's reference %(reference)s is already recorded.")
            % {"reference": court_reference},
            "duplicate",
        )
    order = CourtOrder(
        case=case,
        kind=kind,
        number=number,
        issued_on=issued_on,
        in_force_on=in_force_on,
        appeal_deadline=appeal_deadline,
        appeal_lodged=appeal_lodged,
        appellate_ruling_on=appellate_ruling_on,
        court_reference=court_reference,
        document=document,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _saved(order, actor=actor)
    record_event(
        action="intake.order.recorded",
        actor=actor,
        subject=order,
        data={
            "case": case.pk,
            "kind": kind,
            "number": number,
            "issued_on": issued_on.isoformat(),
            "in_force_on": in_force_on.isoformat() if in_force_on else None,
            "appeal_deadline": appeal_deadline.isoformat() if appeal_deadline else None,
            "appeal_lodged": appeal_lodged,
            "appellate_ruling_on": appellate_ruling_on.isoformat() if appellate_ruling_on else None,
            "court_reference": court_reference,
            "document": document.sha256 if document else None,
        },
    )
    return order


def _check_appellate_ruling(*, issued_on: dt.date, appeal_lodged: bool, ruled_on: dt.date | None) -> None:
    if ruled_on is None:
        return
    if not appeal_lodged:
        raise _refuse(
            "appellate_ruling_on",
            _("An appellate ruling is recorded only on an order whose appeal was lodged."),
            "no_appeal",
        )
    if ruled_on < issued_on:
        raise _refuse(
            "appellate_ruling_on",
            _("The appellate ruling cannot be before the order is issued."),
            "before_issued",
        )


def record_appeal_outcome(
    *,
    order: CourtOrder,
    appeal_lodged: bool,
    appellate_ruling_on: dt.date | None = None,
    in_force_on=None,
    actor,
) -> CourtOrder:
    """Record that an appeal against ``order`` was lodged and, later, the appellate ruling that
    left it in force (with the day it entered into force): :func:`update_order_status` with
    those facts."""
    changes = {"appeal_lodged": appeal_lodged, "appellate_ruling_on": appellate_ruling_on}
    if in_force_on is not None:
        changes["in_force_on"] = in_force_on
    return update_order_status(order=order, actor=actor, **changes)


def normalize_txid(network: str, txid: str) -> str:
    """The canonical (lower-case) transaction id, or a refusal naming the expected form."""
    txid = txid or ""
    if network == Network.ETHEREUM:
        if not _ETHEREUM_TXID.fullmatch(txid):
            raise _refuse("txid", _("An Ethereum transaction id is 0x followed by 64 hexadecimal digits."))
        return txid.lower()
    if not _BITCOIN_TXID.fullmatch(txid):
        raise _refuse("txid", _("A transaction id on this network is 64 hexadecimal digits."))
    return txid.lower()


def _duplicate_output(*, network: str, txid: str, vout: int) -> ValidationError:
    existing = (
        SeizedItem.objects.select_related("order__case")
        .filter(network=network, txid=txid, vout=vout)
        .only("pk", "order__case__number")
        .first()
    )
    if existing is None:
        message = _("Output %(vout)s of transaction %(txid)s is already registered.") % {
            "vout": vout,
            "txid": txid,
        }
    else:
        message = _(
            "Output %(vout)s of transaction %(txid)s is already registered as item #%(item)s in case %(case)s."
        ) % {"vout": vout, "txid": txid, "item": existing.pk, "case": existing.order.case.number}
    return _refuse("txid", message, "duplicate_output")


def _duplicate_item_reference(reference: str) -> ValidationError:
    return _refuse(
        "court_reference",
        _("An item with the court's reference %(reference)s is already registered.")
        % {"reference": reference},
        "duplicate",
    )


@transaction.atomic
def register_item(
    *,
    order: CourtOrder,
    asset: Asset,
    claimed_amount: object,
    source_kind: str,
    custody_wallet: Wallet,
    source_address: str = "",
    exchange_account: str = "",
    txid: str = "",
    vout: int | None = None,
    restriction: str = "",
    court_reference: str = "",
    actor,
) -> SeizedItem:
    """Register coins seized under ``order``; the claimed amount is text in the asset's units
    ("0.5"). The transaction output is registered once in the whole system."""
    if order is None:
        raise _refuse("order", _("A seized item is registered under a court order."), "required")
    if not asset.is_active:
        raise _refuse("asset", _("Asset %(symbol)s is deactivated.") % {"symbol": asset.symbol}, "inactive")
    try:
        units = parse_amount(claimed_amount, asset.decimals)
    except AmountError as exc:
        raise _refuse("claimed_amount", str(exc))
    if custody_wallet.network != asset.network:
        raise _refuse(
            "custody_wallet",
            _(
                "Wrong network for the custody wallet: %(wallet)s is on %(wallet_network)s, %(asset)s on %(asset_network)s."
            )
            % {
                "wallet": custody_wallet.code,
                "wallet_network": custody_wallet.get_network_display(),
                "asset": asset.symbol,
                "asset_network": asset.get_network_display(),
            },
            "wrong_network",
        )
    if not custody_wallet.is_active:
        raise _refuse(
            "custody_wallet", _("Wallet %(code)s is deactivated.") % {"code": custody_wallet.code}, "inactive"
        )
    if source_kind == SourceKind.ADDRESS:
        try:
            source_address = normalize_address(asset.network, source_address or "")
        except AddressError as exc:
            raise _refuse("source_address", str(exc))
        exchange_account = ""
        if not txid:
            raise _refuse(
                "txid", _("Coins taken from an address are identified by their transaction id."), "required"
            )
    elif source_kind == SourceKind.EXCHANGE_ACCOUNT:
        exchange_account = _required("exchange_account", exchange_account)
        source_address = ""
    else:
        raise _refuse("source_kind", _("Choose the source: an address or an exchange account."))
    if txid:
        txid = normalize_txid(asset.network, txid)
        if vout is None or isinstance(vout, bool) or not isinstance(vout, int) or vout < 0:
            raise _refuse("vout", _("Give the output index of the transaction (0 or more)."), "required")
        if SeizedItem.objects.filter(network=asset.network, txid=txid, vout=vout).exists():
            raise _duplicate_output(network=asset.network, txid=txid, vout=vout)
    else:
        txid, vout = "", None
    restriction = (restriction or "").strip()
    if restriction and not RESTRICTION_CODE.fullmatch(restriction):
        # It travels with the units into every lot (at most 32 characters there), for life.
        raise _refuse(
            "restriction",
            _(
                "A restriction is a code of at most 32 lower-case letters, digits and underscores, such as no_sale."
            ),
            "invalid",
        )
    court_reference = (court_reference or "").strip()
    if court_reference and SeizedItem.objects.filter(court_reference=court_reference).exists():
        raise _duplicate_item_reference(court_reference)
    item = SeizedItem(
        order=order,
        asset=asset,
        claimed_amount=units,
        source_kind=source_kind,
        source_address=source_address,
        exchange_account=exchange_account.strip(),
        txid=txid,
        vout=vout,
        custody_wallet=custody_wallet,
        restriction=restriction,
        court_reference=court_reference,
    )
    try:
        with transaction.atomic():
            _saved(item, actor=actor)
    except IntegrityError:
        # Two clerks registering the same output at once: the database constraint decided.
        if txid and SeizedItem.objects.filter(network=asset.network, txid=txid, vout=vout).exists():
            raise _duplicate_output(network=asset.network, txid=txid, vout=vout)
        if court_reference:
            raise _duplicate_item_reference(court_reference)
        raise
    details = {
        "order": order.pk,
        "case": order.case.number,
        "asset": asset.symbol,
        "claimed_amount": asset.format(units),
        "source_kind": source_kind,
        "source_address": source_address,
        "exchange_account": item.exchange_account,
        "txid": txid,
        "vout": vout,
        "custody_wallet": custody_wallet.code,
        "restriction": item.restriction,
        "court_reference": court_reference,
    }
    record_event(action="intake.item.registered", actor=actor, subject=item, data=details)
    append_event(item=item, action="intake.item.registered", actor=actor, data=details)
    return item


@transaction.atomic
def record_transfer_started(*, item: SeizedItem, actor, evidence: str = "") -> SeizedItem:
    """``registered → transfer_pending``: the transfer to the custody wallet was ordered (an
    exchange instructed, a key handed over), the coins have not arrived yet. No coins move, so
    no approval: the clerk's note goes into the item's chain of custody and its history; taking
    the coins into custody is the approved step that follows."""
    item = SeizedItem.objects.select_for_update().get(pk=item.pk)
    if item.state != ItemState.REGISTERED:
        raise _refuse(
            "item",
            _("Item #%(item)s is %(state)s; only a registered item can have its transfer started.")
            % {"item": item.pk, "state": item.get_state_display()},
            "wrong_state",
        )
    evidence = (evidence or "").strip()
    if len(evidence) > 2000:
        raise _refuse("evidence", _("Keep the evidence under 2,000 characters."), "max_length")
    item.state = ItemState.TRANSFER_PENDING
    _saved(item, actor=actor)
    details = {"custody_wallet": item.custody_wallet.code}
    record_event(action="intake.item.transfer_pending", actor=actor, subject=item, data=details)
    append_event(
        item=item, action="intake.item.transfer_pending", actor=actor, data=details, evidence=evidence
    )
    return item


#: What a court system may change on a case and on an order once they are recorded.
CASE_UPDATABLE = ("investigating_authority",)
ORDER_UPDATABLE = ("in_force_on", "appeal_deadline", "appeal_lodged", "appellate_ruling_on")


def _changes(instance, values: dict) -> dict:
    return {
        name: (getattr(instance, name), value)
        for name, value in values.items()
        if getattr(instance, name) != value
    }


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value


@transaction.atomic
def update_case(*, case: Case, investigating_authority: str, actor) -> Case:
    """Change what the court may change on a case (the investigating authority), with history
    and an audit event naming the fields before and after. Nothing changed, nothing recorded."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    values = {"investigating_authority": _required("investigating_authority", investigating_authority)}
    changes = _changes(case, values)
    if not changes:
        return case
    for name, (_before, after) in changes.items():
        setattr(case, name, after)
    _saved(case, actor=actor)
    record_event(
        action="intake.case.updated",
        actor=actor,
        subject=case,
        data={name: {"before": before, "after": after} for name, (before, after) in changes.items()},
    )
    return case


_UNCHANGED = object()


@transaction.atomic
def update_order_status(
    *,
    order: CourtOrder,
    in_force_on: dt.date | None | object = _UNCHANGED,
    appeal_deadline: dt.date | None | object = _UNCHANGED,
    appeal_lodged: bool | object = _UNCHANGED,
    appellate_ruling_on: dt.date | None | object = _UNCHANGED,
    actor,
) -> CourtOrder:
    """Record the appeal-term facts of an order as they arrive: the date it entered into legal
    force, the appeal deadline, whether an appeal was lodged and the day of the appellate ruling
    that left it in force. The same date rules as :func:`record_order`; history and an audit
    event with before and after (nothing when nothing changed)."""
    order = CourtOrder.objects.select_for_update().get(pk=order.pk)
    given = {
        name: value
        for name, value in (
            ("in_force_on", in_force_on),
            ("appeal_deadline", appeal_deadline),
            ("appeal_lodged", appeal_lodged),
            ("appellate_ruling_on", appellate_ruling_on),
        )
        if value is not _UNCHANGED
    }
    after = {name: given.get(name, getattr(order, name)) for name in ORDER_UPDATABLE}
    _check_appellate_ruling(
        issued_on=order.issued_on, appeal_lodged=after["appeal_lodged"], ruled_on=after["appellate_ruling_on"]
    )
    if after["in_force_on"] is not None and after["in_force_on"] < order.issued_on:
        raise _refuse(
            "in_force_on", _("An order cannot enter into legal force before it is issued."), "before_issued"
        )
    if after["appeal_deadline"] is not None and after["appeal_deadline"] < order.issued_on:
        raise _refuse(
            "appeal_deadline", _("The appeal deadline cannot be before the order is issued."), "before_issued"
        )
    if (
        after["in_force_on"] is not None
        and after["appeal_deadline"] is not None
        and after["in_force_on"] < after["appeal_deadline"]
    ):
        raise _refuse(
            "in_force_on",
            _(
                "A verdict enters into legal force when its appeal term has expired, not before the appeal deadline."
            ),
            "before_appeal_deadline",
        )
    changes = _changes(order, given)
    if not changes:
        return order
    for name, (_before, value) in changes.items():
        setattr(order, name, value)
    _saved(order, actor=actor)
    record_event(
        action="intake.order.updated",
        actor=actor,
        subject=order,
        data={
            name: {"before": _jsonable(before), "after": _jsonable(value)}
            for name, (before, value) in changes.items()
        },
    )
    return order


@transaction.atomic
def attach_order_document(*, order: CourtOrder, document: CourtDocument, actor) -> CourtOrder:
    """Attach the signed document (stored by :func:`intake.documents.store_document`) to an
    order. Attaching the same document again changes nothing; replacing another one is refused:
    a signed order has one text."""
    order = CourtOrder.objects.select_for_update().get(pk=order.pk)
    if order.document_id == document.pk:
        return order
    if order.document_id is not None:
        raise _refuse(
            "document",
            _("Order %(number)s already has its signed document; it is not replaced.")
            % {"number": order.number},
            "already_attached",
        )
    order.document = document
    _saved(order, actor=actor)
    record_event(
        action="intake.order.document_attached",
        actor=actor,
        subject=order,
        data={"document": document.sha256},
    )
    return order
