"""Every write of intake's records: courts, cases, parties, court orders and seized items.

Keyword-only, one transaction each, the audit event (and for items the first link of the chain
of custody) written in it. Every refusal is a translated ``ValidationError`` naming its field.
The transitions of an item (transfer pending, in custody, forfeited, released, cancelled) go
through the approval engine and are not here yet.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from intake.custody_chain import append_event, start_chains
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
from reserve.audit import record_event, record_events
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


def _output_taken(*, txid: str, vout: int, existing: tuple[int, str] | None) -> ValidationError:
    """The refusal of an output already registered (``existing``: its item's id and case number,
    when known)."""
    if existing is None:
        message = _("Output %(vout)s of transaction %(txid)s is already registered.") % {
            "vout": vout,
            "txid": txid,
        }
    else:
        message = _(
            "Output %(vout)s of transaction %(txid)s is already registered as item #%(item)s in case %(case)s."
        ) % {"vout": vout, "txid": txid, "item": existing[0], "case": existing[1]}
    return _refuse("txid", message, "duplicate_output")


def _registered_outputs(network: str, txid: str, vout: int | None = None):
    """The items holding outputs of ``txid``; ``exclude(txid="")`` repeats the condition of the
    partial unique index so that SQLite's planner uses it (without it, a table scan)."""
    found = SeizedItem.objects.filter(network=network, txid=txid).exclude(txid="")
    return found if vout is None else found.filter(vout=vout)


def _duplicate_output(*, network: str, txid: str, vout: int) -> ValidationError:
    existing = (
        _registered_outputs(network, txid, vout)
        .select_related("order__case")
        .only("pk", "order__case__number")
        .first()
    )
    return _output_taken(
        txid=txid, vout=vout, existing=None if existing is None else (existing.pk, existing.order.case.number)
    )


def _duplicate_item_reference(reference: str) -> ValidationError:
    return _refuse(
        "court_reference",
        _("An item with the court's reference %(reference)s is already registered.")
        % {"reference": reference},
        "duplicate",
    )


@dataclass(frozen=True)
class CheckedItem:
    """A seized item that passed :func:`check_item`, its values in canonical form (amount in
    the asset's smallest units, lower-case txid, normalized address), not yet stored."""

    order: CourtOrder
    asset: Asset
    claimed_amount: int
    source_kind: str
    source_address: str
    exchange_account: str
    txid: str
    vout: int | None
    custody_wallet: Wallet
    restriction: str
    court_reference: str

    def seized_item(self) -> SeizedItem:
        return SeizedItem(
            order=self.order,
            asset=self.asset,
            network=self.asset.network,  # what SeizedItem.save() sets; bulk_create does not call it
            claimed_amount=self.claimed_amount,
            source_kind=self.source_kind,
            source_address=self.source_address,
            exchange_account=self.exchange_account,
            txid=self.txid,
            vout=self.vout,
            custody_wallet=self.custody_wallet,
            restriction=self.restriction,
            court_reference=self.court_reference,
        )

    def details(self) -> dict:
        """The audit data and first custody event data of the item's registration."""
        return {
            "order": self.order.pk,
            "case": self.order.case.number,
            "asset": self.asset.symbol,
            "claimed_amount": self.asset.format(self.claimed_amount),
            "source_kind": self.source_kind,
            "source_address": self.source_address,
            "exchange_account": self.exchange_account,
            "txid": self.txid,
            "vout": self.vout,
            "custody_wallet": self.custody_wallet.code,
            "restriction": self.restriction,
            "court_reference": self.court_reference,
        }


@dataclass
class Registered:
    """Outputs and court references already taken, fetched once for a batch of rows (see
    :func:`check_items`); ``outputs`` maps ``(network, txid, vout)`` to the holding item's id
    and case number, or to ``None`` for an earlier row of the same batch."""

    outputs: dict[tuple[str, str, int], tuple[int, str] | None] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)

    #: Values per query, under SQLite's default limit of 999 parameters.
    CHUNK = 900

    @classmethod
    def among(cls, *, outputs: Iterable[tuple[str, str, int]], references: Iterable[str]) -> Registered:
        """What the database already holds of ``outputs`` and ``references``: one query per
        network (and per :attr:`CHUNK` txids) and one for the references, whatever the rows."""
        found = cls()
        txids_by_network: dict[str, set[str]] = {}
        for network, txid, _vout in outputs:
            txids_by_network.setdefault(network, set()).add(txid)
        for network, txids in sorted(txids_by_network.items()):
            ordered = sorted(txids)
            for start in range(0, len(ordered), cls.CHUNK):
                rows = (
                    SeizedItem.objects.filter(network=network, txid__in=ordered[start : start + cls.CHUNK])
                    .exclude(txid="")
                    .values_list("network", "txid", "vout", "pk", "order__case__number")
                )
                for item_network, txid, vout, pk, case_number in rows:
                    found.outputs[(item_network, txid, vout)] = (pk, case_number)
        wanted = sorted(set(references))
        for start in range(0, len(wanted), cls.CHUNK):
            found.references.update(
                SeizedItem.objects.filter(court_reference__in=wanted[start : start + cls.CHUNK]).values_list(
                    "court_reference", flat=True
                )
            )
        return found


def check_item(
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
    registered: Registered | None = None,
) -> CheckedItem:
    """Every rule of registering a seized item, without writing: the item in canonical form or
    the refusal naming its field. The output and the court reference are looked up in
    ``registered`` when given (a batch's, see :func:`check_items`), else in the database."""
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
        if registered is None:
            if _registered_outputs(asset.network, txid, vout).exists():
                raise _duplicate_output(network=asset.network, txid=txid, vout=vout)
        elif (asset.network, txid, vout) in registered.outputs:
            raise _output_taken(
                txid=txid, vout=vout, existing=registered.outputs[(asset.network, txid, vout)]
            )
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
    if court_reference:
        if registered is None:
            taken = SeizedItem.objects.filter(court_reference=court_reference).exists()
        else:
            taken = court_reference in registered.references
        if taken:
            raise _duplicate_item_reference(court_reference)
    return CheckedItem(
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
    ("0.5"). The transaction output is registered once in the whole system. The rules are
    :func:`check_item`'s; :func:`register_items` registers many rows at once."""
    checked = check_item(
        order=order,
        asset=asset,
        claimed_amount=claimed_amount,
        source_kind=source_kind,
        custody_wallet=custody_wallet,
        source_address=source_address,
        exchange_account=exchange_account,
        txid=txid,
        vout=vout,
        restriction=restriction,
        court_reference=court_reference,
    )
    item = checked.seized_item()
    try:
        with transaction.atomic():
            _saved(item, actor=actor)
    except IntegrityError:
        # Two clerks registering the same output at once: the database constraint decided.
        if checked.txid and _registered_outputs(asset.network, checked.txid, checked.vout).exists():
            raise _duplicate_output(network=asset.network, txid=checked.txid, vout=checked.vout)
        if checked.court_reference:
            raise _duplicate_item_reference(checked.court_reference)
        raise
    details = checked.details()
    record_event(action="intake.item.registered", actor=actor, subject=item, data=details)
    append_event(item=item, action="intake.item.registered", actor=actor, data=details)
    return item


class ItemsRefused(ValidationError):
    """Some rows given to :func:`register_items` were refused, so none was registered.
    ``rows`` maps each refused row's index to its refusal (as :func:`register_item` raises it);
    ``accepted`` maps the other rows' indexes to their checked items."""

    def __init__(self, rows: dict[int, ValidationError], accepted: dict[int, CheckedItem]):
        super().__init__(list(rows.values()))
        self.rows = rows
        self.accepted = accepted


def _output_key(row: dict) -> tuple[str, str, int] | None:
    """The ``(network, txid, vout)`` a row would register, when its txid is well formed."""
    asset, txid, vout = row.get("asset"), row.get("txid"), row.get("vout")
    if asset is None or not txid or not isinstance(vout, int) or isinstance(vout, bool):
        return None
    try:
        return (asset.network, normalize_txid(asset.network, txid), vout)
    except ValidationError:
        return None


def check_items(*, order: CourtOrder, rows: Sequence[dict]) -> list[CheckedItem | ValidationError]:
    """:func:`check_item` for each row (a dict of its keyword arguments), in order: the checked
    item or its refusal. Outputs and references already registered are fetched once for all
    the rows; a row naming the output or the reference of an earlier row is refused as taken."""
    registered = Registered.among(
        outputs=filter(None, map(_output_key, rows)),
        references=[(row.get("court_reference") or "").strip() for row in rows if row.get("court_reference")],
    )
    results: list[CheckedItem | ValidationError] = []
    for row in rows:
        try:
            checked = check_item(order=order, registered=registered, **row)
        except ValidationError as exc:
            results.append(exc)
            continue
        if checked.txid:
            registered.outputs.setdefault((checked.asset.network, checked.txid, checked.vout), None)
        if checked.court_reference:
            registered.references.add(checked.court_reference)
        results.append(checked)
    return results


@transaction.atomic
def register_items(*, order: CourtOrder, rows: Sequence[dict], actor) -> list[SeizedItem]:
    """Register many seized items under ``order`` at once, or none: each row (a dict of
    :func:`register_item`'s keyword arguments but ``order`` and ``actor``) is checked by the
    same :func:`check_item`, and what is written is what :func:`register_item` writes for it
    (the item, its history row, the ``intake.item.registered`` audit event and the first link
    of its chain of custody with its journal record), in a few bulk inserts. Any refused row
    raises :class:`ItemsRefused` naming every refused row; so does an output or a reference that
    another clerk registered meanwhile (the database constraint decides)."""
    results = check_items(order=order, rows=rows)
    refused = {i: result for i, result in enumerate(results) if isinstance(result, ValidationError)}
    if refused:
        raise ItemsRefused(refused, {i: r for i, r in enumerate(results) if i not in refused})
    checked: list[CheckedItem] = results  # type: ignore[assignment]
    if not checked:
        return []
    history_user = actor if actor is not None and actor.is_authenticated else None
    try:
        with transaction.atomic():
            items = bulk_create_with_history(
                [c.seized_item() for c in checked], SeizedItem, default_user=history_user
            )
    except IntegrityError:
        again = check_items(order=order, rows=rows)
        refused = {i: result for i, result in enumerate(again) if isinstance(result, ValidationError)}
        if refused:
            raise ItemsRefused(refused, {i: r for i, r in enumerate(again) if i not in refused})
        raise
    details = [c.details() for c in checked]
    record_events(
        action="intake.item.registered", actor=actor, entries=list(zip(items, details, strict=True))
    )
    start_chains(items=items, action="intake.item.registered", actor=actor, data=details)
    return items


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
