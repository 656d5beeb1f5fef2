"""``intake.release_transfer``: the released coins reached the destination their release pinned.

A release (:mod:`.release`) moves the coins ``custody:pending`` → ``released`` in the custody
wallet, with the lawful owner's or victim's address pinned in its digest. The coins then leave
on chain, signed by the custody officers as every outgoing transfer is. This request records
that transfer, so the ledger follows the coins out: ``released`` → ``external`` for what the
destination received and ``released`` → ``fees`` for the network fee taken from the released
amount (the fee is never taken from another case's coins in the same wallet).

What the destination received is verified before the decision: where a chain source serves the
network, :func:`request_release_transfer` asks it what the transaction pays the pinned address
and records the answer as a :class:`~intake.models.ChainCheck`; offline, the clerk's evidence
stands in for it. The transaction must pay the pinned destination, at most the released amount,
with enough confirmations; a payment is claimed by one item only (a database constraint).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.custody_chain import append_event
from intake.models import ChainCheck, CourtOrder, ItemState, ReleaseTransfer, SeizedItem
from intake.transitions.common import (
    item_evidence,
    item_lots,
    payload_item,
    read_chain_check,
    read_item,
    refuse,
)
from intake.transitions.custody import chain_configured, ensure_confirmed, not_checked, record_chain_check
from reserve import roles
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.audit import record_event
from reserve.ledger.reasons import register_reason
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import Category

RELEASE_TRANSFER = "intake.release_transfer"

INTAKE_RELEASE_SENT = register_reason(
    "intake.release_sent", gettext_lazy("Released coins sent on chain to their lawful owner")
)

POLICIES = (
    DefaultPolicy(114, "Transfer of released coins", RELEASE_TRANSFER, ((roles.CUSTODY_OFFICER, 1),)),
)

RELEASED_EVENT = "intake.item.released"


@dataclass(frozen=True)
class Released:
    """What the executed release of an item pinned, read from its chain of custody."""

    destination: str
    units: int
    request: int | None
    order: int | None


def release_facts(item: SeizedItem) -> Released:
    """The destination and amount the item's release pinned (its last ``released`` custody
    event, written in the release's own transaction); refused for an item never released."""
    event = item.custody_events.filter(action=RELEASED_EVENT).order_by("-sequence").first()
    if item.state != ItemState.RELEASED or event is None:
        raise refuse(
            "item",
            _("Item #%(item)s is %(state)s; only released coins can be sent to their owner.")
            % {"item": item.pk, "state": item.get_state_display()},
            "wrong_state",
        )
    return Released(
        destination=event.data["destination"],
        units=item.asset.parse(event.data["amount"]),
        request=event.data.get("request"),
        order=event.data.get("order"),
    )


def ensure_not_sent(item: SeizedItem) -> None:
    if ReleaseTransfer.objects.filter(item=item).exists():
        raise refuse(
            "item",
            _("The transfer of item #%(item)s to its owner is already recorded.") % {"item": item.pk},
            "already_sent",
        )


def _normalized_txid(item: SeizedItem, txid: str) -> str:
    from intake.services import normalize_txid

    return normalize_txid(item.network, (txid or "").strip())


def check_transfer(*, item: SeizedItem, payload: dict, maker, transports=None) -> dict:
    """Ask the chain source what the payload's transaction pays the destination the item's
    release pinned, record the answer, and return the payload naming it (the amount received
    defaults to what the chain says)."""
    released = release_facts(item)
    ensure_not_sent(item)
    normalized = _normalized_txid(item, payload.get("txid") if isinstance(payload.get("txid"), str) else "")
    check = record_chain_check(
        item=item, txid=normalized, addresses=[released.destination], actor=maker, transports=transports
    )
    prepared = {**payload, "chain_check": check.pk, "txid": normalized}
    if not payload.get("sent_amount"):
        prepared["sent_amount"] = item.asset.format(check.paid_units)
    return prepared


def request_release_transfer(
    *,
    item: SeizedItem,
    txid: str,
    maker,
    sent_amount: str = "",
    evidence: str = "",
    comment: str = "",
    idempotency_key: str | None = None,
    transports=None,
):
    """Make the ``intake.release_transfer`` request for released ``item``: transaction ``txid``
    carried its coins to the pinned destination. Where a chain source serves the network, the
    chain is asked first (what ``txid`` pays the destination; by the kind's ``prepare``) and the
    request names the recorded check; ``sent_amount`` then defaults to what it found. A repeated ``idempotency_key``
    returns the request it made, asking nothing."""
    from reserve.approvals.services import create_request
    from reserve.models import ApprovalRequest

    if idempotency_key and ApprovalRequest.objects.filter(idempotency_key=idempotency_key).exists():
        return create_request(kind=RELEASE_TRANSFER, payload={}, maker=maker, idempotency_key=idempotency_key)
    payload = {"item": item.pk, "txid": txid, "sent_amount": sent_amount, "evidence": evidence}
    if transports is not None and chain_configured(item.network):
        # A given transport (tests, a recorded answer) is used here; otherwise the kind's
        # ``prepare`` asks the chain inside ``create_request``, after the maker's role is checked.
        payload = check_transfer(item=item, payload=payload, maker=maker, transports=transports)
    return create_request(
        kind=RELEASE_TRANSFER,
        payload=payload,
        maker=maker,
        comment=comment,
        idempotency_key=idempotency_key,
    )


def _payment_claimed(action: ReleaseTransferAction) -> ValidationError:
    return refuse(
        "txid",
        _("Transaction %(txid)s to %(destination)s is already recorded for another item.")
        % {"txid": action.txid, "destination": action.destination},
        "duplicate",
    )


@dataclass(frozen=True)
class ReleaseTransferAction:
    item: SeizedItem
    txid: str
    destination: str
    released_units: int
    sent_units: int
    evidence: str
    chain_check: ChainCheck | None

    @property
    def fee_units(self) -> int:
        return self.released_units - self.sent_units


class ReleaseTransferKind(RequestKind):
    code = RELEASE_TRANSFER
    label = gettext_lazy("Released coins sent to their owner")
    slug = "release-transfers"
    maker_roles = (roles.INTAKE_CLERK, roles.CUSTODY_OFFICER)
    api_serializer = "intake.transitions.serializers.ReleaseTransferPayloadSerializer"

    def prepare(self, payload: dict, *, maker) -> dict:
        """Where a chain source serves the item's network and the payload names no check yet,
        ask it now, whichever face makes the request."""
        item = payload_item(payload)
        if item is None or payload.get("chain_check") or not chain_configured(item.network):
            return payload
        return check_transfer(item=item, payload=payload, maker=maker)

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        item = read_item(payload, errors)
        released = None
        if item is not None:
            try:
                released = release_facts(item)
            except ValidationError as exc:
                errors.add("item", " ".join(exc.messages))
        txid = ""
        raw_txid = payload.get("txid")
        if not isinstance(raw_txid, str) or not raw_txid.strip():
            errors.add("txid", _("Enter the id of the transaction that sent the coins."))
        elif item is not None:
            try:
                txid = _normalized_txid(item, raw_txid)
            except ValidationError as exc:
                errors.add("txid", " ".join(exc.messages))
        units = checks.amount(payload, "sent_amount", errors, item.asset if item else None)
        evidence = checks.text(payload, "evidence", errors, required=False, max_length=2000)
        check = read_chain_check(payload, errors, item)
        errors.raise_if_any()
        clean = {
            "item": item.pk,
            "case": item.order.case.number,
            "asset": item.asset.symbol,
            "custody_wallet": item.custody_wallet.code,
            "destination": released.destination,
            "released_amount": item.asset.format(released.units),
            "txid": txid,
            "sent_amount": item.asset.format(units),
            "evidence": evidence,
        }
        if check is not None:
            clean["chain_check"] = check.pk
        return clean

    def parse(self, payload: dict) -> ReleaseTransferAction:
        item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").get(
            pk=payload["item"]
        )
        check = ChainCheck.objects.get(pk=payload["chain_check"]) if payload.get("chain_check") else None
        return ReleaseTransferAction(
            item=item,
            txid=payload["txid"],
            destination=payload["destination"],
            released_units=item.asset.parse(payload["released_amount"]),
            sent_units=item.asset.parse(payload["sent_amount"]),
            evidence=payload.get("evidence", ""),
            chain_check=check,
        )

    def title(self, action: ReleaseTransferAction) -> str:
        return _(
            "Record the transfer of %(amount)s %(asset)s of item #%(item)s (case %(case)s) to %(destination)s"
        ) % {
            "amount": action.item.asset.format(action.sent_units),
            "asset": action.item.asset.symbol,
            "item": action.item.pk,
            "case": action.item.order.case.number,
            "destination": action.destination,
        }

    def match_facts(self, action: ReleaseTransferAction) -> MatchFacts:
        return MatchFacts(
            asset=action.item.asset,
            amount_units=action.released_units,
            source_category=Category.RELEASED,
            destination_category=Category.EXTERNAL,
        )

    def ledger_effect(self, action: ReleaseTransferAction) -> list[EffectLine]:
        asset, wallet = action.item.asset, action.item.custody_wallet
        effect = [
            EffectLine(
                checks.account_label(wallet, Category.RELEASED), asset.format(action.released_units), "debit"
            ),
            EffectLine(
                checks.account_label("—", Category.EXTERNAL), asset.format(action.sent_units), "credit"
            ),
        ]
        if action.fee_units > 0:
            effect.append(
                EffectLine(
                    checks.account_label(wallet, Category.FEES), asset.format(action.fee_units), "credit"
                )
            )
        return effect

    def notices(self, action: ReleaseTransferAction) -> list[str]:
        asset, found = action.item.asset, []
        found.append(
            _("Destination pinned by the release: %(destination)s; released %(released)s %(asset)s.")
            % {
                "destination": action.destination,
                "released": asset.format(action.released_units),
                "asset": asset.symbol,
            }
        )
        if action.fee_units > 0:
            found.append(
                _("Network fee taken from the released amount: %(fee)s %(asset)s.")
                % {"fee": asset.format(action.fee_units), "asset": asset.symbol}
            )
        check = action.chain_check
        if check is not None:
            found.append(
                _(
                    "On-chain check (%(source)s): transaction %(txid)s pays %(paid)s %(asset)s to the destination "
                    "with %(confirmations)s confirmations."
                )
                % {
                    "source": check.source,
                    "txid": check.txid,
                    "paid": asset.format(check.paid_units),
                    "asset": asset.symbol,
                    "confirmations": check.confirmations,
                }
            )
        else:
            found.append(_("No on-chain check: verified by the clerk's evidence."))
        return found

    def evidence(self, action) -> list[dict]:
        """The release order and the approved release request that pinned the destination,
        beside the item's own order and case page."""
        released = release_facts(action.item)
        order = CourtOrder.objects.select_related("document").filter(pk=released.order).first()
        found = item_evidence(action.item, *([order] if order else []))
        if released.request:
            found.insert(
                0,
                {
                    "label": _("The release request that pinned the destination (REQ-%(request)06d)")
                    % {"request": released.request},
                    "url": reverse("workflow:request", args=[released.request]),
                },
            )
        return found

    def check_executable(self, action: ReleaseTransferAction) -> None:
        item = action.item
        released = release_facts(item)
        ensure_not_sent(item)
        if released.destination != action.destination or released.units != action.released_units:
            raise refuse("item", _("The item's release changed since the request was made."), "stale")
        if action.sent_units <= 0:
            raise refuse("sent_amount", _("The destination must receive more than zero."), "invalid")
        if action.sent_units > action.released_units:
            raise refuse(
                "sent_amount",
                _(
                    "%(sent)s %(asset)s is more than the %(released)s released; coins of other items never leave "
                    "with a release."
                )
                % {
                    "sent": item.asset.format(action.sent_units),
                    "released": item.asset.format(action.released_units),
                    "asset": item.asset.symbol,
                },
                "exceeds_release",
            )
        if ReleaseTransfer.objects.filter(txid=action.txid, destination=action.destination).exists():
            raise _payment_claimed(action)
        checks.ensure_active(asset=item.asset, wallets=[item.custody_wallet])
        if chain_configured(item.network):
            self._check_chain_facts(action)
        elif not action.evidence:
            raise refuse(
                "evidence",
                _(
                    "No chain source verifies this transfer: record the evidence of what the destination received."
                ),
                "required",
            )

    def _check_chain_facts(self, action: ReleaseTransferAction) -> None:
        item, check = action.item, action.chain_check
        if check is None:
            raise not_checked()
        if check.item_id != item.pk or check.txid != action.txid or check.addresses != [action.destination]:
            raise refuse("chain_check", _("The on-chain check is not of this transfer."))
        if check.paid_units != action.sent_units:
            raise refuse(
                "sent_amount",
                _("Transaction %(txid)s pays %(paid)s %(asset)s to the destination, not %(sent)s.")
                % {
                    "txid": action.txid,
                    "paid": item.asset.format(check.paid_units),
                    "asset": item.asset.symbol,
                    "sent": item.asset.format(action.sent_units),
                },
                "not_paid",
            )
        ensure_confirmed(check)

    def execute(self, *, request, action: ReleaseTransferAction, actor) -> dict:
        item = (
            SeizedItem.objects.select_for_update()
            .select_related("asset", "custody_wallet", "order__case")
            .get(pk=action.item.pk)
        )
        ensure_not_sent(item)
        asset, wallet = item.asset, item.custody_wallet
        lines = [
            Line(get_account(wallet=wallet, category=Category.RELEASED, asset=asset), -action.released_units),
            Line(get_account(wallet=None, category=Category.EXTERNAL, asset=asset), action.sent_units),
        ]
        if action.fee_units > 0:
            lines.append(
                Line(get_account(wallet=wallet, category=Category.FEES, asset=asset), action.fee_units)
            )
        entry = post_entry(
            reason=INTAKE_RELEASE_SENT.code,
            lines=lines,
            actor=actor,
            source=request,
            memo=request.title,
            take_lots_first=item_lots(item, category=Category.RELEASED),
        )
        try:
            with transaction.atomic():
                record = ReleaseTransfer.objects.create(
                    item=item,
                    request=request,
                    txid=action.txid,
                    destination=action.destination,
                    released_units=action.released_units,
                    sent_units=action.sent_units,
                    fee_units=action.fee_units,
                    chain_check=action.chain_check,
                    evidence=action.evidence,
                    entry=entry,
                    recorded_at=timezone.now(),
                )
        except IntegrityError:
            raise _payment_claimed(action) from None
        details = {
            "request": request.pk,
            "entry": entry.number,
            "txid": action.txid,
            "destination": action.destination,
            "sent_amount": asset.format(action.sent_units),
            "fee": asset.format(action.fee_units),
            "chain_check": action.chain_check.pk if action.chain_check else None,
        }
        record_event(action="intake.item.release_sent", actor=actor, subject=item, data=details)
        append_event(
            item=item, action="intake.item.release_sent", actor=actor, data=details, evidence=action.evidence
        )
        return {"entry": entry.number, "item": item.pk, "transfer": record.pk}
