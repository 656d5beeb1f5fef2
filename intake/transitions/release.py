"""``intake.release``: a release (return) order in legal force sends seized coins back.

The order must be of the item's case and final on the day of execution. The destination (the
lawful owner's or victim's address) is validated for the item's network and pinned in the
payload, so it is part of the digest the approvers sign and is shown to them. The coins leave
custody as disposals do: ``custody:pending`` → ``released`` in the custody wallet (``released``
is not a held category); the on-chain transfer to the destination follows the approval. A
partial release splits the item like a partial forfeiture.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.custody_chain import append_event
from intake.models import CourtOrder, ItemState, OrderKind, SeizedItem
from intake.transitions.common import (
    ensure_in_custody,
    ensure_in_force,
    ensure_part,
    item_evidence,
    read_item,
    read_order,
    read_part,
    take_part,
)
from reserve import roles
from reserve.addresses import AddressError, normalize_address
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.audit import record_event
from reserve.ledger.reasons import register_reason
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import Category, WalletAddress

RELEASE = "intake.release"

INTAKE_RELEASED = register_reason(
    "intake.released", gettext_lazy("Seized coins released to their lawful owner by a final order")
)

POLICIES = (
    DefaultPolicy(
        112, "Release of seized coins", RELEASE, ((roles.CUSTODY_OFFICER, 1), (roles.BOARD_MEMBER, 1))
    ),
)


@dataclass(frozen=True)
class ReleaseAction:
    item: SeizedItem
    order: CourtOrder
    units: int
    destination: str


def request_release(
    *, item: SeizedItem, order: CourtOrder, destination: str, maker, amount: str = "", comment: str = ""
):
    """Make the ``intake.release`` request: ``order`` returns ``amount`` of ``item`` (all of it
    when not given) to ``destination``."""
    from reserve.approvals.services import create_request

    payload = {"item": item.pk, "order": order.pk, "destination": destination}
    if amount:
        payload["amount"] = amount
    return create_request(kind=RELEASE, payload=payload, maker=maker, comment=comment)


class ReleaseKind(RequestKind):
    code = RELEASE
    label = gettext_lazy("Seized coins released to their owner")
    slug = "releases"
    api_serializer = "intake.transitions.serializers.ReleasePayloadSerializer"
    maker_roles = (roles.INTAKE_CLERK,)

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        item = read_item(payload, errors)
        order = read_order(payload, errors)
        if item is not None:
            ensure_in_custody(item, doing=_("released"))
        units = read_part(payload, errors, item)
        destination = ""
        raw = payload.get("destination")
        if raw in (None, ""):
            errors.add("destination", _("Enter the address of the lawful owner or victim."))
        elif item is not None:
            try:
                destination = normalize_address(item.network, raw)
            except AddressError as exc:
                errors.add("destination", str(exc))
            else:
                if WalletAddress.objects.filter(network=item.network, address=destination).exists():
                    errors.add(
                        "destination",
                        _("%(address)s is an address of the fund's own wallets; a release goes to the owner.")
                        % {"address": destination},
                    )
        errors.raise_if_any()
        return {
            "item": item.pk,
            "case": item.order.case.number,
            "order": order.pk,
            "order_number": order.number,
            "asset": item.asset.symbol,
            "custody_wallet": item.custody_wallet.code,
            "held_amount": item.asset.format(item.received_amount or 0),
            "amount": item.asset.format(units),
            "destination": destination,
        }

    def parse(self, payload: dict) -> ReleaseAction:
        item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").get(
            pk=payload["item"]
        )
        order = CourtOrder.objects.select_related("case").get(pk=payload["order"])
        return ReleaseAction(
            item=item,
            order=order,
            units=item.asset.parse(payload["amount"]),
            destination=payload["destination"],
        )

    def title(self, action: ReleaseAction) -> str:
        return _("Release %(amount)s %(asset)s of item #%(item)s (case %(case)s) to %(destination)s") % {
            "amount": action.item.asset.format(action.units),
            "asset": action.item.asset.symbol,
            "item": action.item.pk,
            "case": action.item.order.case.number,
            "destination": action.destination,
        }

    def match_facts(self, action: ReleaseAction) -> MatchFacts:
        return MatchFacts(
            asset=action.item.asset,
            amount_units=action.units,
            source_category=Category.CUSTODY_PENDING,
            destination_category=Category.RELEASED,
        )

    def ledger_effect(self, action: ReleaseAction) -> list[EffectLine]:
        amount = action.item.asset.format(action.units)
        wallet = action.item.custody_wallet
        return [
            EffectLine(checks.account_label(wallet, Category.CUSTODY_PENDING), amount, "debit"),
            EffectLine(checks.account_label(wallet, Category.RELEASED), amount, "credit"),
        ]

    def notices(self, action: ReleaseAction) -> list[str]:
        item, found = action.item, []
        found.append(
            _("Destination (owner or victim, %(network)s): %(destination)s")
            % {"network": item.network, "destination": action.destination}
        )
        found.append(
            _("Order %(order)s, in legal force since %(day)s.")
            % {
                "order": action.order.number,
                "day": action.order.in_force_on.isoformat() if action.order.in_force_on else "—",
            }
        )
        if item.received_amount is not None and action.units < item.received_amount:
            found.append(
                _(
                    "Part of the item: %(part)s of %(held)s %(asset)s; the rest stays in custody as an item of its own."
                )
                % {
                    "part": item.asset.format(action.units),
                    "held": item.asset.format(item.received_amount),
                    "asset": item.asset.symbol,
                }
            )
        return found

    def evidence(self, action) -> list[dict]:
        return item_evidence(action.item, action.order)

    def check_executable(self, action: ReleaseAction) -> None:
        item = action.item
        ensure_in_custody(item, doing=_("released"))
        ensure_in_force(
            order=action.order, item=item, kind=OrderKind.RELEASE, kind_label=OrderKind.RELEASE.label
        )
        ensure_part(item, action.units)
        checks.ensure_active(asset=item.asset, wallets=[item.custody_wallet])

    def execute(self, *, request, action: ReleaseAction, actor) -> dict:
        item, lots, released, rest = take_part(
            item_pk=action.item.pk,
            units=action.units,
            part_state=ItemState.RELEASED,
            doing=_("released"),
            actor=actor,
            request=request,
        )
        asset, wallet = item.asset, item.custody_wallet
        entry = post_entry(
            reason=INTAKE_RELEASED.code,
            lines=[
                Line(
                    get_account(wallet=wallet, category=Category.CUSTODY_PENDING, asset=asset), -action.units
                ),
                Line(get_account(wallet=wallet, category=Category.RELEASED, asset=asset), action.units),
            ],
            actor=actor,
            source=request,
            memo=request.title,
            take_lots_first=lots,
        )
        if released is item:
            item.state = ItemState.RELEASED
            item._history_user = actor
            item.save(update_fields=["state"])
        details = {
            "request": request.pk,
            "entry": entry.number,
            "order": action.order.pk,
            "order_number": action.order.number,
            "amount": asset.format(action.units),
            "destination": action.destination,
            "rest": rest.pk if rest is not None else None,
        }
        record_event(action="intake.item.released", actor=actor, subject=released, data=details)
        append_event(item=released, action="intake.item.released", actor=actor, data=details)
        return {"entry": entry.number, "item": released.pk, "rest": rest.pk if rest is not None else None}
