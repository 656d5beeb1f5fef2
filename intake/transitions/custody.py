"""``intake.take_into_custody``: the coins of a registered item arrived in its custody wallet.
The received amount is verified before the decision: with a chain source for the item's network,
:func:`request_custody_intake` asks it about the item's transaction and records the answer as a
:class:`~intake.models.ChainCheck` that the request names; offline, the clerk's evidence stands
in for it. Executing re-checks only those stored facts (no chain I/O in the deciding
transaction), posts external → ``custody:pending`` at the custody wallet opening a lot that
names the item, its order and case, moves the item into custody and appends to its chain of
custody, all in the engine's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.custody_chain import append_event
from intake.models import ChainCheck, ItemState, SeizedItem
from intake.transitions.common import item_evidence, payload_item, read_chain_check, read_item
from reserve import roles
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.audit import record_event
from reserve.chain.base import paid_to
from reserve.chain.services import chain_source
from reserve.external.http import SourceError
from reserve.ledger.reasons import register_reason
from reserve.ledger.services import Line, Origin, get_account, post_entry
from reserve.models import Category

TAKE_INTO_CUSTODY = "intake.take_into_custody"

INTAKE_RECEIVED = register_reason(
    "intake.received",
    gettext_lazy("Seized coins received into custody"),
    opens_lots=True,
    requires_approval=True,
)

POLICIES = (
    DefaultPolicy(110, "Seizure intake into custody", TAKE_INTO_CUSTODY, ((roles.CUSTODY_OFFICER, 1),)),
)

#: The states from which coins may be taken into custody.
INTAKE_FROM = (ItemState.REGISTERED, ItemState.TRANSFER_PENDING)


def min_confirmations() -> int:
    return int(getattr(settings, "INTAKE_MIN_CONFIRMATIONS", 3))


def chain_configured(network: str) -> bool:
    """Whether a chain source serves ``network`` (configuration only: nothing is asked)."""
    return bool(settings.CHAIN_SOURCES.get(network))


def verified_on_chain(item: SeizedItem) -> bool:
    """The received amount of ``item`` is verified against the chain (a chain source serves its
    network and it names a transaction); otherwise the clerk's evidence is required."""
    return bool(item.txid) and chain_configured(item.network)


def custody_addresses(item: SeizedItem) -> list[str]:
    return sorted(item.custody_wallet.addresses.filter(is_active=True).values_list("address", flat=True))


def _refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def not_checked() -> ValidationError:
    return _refuse(
        "chain_check",
        _("The transaction must be checked on chain before the request is made."),
        "not_checked",
    )


def ensure_confirmed(check: ChainCheck) -> None:
    """The checked transaction has the confirmations intake requires."""
    if check.confirmations < min_confirmations():
        raise _refuse(
            "chain_check",
            _("Transaction %(txid)s has %(found)s confirmations; %(needed)s are required.")
            % {"txid": check.txid, "found": check.confirmations, "needed": min_confirmations()},
            "unconfirmed",
        )


def check_on_chain(*, item: SeizedItem, actor, transports=None) -> ChainCheck:
    """Ask the chain source what the item's transaction pays the custody wallet's active
    addresses, and with how many confirmations; record the answer. Runs before (never inside)
    the decision. A source that gives no usable answer is a refusal: try again later."""
    if not verified_on_chain(item):
        raise _refuse("item", _("No chain source serves this item's network; record the evidence instead."))
    addresses = custody_addresses(item)
    if not addresses:
        raise _refuse(
            "item",
            _("Custody wallet %(code)s has no active address to receive the coins.")
            % {"code": item.custody_wallet.code},
            "no_address",
        )
    return record_chain_check(
        item=item, txid=item.txid, addresses=addresses, actor=actor, transports=transports
    )


def record_chain_check(
    *, item: SeizedItem, txid: str, addresses: list[str], actor, transports=None
) -> ChainCheck:
    """Ask the chain source of ``item``'s network what transaction ``txid`` pays ``addresses``
    (summed), and with how many confirmations, and record the answer as a :class:`ChainCheck`
    of the item. A source that gives no usable answer is a refusal: try again later."""
    transport = (transports or {}).get(item.network)
    source = chain_source(item.network, transport=transport)
    try:
        found = source.transaction(txid)
    except SourceError as exc:
        raise _refuse(
            "item",
            _("The chain source could not answer about transaction %(txid)s (%(failure)s); try again later.")
            % {"txid": txid, "failure": exc},
            "source_unavailable",
        ) from exc
    paid = sum(paid_to(found, address) for address in addresses)
    with transaction.atomic():
        check = ChainCheck.objects.create(
            item=item,
            txid=txid,
            addresses=addresses,
            paid_units=paid,
            confirmations=found.confirmations,
            source=getattr(source, "code", ""),
            observed_at=timezone.now(),
            checked_by=actor if actor is not None and actor.is_authenticated else None,
        )
        record_event(
            action="intake.item.chain_checked",
            actor=actor,
            subject=item,
            data={
                "check": check.pk,
                "txid": txid,
                "addresses": addresses,
                "paid": item.asset.format(paid),
                "confirmations": found.confirmations,
                "source": check.source,
            },
        )
    return check


def request_custody_intake(
    *,
    item: SeizedItem,
    received_amount: str,
    maker,
    evidence: str = "",
    discrepancy_explanation: str = "",
    comment: str = "",
    idempotency_key: str | None = None,
    transports=None,
):
    """Make the ``intake.take_into_custody`` request for ``item``: where a chain source serves
    its network, check the chain first and name the recorded check in the request. A repeated
    ``idempotency_key`` (a double-clicked submit) returns the request it made, asking nothing."""
    from reserve.approvals.services import create_request
    from reserve.models import ApprovalRequest

    if idempotency_key and ApprovalRequest.objects.filter(idempotency_key=idempotency_key).exists():
        return create_request(
            kind=TAKE_INTO_CUSTODY, payload={}, maker=maker, idempotency_key=idempotency_key
        )

    payload = {
        "item": item.pk,
        "received_amount": received_amount,
        "evidence": evidence,
        "discrepancy_explanation": discrepancy_explanation,
    }
    if transports is not None and verified_on_chain(item) and item.state in INTAKE_FROM:
        # A given transport (tests, a recorded answer) is used here; otherwise the kind's
        # ``prepare`` asks the chain inside ``create_request``, after the maker's role is checked.
        payload["chain_check"] = check_on_chain(item=item, actor=maker, transports=transports).pk
    return create_request(
        kind=TAKE_INTO_CUSTODY, payload=payload, maker=maker, comment=comment, idempotency_key=idempotency_key
    )


@dataclass(frozen=True)
class TakeIntoCustodyAction:
    item: SeizedItem
    units: int
    evidence: str
    discrepancy_explanation: str
    chain_check: ChainCheck | None


def _item_label(item: SeizedItem) -> str:
    return f"{item.order.case.number} / {item.order.number} / item {item.pk}"


class TakeIntoCustodyKind(RequestKind):
    code = TAKE_INTO_CUSTODY
    label = gettext_lazy("Seized coins taken into custody")
    slug = "custody-intake"
    maker_roles = (roles.INTAKE_CLERK,)
    api_serializer = "intake.transitions.serializers.CustodyIntakePayloadSerializer"

    def prepare(self, payload: dict, *, maker) -> dict:
        """Where a chain source serves the item's network and the payload names no check yet,
        ask it now (every face: admin, workflow, API) and name the recorded check."""
        item = payload_item(payload)
        if item is None or payload.get("chain_check") or item.state not in INTAKE_FROM:
            return payload
        if not verified_on_chain(item):
            return payload
        return {**payload, "chain_check": check_on_chain(item=item, actor=maker).pk}

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        item = read_item(payload, errors)
        units = checks.amount(payload, "received_amount", errors, item.asset if item else None)
        evidence = checks.text(payload, "evidence", errors, required=False, max_length=2000)
        explanation = checks.text(payload, "discrepancy_explanation", errors, required=False, max_length=2000)
        check = read_chain_check(payload, errors, item)
        errors.raise_if_any()
        clean = {
            "item": item.pk,
            "case": item.order.case.number,
            "order": item.order.number,
            "asset": item.asset.symbol,
            "custody_wallet": item.custody_wallet.code,
            "claimed_amount": item.asset.format(item.claimed_amount),
            "received_amount": item.asset.format(units),
            "evidence": evidence,
            "discrepancy_explanation": explanation,
        }
        if check is not None:
            clean["chain_check"] = check.pk
        return clean

    def parse(self, payload: dict) -> TakeIntoCustodyAction:
        item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").get(
            pk=payload["item"]
        )
        check = ChainCheck.objects.get(pk=payload["chain_check"]) if payload.get("chain_check") else None
        return TakeIntoCustodyAction(
            item=item,
            units=item.asset.parse(payload["received_amount"]),
            evidence=payload.get("evidence", ""),
            discrepancy_explanation=payload.get("discrepancy_explanation", ""),
            chain_check=check,
        )

    def title(self, action: TakeIntoCustodyAction) -> str:
        return _("Take %(amount)s %(asset)s of item #%(item)s (case %(case)s) into custody in %(wallet)s") % {
            "amount": action.item.asset.format(action.units),
            "asset": action.item.asset.symbol,
            "item": action.item.pk,
            "case": action.item.order.case.number,
            "wallet": action.item.custody_wallet.code,
        }

    def match_facts(self, action: TakeIntoCustodyAction) -> MatchFacts:
        return MatchFacts(
            asset=action.item.asset,
            amount_units=action.units,
            source_category=Category.EXTERNAL,
            destination_category=Category.CUSTODY_PENDING,
        )

    def ledger_effect(self, action: TakeIntoCustodyAction) -> list[EffectLine]:
        amount = action.item.asset.format(action.units)
        return [
            EffectLine(checks.account_label("—", Category.EXTERNAL), amount, "debit"),
            EffectLine(
                checks.account_label(action.item.custody_wallet, Category.CUSTODY_PENDING), amount, "credit"
            ),
        ]

    def notices(self, action: TakeIntoCustodyAction) -> list[str]:
        item, found = action.item, []
        if action.units != item.claimed_amount:
            found.append(
                _("Discrepancy: %(claimed)s claimed, %(received)s received. Explanation: %(explanation)s")
                % {
                    "claimed": item.asset.format(item.claimed_amount),
                    "received": item.asset.format(action.units),
                    "explanation": action.discrepancy_explanation or "—",
                }
            )
        check = action.chain_check
        if check is not None:
            found.append(
                _(
                    "On-chain check (%(source)s): transaction %(txid)s pays %(paid)s %(asset)s to the custody "
                    "wallet with %(confirmations)s confirmations."
                )
                % {
                    "source": check.source,
                    "txid": check.txid,
                    "paid": item.asset.format(check.paid_units),
                    "asset": item.asset.symbol,
                    "confirmations": check.confirmations,
                }
            )
        else:
            found.append(_("No on-chain check: verified by the clerk's evidence."))
        return found

    def evidence(self, action) -> list[dict]:
        return item_evidence(action.item)

    def check_executable(self, action: TakeIntoCustodyAction) -> None:
        item = action.item
        if item.state not in INTAKE_FROM:
            raise _refuse(
                "item",
                _(
                    "Item #%(item)s is %(state)s; only a registered item or one whose transfer is pending can be taken into custody."
                )
                % {"item": item.pk, "state": item.get_state_display()},
                "wrong_state",
            )
        checks.ensure_active(asset=item.asset, wallets=[item.custody_wallet])
        if action.units != item.claimed_amount and not action.discrepancy_explanation:
            raise _refuse(
                "discrepancy_explanation",
                _(
                    "Unexplained discrepancy: %(claimed)s claimed, %(received)s received. Explain it before acceptance."
                )
                % {
                    "claimed": item.asset.format(item.claimed_amount),
                    "received": item.asset.format(action.units),
                },
                "unexplained_discrepancy",
            )
        if verified_on_chain(item):
            self._check_chain_facts(action)
        elif not action.evidence:
            raise _refuse(
                "evidence",
                _("No chain source verifies this transfer: record the evidence of the received amount."),
                "required",
            )

    def _check_chain_facts(self, action: TakeIntoCustodyAction) -> None:
        item, check = action.item, action.chain_check
        if check is None:
            raise not_checked()
        if check.item_id != item.pk or check.txid != item.txid:
            raise _refuse("chain_check", _("The on-chain check is not of this item's transaction."))
        if not set(check.addresses) & set(custody_addresses(item)):
            raise _refuse(
                "chain_check",
                _("The custody wallet's addresses changed since the on-chain check; check again."),
                "stale_check",
            )
        if check.paid_units != action.units:
            raise _refuse(
                "received_amount",
                _("Transaction %(txid)s pays %(paid)s %(asset)s to the custody address, not %(received)s.")
                % {
                    "txid": item.txid,
                    "paid": item.asset.format(check.paid_units),
                    "asset": item.asset.symbol,
                    "received": item.asset.format(action.units),
                },
                "not_paid",
            )
        ensure_confirmed(check)

    def execute(self, *, request, action: TakeIntoCustodyAction, actor) -> dict:
        item = SeizedItem.objects.select_for_update().get(pk=action.item.pk)
        if item.state not in INTAKE_FROM:
            raise _refuse(
                "item",
                _("Item #%(item)s is already %(state)s.")
                % {"item": item.pk, "state": item.get_state_display()},
                "wrong_state",
            )
        asset = action.item.asset
        entry = post_entry(
            reason=INTAKE_RECEIVED.code,
            lines=[
                Line(get_account(wallet=None, category=Category.EXTERNAL, asset=asset), -action.units),
                Line(
                    get_account(
                        wallet=action.item.custody_wallet, category=Category.CUSTODY_PENDING, asset=asset
                    ),
                    action.units,
                ),
            ],
            origin=Origin(
                kind="intake.item",
                label=_item_label(action.item),
                document=item,
                restriction=item.restriction,
            ),
            actor=actor,
            source=request,
            memo=request.title,
        )
        item.state = ItemState.IN_CUSTODY
        item.received_amount = action.units
        item.discrepancy_explanation = action.discrepancy_explanation
        item._history_user = actor
        item.save(update_fields=["state", "received_amount", "discrepancy_explanation"])
        details = {
            "request": request.pk,
            "entry": entry.number,
            "custody_wallet": action.item.custody_wallet.code,
            "claimed_amount": asset.format(item.claimed_amount),
            "received_amount": asset.format(action.units),
            "discrepancy_explanation": action.discrepancy_explanation,
            "chain_check": action.chain_check.pk if action.chain_check else None,
        }
        record_event(action="intake.item.in_custody", actor=actor, subject=item, data=details)
        append_event(
            item=item, action="intake.item.in_custody", actor=actor, data=details, evidence=action.evidence
        )
        return {"entry": entry.number, "item": item.pk}
