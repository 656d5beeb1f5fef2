"""``intake.forfeit``: a confiscation verdict in legal force makes seized coins state property.

The verdict must be of the item's case and final on the day of execution (see
:func:`~intake.transitions.common.ensure_in_force`). The coins move from ``custody:pending`` to
``reserve:forfeited`` in the custody wallet, or to ``restricted`` when the item carries a
restriction (its lots keep it). A verdict that forfeits part of an item splits it: the forfeited
part and the rest (still in custody, to be released or forfeited by a later order) become items
of their own.
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
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.audit import record_event
from reserve.ledger.reasons import register_reason
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import Category

FORFEIT = "intake.forfeit"

INTAKE_FORFEITED = register_reason(
    "intake.forfeited", gettext_lazy("Seized coins forfeited to the state by a final verdict")
)

POLICIES = (DefaultPolicy(111, "Forfeiture of seized coins", FORFEIT, ((roles.BOARD_MEMBER, 2),)),)


def destination_category(item: SeizedItem) -> str:
    return Category.RESTRICTED if item.restriction else Category.RESERVE_FORFEITED


@dataclass(frozen=True)
class ForfeitAction:
    item: SeizedItem
    order: CourtOrder
    units: int


def request_forfeiture(*, item: SeizedItem, order: CourtOrder, maker, amount: str = "", comment: str = ""):
    """Make the ``intake.forfeit`` request: ``order`` forfeits ``amount`` of ``item`` (all of it
    when not given)."""
    from reserve.approvals.services import create_request

    payload = {"item": item.pk, "order": order.pk}
    if amount:
        payload["amount"] = amount
    return create_request(kind=FORFEIT, payload=payload, maker=maker, comment=comment)


class ForfeitKind(RequestKind):
    code = FORFEIT
    label = gettext_lazy("Seized coins forfeited to the state")
    slug = "forfeitures"
    maker_roles = (roles.INTAKE_CLERK,)
    api_serializer = "intake.transitions.serializers.ForfeitPayloadSerializer"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        item = read_item(payload, errors)
        order = read_order(payload, errors)
        if item is not None:
            ensure_in_custody(item, doing=_("forfeited"))
        units = read_part(payload, errors, item)
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
            "destination": destination_category(item),
        }

    def parse(self, payload: dict) -> ForfeitAction:
        item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").get(
            pk=payload["item"]
        )
        order = CourtOrder.objects.select_related("case").get(pk=payload["order"])
        return ForfeitAction(item=item, order=order, units=item.asset.parse(payload["amount"]))

    def title(self, action: ForfeitAction) -> str:
        return _("Forfeit %(amount)s %(asset)s of item #%(item)s (case %(case)s) by verdict %(order)s") % {
            "amount": action.item.asset.format(action.units),
            "asset": action.item.asset.symbol,
            "item": action.item.pk,
            "case": action.item.order.case.number,
            "order": action.order.number,
        }

    def match_facts(self, action: ForfeitAction) -> MatchFacts:
        return MatchFacts(
            asset=action.item.asset,
            amount_units=action.units,
            source_category=Category.CUSTODY_PENDING,
            destination_category=destination_category(action.item),
        )

    def ledger_effect(self, action: ForfeitAction) -> list[EffectLine]:
        amount = action.item.asset.format(action.units)
        wallet = action.item.custody_wallet
        return [
            EffectLine(checks.account_label(wallet, Category.CUSTODY_PENDING), amount, "debit"),
            EffectLine(checks.account_label(wallet, destination_category(action.item)), amount, "credit"),
        ]

    def notices(self, action: ForfeitAction) -> list[str]:
        item, order, found = action.item, action.order, []
        found.append(
            _("Verdict %(order)s of %(issued)s, in legal force since %(day)s.")
            % {
                "order": order.number,
                "issued": order.issued_on.isoformat(),
                "day": order.in_force_on.isoformat() if order.in_force_on else "—",
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
        if item.restriction:
            found.append(
                _("The item is restricted (%(code)s): its coins go to restricted.")
                % {"code": item.restriction}
            )
        return found

    def evidence(self, action) -> list[dict]:
        return item_evidence(action.item, action.order)

    def check_executable(self, action: ForfeitAction) -> None:
        item = action.item
        ensure_in_custody(item, doing=_("forfeited"))
        ensure_in_force(
            order=action.order,
            item=item,
            kind=OrderKind.CONFISCATION,
            kind_label=OrderKind.CONFISCATION.label,
        )
        ensure_part(item, action.units)
        checks.ensure_active(asset=item.asset, wallets=[item.custody_wallet])

    def execute(self, *, request, action: ForfeitAction, actor) -> dict:
        item, lots, forfeited, rest = take_part(
            item_pk=action.item.pk,
            units=action.units,
            part_state=ItemState.FORFEITED,
            doing=_("forfeited"),
            actor=actor,
            request=request,
        )
        asset, wallet = item.asset, item.custody_wallet
        category = destination_category(item)
        entry = post_entry(
            reason=INTAKE_FORFEITED.code,
            lines=[
                Line(
                    get_account(wallet=wallet, category=Category.CUSTODY_PENDING, asset=asset), -action.units
                ),
                Line(get_account(wallet=wallet, category=category, asset=asset), action.units),
            ],
            actor=actor,
            source=request,
            memo=request.title,
            take_lots_first=lots,
        )
        if forfeited is item:
            item.state = ItemState.FORFEITED
            item._history_user = actor
            item.save(update_fields=["state"])
        details = {
            "request": request.pk,
            "entry": entry.number,
            "order": action.order.pk,
            "order_number": action.order.number,
            "amount": asset.format(action.units),
            "category": category,
            "rest": rest.pk if rest is not None else None,
        }
        record_event(action="intake.item.forfeited", actor=actor, subject=forfeited, data=details)
        append_event(item=forfeited, action="intake.item.forfeited", actor=actor, data=details)
        return {"entry": entry.number, "item": forfeited.pk, "rest": rest.pk if rest is not None else None}
