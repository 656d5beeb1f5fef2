"""``intake.cancel``: the seizure order was withdrawn before the coins arrived.

Only a registered item, or one whose transfer is pending, can be cancelled: nothing is in the
ledger for it. Coins in custody never just vanish: they leave by a release (or forfeiture)
order, so an item in custody is refused here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake.custody_chain import append_event
from intake.models import ItemState, SeizedItem
from intake.transitions.common import item_evidence, read_item, refuse
from reserve import roles
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import MatchFacts, RequestKind
from reserve.audit import record_event

CANCEL = "intake.cancel"

POLICIES = (DefaultPolicy(113, "Cancellation of a seized item", CANCEL, ((roles.CUSTODY_OFFICER, 1),)),)

#: The states from which an item can be cancelled: no coins in custody yet.
CANCEL_FROM = (ItemState.REGISTERED, ItemState.TRANSFER_PENDING)


@dataclass(frozen=True)
class CancelAction:
    item: SeizedItem
    reason: str


def request_cancellation(*, item: SeizedItem, reason: str, maker, comment: str = ""):
    from reserve.approvals.services import create_request

    return create_request(
        kind=CANCEL, payload={"item": item.pk, "reason": reason}, maker=maker, comment=comment
    )


def _ensure_cancellable(item: SeizedItem) -> None:
    if item.state == ItemState.IN_CUSTODY:
        raise refuse(
            "item",
            _(
                "Item #%(item)s is in custody: its coins cannot just be written off; release them by a release order."
            )
            % {"item": item.pk},
            "in_custody",
        )
    if item.state not in CANCEL_FROM:
        raise refuse(
            "item",
            _(
                "Item #%(item)s is %(state)s; only a registered item or one whose transfer is pending can be cancelled."
            )
            % {"item": item.pk, "state": item.get_state_display()},
            "wrong_state",
        )


class CancelKind(RequestKind):
    code = CANCEL
    label = gettext_lazy("Seized item cancelled (order withdrawn)")
    slug = "seizure-cancellations"
    api_serializer = "intake.transitions.serializers.CancelPayloadSerializer"
    maker_roles = (roles.INTAKE_CLERK,)

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        item = read_item(payload, errors)
        reason = checks.text(payload, "reason", errors, required=True, max_length=2000)
        errors.raise_if_any()
        return {
            "item": item.pk,
            "case": item.order.case.number,
            "order": item.order.number,
            "asset": item.asset.symbol,
            "claimed_amount": item.asset.format(item.claimed_amount),
            "reason": reason,
        }

    def parse(self, payload: dict) -> CancelAction:
        item = SeizedItem.objects.select_related("asset", "custody_wallet", "order__case").get(
            pk=payload["item"]
        )
        return CancelAction(item=item, reason=payload["reason"])

    def title(self, action: CancelAction) -> str:
        return _("Cancel item #%(item)s (case %(case)s): the order was withdrawn") % {
            "item": action.item.pk,
            "case": action.item.order.case.number,
        }

    def match_facts(self, action: CancelAction) -> MatchFacts:
        return MatchFacts(asset=action.item.asset)

    def notices(self, action: CancelAction) -> list[str]:
        return [
            _("Reason: %(reason)s") % {"reason": action.reason},
            _("No ledger effect: no coins were received."),
        ]

    def evidence(self, action) -> list[dict]:
        return item_evidence(action.item)

    def check_executable(self, action: CancelAction) -> None:
        _ensure_cancellable(action.item)

    def execute(self, *, request, action: CancelAction, actor) -> dict:
        item = SeizedItem.objects.select_for_update().get(pk=action.item.pk)
        _ensure_cancellable(item)
        before = item.state
        item.state = ItemState.CANCELLED
        item._history_user = actor
        item.save(update_fields=["state"])
        details = {"request": request.pk, "from": before, "reason": action.reason}
        record_event(action="intake.item.cancelled", actor=actor, subject=item, data=details)
        append_event(item=item, action="intake.item.cancelled", actor=actor, data=details)
        return {"item": item.pk}
