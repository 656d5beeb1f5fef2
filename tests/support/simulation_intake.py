"""Intake's operations and invariants for the seeded random-operations simulation
(``tests/reserve/test_simulation.py``), drawn from the same random stream.

Seized bitcoin is registered on a dedicated intake custody wallet and driven through the
approval engine: custody intake (offline evidence, sometimes with an explained or an unexplained
discrepancy), forfeiture (under a confiscation verdict in force, or occasionally one whose appeal
term still runs, which must be refused), release to an owner's address and the transfer that
carries the released coins out (now and then stating more than was released, which must be
refused), cancellation, and
partial forfeitures and releases that split an item. Decisions go through the simulation's
own ``decide_as`` and its quorum model (several tiers: a release needs a custody officer and a
board member), from ``op_decide`` and from ``op_intake_decide``, which picks intake requests.

Invariants after every operation:
- every unit in ``custody:pending`` at the intake wallet belongs to an item in custody there
  (the balance equals the sum of their received amounts);
- no item is forfeited without a confiscation verdict of its case in legal force when the
  forfeiture executed (checked against an independent model of "in force");
- the ``released`` balance at the intake wallet is exactly the released items not yet sent;
- the parts of every split item sum to its received amount.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from intake import services
from intake.models import CourtOrder, ItemState, OrderKind, ReleaseTransfer, SeizedItem, SourceKind
from intake.transitions import (
    FORFEIT,
    RELEASE_TRANSFER,
    TAKE_INTO_CUSTODY,
    request_cancellation,
    request_custody_intake,
    request_forfeiture,
    request_release,
    request_release_transfer,
)
from reserve.addresses import encode_segwit
from reserve.amounts import ExactSum
from reserve.approvals.errors import ApprovalError
from reserve.ledger.services import get_account
from reserve.models import ApprovalRequest, Category, RequestStatus, WalletKind
from tests.support.factories import WalletFactory

CLAIMS = ["0.5", "1", "0.25", "1.5", "2", "0.0123"]


def _days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def in_force(order, *, case_id: int, today: dt.date) -> bool:
    """The simulation's own model of a confiscation verdict in legal force for a case."""
    if order.kind != OrderKind.CONFISCATION or order.case_id != case_id:
        return False
    if order.in_force_on is None or order.in_force_on > today:
        return False
    if order.appeal_lodged:
        return order.appellate_ruling_on is not None and order.appellate_ruling_on <= today
    return order.appeal_deadline is not None and order.appeal_deadline < today


class IntakeOperations:
    """Mixed into the simulation: needs ``self.rng``, ``self.team``, ``self.asset``, ``self.stats``,
    ``self.candidates`` and ``self.decide_as`` (the decision and its quorum model)."""

    #: Items older than the latest this many are not picked any more (see ``_pick_item``).
    ITEM_WINDOW = 5_000

    INTAKE_OPERATIONS = [
        ("intake_register", 6),
        ("intake_custody", 6),
        ("intake_forfeit", 4),
        ("intake_release", 3),
        ("intake_send", 2),
        ("intake_cancel", 2),
        ("intake_decide", 12),
    ]

    def setup_intake(self) -> None:
        clerk = self.team.maker
        self.intake_wallet = WalletFactory(code="sim-intake", kind=WalletKind.SEIZURE_INTAKE)
        self.intake_pending = get_account(
            wallet=self.intake_wallet, category=Category.CUSTODY_PENDING, asset=self.asset
        )
        self.intake_released = get_account(
            wallet=self.intake_wallet, category=Category.RELEASED, asset=self.asset
        )
        court = services.register_court(name="Sim court", region="Astana", code="sim-court", actor=clerk)
        self.intake_cases = []
        for n in range(2):
            case = services.open_case(
                court=court,
                number=f"SIM-{n}",
                investigating_authority="Sim agency",
                opened_on=_days_ago(200),
                actor=clerk,
            )
            record = dict(case=case, actor=clerk)
            self.intake_cases.append(
                {
                    "case": case,
                    "arrest": services.record_order(
                        kind=OrderKind.ARREST, number=f"A-{n}", issued_on=_days_ago(190), **record
                    ),
                    "verdict": services.record_order(
                        kind=OrderKind.CONFISCATION,
                        number=f"V-{n}",
                        issued_on=_days_ago(60),
                        appeal_deadline=_days_ago(30),
                        in_force_on=_days_ago(29),
                        **record,
                    ),
                    # Appeal term still running: a forfeiture under it is refused.
                    "running": services.record_order(
                        kind=OrderKind.CONFISCATION,
                        number=f"V-{n}-running",
                        issued_on=_days_ago(3),
                        appeal_deadline=_days_ago(-12),
                        **record,
                    ),
                    "release": services.record_order(
                        kind=OrderKind.RELEASE,
                        number=f"R-{n}",
                        issued_on=_days_ago(60),
                        appeal_deadline=_days_ago(30),
                        in_force_on=_days_ago(29),
                        **record,
                    ),
                }
            )
        self.forfeited_verified: set[int] = set()

    def _pick_item(self, *states: str, unless_pending: str = "") -> SeizedItem | None:
        newest = SeizedItem.objects.order_by("-id").values_list("id", flat=True).first() or 0
        # Only the latest ITEM_WINDOW items: the walk back through the wallet's items until
        # PICK_WINDOW match is bounded however many older items sit in other states.
        items = SeizedItem.objects.filter(
            custody_wallet=self.intake_wallet, state__in=states, pk__gt=newest - self.ITEM_WINDOW
        )
        if unless_pending:
            waiting = ApprovalRequest.objects.filter(status=RequestStatus.PENDING, kind=unless_pending)
            # In SQL: reading every waiting payload made the pick cost grow with the run.
            items = items.exclude(
                pk__in=waiting.values_list(Cast(KeyTextTransform("item", "payload"), IntegerField()))
            )
        ids = list(items.order_by("-id").values_list("id", flat=True)[: self.PICK_WINDOW])
        if not ids:
            return None
        return SeizedItem.objects.select_related("order__case", "asset").get(pk=self.rng.choice(ids))

    def _case_of(self, item: SeizedItem) -> dict:
        return next(c for c in self.intake_cases if c["case"].pk == item.order.case_id)

    def _part(self, item: SeizedItem) -> str:
        """All of the item (empty), or now and then a part of it (a split)."""
        if self.rng.random() < 0.3 and item.received_amount > 1:
            return self.asset.format(self.rng.randint(1, item.received_amount - 1))
        return ""

    # Operations

    def op_intake_register(self):
        case = self.rng.choice(self.intake_cases)
        services.register_item(
            order=case["arrest"],
            asset=self.asset,
            claimed_amount=self.rng.choice(CLAIMS),
            source_kind=SourceKind.ADDRESS,
            source_address=encode_segwit("bc", 0, self.rng.randbytes(20)),
            txid=f"{self.rng.getrandbits(256):064x}",
            vout=self.rng.randint(0, 3),
            custody_wallet=self.intake_wallet,
            actor=self.team.maker,
        )

    def op_intake_custody(self):
        item = self._pick_item(
            ItemState.REGISTERED, ItemState.TRANSFER_PENDING, unless_pending=TAKE_INTO_CUSTODY
        )
        if item is None:
            return
        received, explanation = item.claimed_amount, ""
        roll = self.rng.random()
        if roll < 0.15 and received > 10_000:
            received -= 10_000
            explanation = "" if roll < 0.03 else "Network fee paid out of the seized amount."
        try:
            request_custody_intake(
                item=item,
                received_amount=self.asset.format(received),
                evidence="Seizure protocol (offline)",
                discrepancy_explanation=explanation,
                maker=self.team.maker,
            )
        except ApprovalError:
            self.stats["intake_custody refused: no approvers could decide"] += 1
            return
        except ValidationError:
            assert received != item.claimed_amount and not explanation, "custody intake refused"
            self.stats["intake_custody refused: unexplained discrepancy"] += 1
            return
        assert received == item.claimed_amount or explanation, "unexplained discrepancy accepted"

    def op_intake_forfeit(self):
        item = self._pick_item(ItemState.IN_CUSTODY)
        if item is None:
            return
        case = self._case_of(item)
        final = self.rng.random() >= 0.1
        order = case["verdict"] if final else case["running"]
        try:
            request_forfeiture(item=item, order=order, amount=self._part(item), maker=self.team.maker)
        except ValidationError:
            if final:
                raise
            self.stats["intake_forfeit refused: not in force"] += 1
            return
        assert final, f"forfeiture of item #{item.pk} under order {order.number}, not in force, was accepted"

    def op_intake_release(self):
        item = self._pick_item(ItemState.IN_CUSTODY)
        if item is None:
            return
        request_release(
            item=item,
            order=self._case_of(item)["release"],
            destination=encode_segwit("bc", 0, self.rng.randbytes(20)),
            amount=self._part(item),
            maker=self.team.maker,
        )

    def op_intake_send(self):
        """The released coins leave on chain: the destination gets the released amount less a
        fee; now and then the clerk states more than was released, which must be refused."""
        item = self._pick_item(ItemState.RELEASED, unless_pending=RELEASE_TRANSFER)
        if item is None or ReleaseTransfer.objects.filter(item=item).exists():
            return
        released = item.received_amount
        too_much = self.rng.random() < 0.1
        sent = released + 1 if too_much else released - self.rng.randint(0, min(released - 1, 20_000))
        try:
            request_release_transfer(
                item=item,
                txid=f"{self.rng.getrandbits(256):064x}",
                sent_amount=self.asset.format(sent),
                evidence="Signed transaction record (offline)",
                maker=self.team.maker,
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "unmeetable":
                # The simulation's approver changes and deactivations left no custody officer
                # who could decide it: refused when made, whatever the amount.
                self.stats["intake_send refused: no approvers"] += 1
                return
            assert too_much, f"release transfer of item #{item.pk} refused: {exc}"
            self.stats["intake_send refused: more than released"] += 1
            return
        assert not too_much, f"item #{item.pk}: more than the released amount accepted"

    def op_intake_cancel(self):
        item = self._pick_item(ItemState.REGISTERED, ItemState.TRANSFER_PENDING)
        if item is None:
            return
        request_cancellation(item=item, reason="Order withdrawn (sim)", maker=self.team.maker)

    def op_intake_decide(self):
        """A decision on a pending intake request, mostly by an approver of its policy (the
        simulation's ``op_decide`` rarely reaches them among the ledger's requests)."""
        pending = list(
            ApprovalRequest.objects.filter(status=RequestStatus.PENDING, kind__startswith="intake.")
            .order_by("-id")
            .values_list("id", flat=True)[: self.PICK_WINDOW]
        )
        if not pending:
            return
        request = ApprovalRequest.objects.get(pk=self.rng.choice(pending))
        team = self.team
        approvers = [team.custody1, team.custody2, team.custody3, team.board1, team.board2, team.board3]
        of_policy = set().union(
            *self.members_of(group for group, _required in self.policy_tiers(request)).values()
        )
        approvers = [u for u in approvers if u.pk in of_policy] or approvers
        user = self.rng.choice(approvers if self.rng.random() < 0.85 else self.candidates)
        self.decide_as(request, user, "reject" if self.rng.random() < 0.05 else "approve")

    # Hooks for op_decide and check()

    def intake_executed(self, request) -> None:
        """Called when ``request`` executed: a forfeiture must have had its verdict in force."""
        if request.kind != FORFEIT:
            return
        item = SeizedItem.objects.select_related("order").get(pk=request.payload["item"])
        order = CourtOrder.objects.get(pk=request.payload["order"])
        assert in_force(order, case_id=item.order.case_id, today=timezone.localdate()), (
            f"item #{item.pk} forfeited under order {order.number}, not in force"
        )
        forfeited = set(SeizedItem.objects.filter(state=ItemState.FORFEITED).values_list("id", flat=True))
        new = forfeited - self.forfeited_verified
        assert len(new) == 1, f"one forfeiture forfeited items {sorted(new)}"
        self.forfeited_verified |= new

    def intake_summary(self) -> dict[str, int]:
        """How many of the simulation's seized items ended in each state."""
        items = SeizedItem.objects.filter(custody_wallet=self.intake_wallet)
        return {state: items.filter(state=state).count() for state in ItemState.values}

    def check_intake(self) -> None:
        self.intake_pending.refresh_from_db()
        held = SeizedItem.objects.filter(
            custody_wallet=self.intake_wallet, asset=self.asset, state=ItemState.IN_CUSTODY
        ).aggregate(total=ExactSum("received_amount"))["total"]
        assert self.intake_pending.balance == (held or 0), (
            f"custody:pending {self.intake_pending.balance} != items in custody {held or 0}"
        )
        self.intake_released.refresh_from_db()
        awaiting = (
            SeizedItem.objects.filter(custody_wallet=self.intake_wallet, state=ItemState.RELEASED)
            .exclude(pk__in=ReleaseTransfer.objects.values("item_id"))
            .aggregate(total=ExactSum("received_amount"))["total"]
        )
        assert self.intake_released.balance == (awaiting or 0), (
            f"released {self.intake_released.balance} != released items not yet sent {awaiting or 0}"
        )
        forfeited = set(SeizedItem.objects.filter(state=ItemState.FORFEITED).values_list("id", flat=True))
        assert forfeited == self.forfeited_verified, (
            f"forfeited without a verified verdict: {sorted(forfeited - self.forfeited_verified)}"
        )
        parents = dict(SeizedItem.objects.filter(state=ItemState.SPLIT).values_list("id", "received_amount"))
        parts: dict[int, int] = dict.fromkeys(parents, 0)
        for parent_id, amount in SeizedItem.objects.filter(parent__isnull=False).values_list(
            "parent_id", "received_amount"
        ):
            parts[parent_id] = parts.get(parent_id, 0) + amount
        assert parts == parents, "split parts do not sum to their parent's received amount"
