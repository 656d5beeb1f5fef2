"""Issue #12: a seeded random-operations simulation of the ledger and the approval engine;
issue #18: it drives intake's transitions too (:mod:`tests.support.simulation_intake`), and
issue #19 mining's reports and sweeps (:mod:`tests.support.simulation_mining`); their invariants
are checked after every operation as well.

After every operation: the account balances sum to zero and equal a replay of the journal
(an in-memory model fed only by what the operations did), no held account is negative, and
every executed request executed once, with a quorum that was valid when it executed in every
tier of its policy (checked against an independent model of who could approve at that moment).
The streams' invariants, which read their whole tables (items, daily lines, entries), run after
every one of the first 10,000 operations and then after every 1,000th. At 1k, 2k, ... 10k, 20k,
... operations, and at the end: the postings sum to zero and ``verify_ledger`` finds nothing.
Every operation commits, as in production; the rate is printed every 10,000 operations, and
stays flat as the ledger grows: no per-operation step reads a table that grows with the run.

    make simulate SEED=1234 OPS=100000     # replay a seed or run a long simulation
    SIM_SEED=1234 SIM_OPS=20000 pytest tests/reserve/test_simulation.py -s
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections import defaultdict

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from reserve.amounts import ExactSum
from reserve.approvals.services import ApprovalError, create_request, decide, expire_requests
from reserve.ledger import prepared
from reserve.ledger.services import LedgerError, Line, Origin, get_account, post_entry, reverse_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import (
    Account,
    ApprovalRequest,
    ApproverMembership,
    Decision,
    JournalEntry,
    Posting,
    RequestStatus,
)
from tests.support.factories import UserFactory, WalletFactory
from tests.support.simulation_intake import IntakeOperations
from tests.support.simulation_mining import MiningOperations

SEED = int(os.environ.get("SIM_SEED") or random.SystemRandom().randrange(1, 10**9))
OPS = int(os.environ.get("SIM_OPS") or 10_000)
#: Print the rate every this many operations (a long run shows it is still going, and how fast).
PROGRESS_EVERY = 10_000
#: How often the simulation's clock lets waiting requests expire (see ``Simulation.STALE_AFTER``).
CLOCK_EVERY = 1_000
CATEGORIES = ["custody:pending", "reserve:forfeited", "reserve:mined"]


class Simulation(IntakeOperations, MiningOperations):
    #: An operation that picks a pending request, an item or a report chooses among the latest
    #: this many, so that picking costs the same however many wait.
    PICK_WINDOW = 500
    #: The simulation has no clock, so no request would ever reach its expiry: every
    #: :data:`CLOCK_EVERY` operations, the pending requests made more than this many requests
    #: ago expire, through ``expire_requests`` as the hourly task closes them. Requests left
    #: waiting would otherwise pile up, and every pick among pending ones walked them all.
    STALE_AFTER = 1_000

    def __init__(self, team, asset, rng: random.Random):
        self.team = team
        self.asset = asset
        self.rng = rng
        wallets = [WalletFactory(code=f"sim-{i}") for i in range(3)]
        self.wallets = wallets
        self.accounts = [get_account(wallet=w, category=c, asset=asset) for w in wallets for c in CATEGORIES]
        self.external = get_account(wallet=None, category="external", asset=asset)
        self.expected: dict[int, int] = defaultdict(int)
        self.entries: list[JournalEntry] = []
        self.custody = Group.objects.get(name="Custody officer")
        self.board = Group.objects.get(name="Board member")
        self.candidates = [
            team.custody1,
            team.custody2,
            team.custody3,
            team.board1,
            team.board2,
            team.board3,
            team.treasury1,
            team.outsider,
            team.maker,
        ] + [UserFactory(username=f"sim-user-{i}") for i in range(3)]
        self.stats: dict[str, int] = defaultdict(int)
        self.executions: dict[int, int] = {}
        self.tiers_of: dict[int, list[tuple[int, int]]] = {}
        self.setup_intake()
        self.setup_mining()

    # The independent model of who counts

    def policy_tiers(self, request: ApprovalRequest) -> list[tuple[int, int]]:
        """(group id, required) of each tier of the request's policy: read once per policy (the
        simulation never edits a policy; an amended request may name another one)."""
        tiers = self.tiers_of.get(request.policy_id)
        if tiers is None:
            tiers = self.tiers_of[request.policy_id] = list(
                request.policy.tiers.order_by("position").values_list("group_id", "required")
            )
        return tiers

    def members_of(self, group_ids) -> dict[int, set[int]]:
        """The active approvers of each group, as the database holds them now (one statement,
        compiled once: :mod:`reserve.ledger.prepared`)."""
        members: dict[int, set[int]] = {group_id: set() for group_id in group_ids}
        ids = prepared.padded(list(members))
        for group_id, user_id in prepared.rows(
            ("simulation: members", len(ids)),
            lambda *ids: ApproverMembership.objects.filter(
                group_id__in=ids, revoked_at__isnull=True, user__is_active=True
            ).values_list("group_id", "user_id"),
            ids,
        ):
            members[group_id].add(user_id)
        return members

    def approvals_of(self, request: ApprovalRequest) -> set[int]:
        """Who approved the request's current revision and digest (the maker never counts)."""
        decisions = prepared.rows(
            ("simulation: decisions",),
            lambda pk: Decision.objects.filter(request_id=pk).values_list(
                "approver_id", "verdict", "revision", "digest"
            ),
            [request.pk],
        )
        return {
            approver
            for approver, verdict, revision, digest in decisions
            if verdict == "approve" and revision == request.revision and digest == request.payload_digest
        } - {request.maker_id}

    def apply_entry(self, entry: JournalEntry) -> None:
        for account_id, amount in entry.postings.values_list("account_id", "amount"):
            self.expected[account_id] += amount
        self.entries.append(entry)

    # Operations

    def op_fund(self):
        account = self.rng.choice(self.accounts)
        units = self.rng.randint(1, 10**9)
        entry = post_entry(
            reason="test.inflow",
            lines=[Line(self.external, -units), Line(account, units)],
            origin=Origin(kind="sim", label=f"sim seizure {len(self.entries)}"),
        )
        self.apply_entry(entry)

    def op_move(self):
        source, target = self.rng.sample(self.accounts, 2)
        units = self.rng.randint(1, 2 * 10**8)
        self.apply_entry(post_entry(reason="test.move", lines=[Line(source, -units), Line(target, units)]))

    def op_out(self):
        source = self.rng.choice(self.accounts)
        units = self.rng.randint(1, 10**8)
        self.apply_entry(
            post_entry(reason="test.outflow", lines=[Line(source, -units), Line(self.external, units)])
        )

    def op_reverse(self):
        if not self.entries:
            return
        # A stream's entries are undone by its own workflow (a release, a reopened report), never
        # by a bare reversal behind the items' and reports' backs: their invariants track them.
        entries = [
            e
            for e in self.entries[-50:]
            if e.pk not in self.mining_entry_ids and not e.reason.startswith(("intake.", "mining."))
        ]
        if not entries:
            return
        entry = self.rng.choice(entries)
        self.apply_entry(reverse_entry(entry=entry))

    def op_request_transfer(self):
        source, target = self.rng.sample(self.wallets, 2)
        amount = self.rng.choice(["0.1", "0.5", "1", "2.5", "10"])
        create_request(
            kind="reserve.transfer",
            payload={
                "asset": self.asset.symbol,
                "amount": amount,
                "from_wallet": source.code,
                "to_wallet": target.code,
                "category": self.rng.choice(CATEGORIES),
            },
            maker=self.rng.choice([self.team.maker, self.team.custody1, self.team.treasury1]),
        )

    def op_request_governance(self):
        user = self.rng.choice(self.candidates[:3] + self.candidates[-3:])
        member = ApproverMembership.objects.filter(
            user=user, group=self.custody, revoked_at__isnull=True
        ).exists()
        create_request(
            kind="reserve.approver_change",
            payload={
                "action": "revoke" if member else "grant",
                "user": user.username,
                "group": self.custody.name,
            },
            maker=self.team.maker,
        )

    def op_decide(self):
        pending = list(ApprovalRequest.objects.filter(status=RequestStatus.PENDING).order_by("-id")[:10])
        if not pending:
            return
        request = self.rng.choice(pending)
        approvers = [
            self.team.custody1,
            self.team.custody2,
            self.team.custody3,
            self.team.board1,
            self.team.board2,
        ]
        user = self.rng.choice(approvers if self.rng.random() < 0.7 else self.candidates)
        verdict = "reject" if self.rng.random() < 0.08 else "approve"
        self.decide_as(request, user, verdict)

    def decide_as(self, request: ApprovalRequest, user, verdict: str) -> None:
        """Decide ``request`` as ``user`` and check the outcome against the independent model."""
        tiers = self.policy_tiers(request)
        members = self.members_of(group for group, _required in tiers)
        approved = self.approvals_of(request)
        before = {group: approved & members[group] for group, _required in tiers}
        eligible_now = user.pk != request.maker_id and any(user.pk in m for m in members.values())
        entries_before = last_entry_id()
        try:
            decide(
                request=request,
                approver=user,
                verdict=verdict,
                comment="sim",
                digest=request.payload_digest,
                second_factor=True,
            )
        except (ApprovalError, ValidationError, LedgerError) as exc:
            self.stats["refused decisions"] += 1
            assert last_entry_id() == entries_before, f"refused decision wrote entries: {exc}"
            return
        assert eligible_now, f"{user} decided {request} without being eligible"
        request.refresh_from_db()
        if verdict == "reject":
            assert request.status == RequestStatus.REJECTED
            return
        # Every tier independently: its approvers who count, with this approval if it is theirs.
        counting = {group: before[group] | ({user.pk} & members[group]) for group, _required in tiers}
        met = all(len(counting[group]) >= required for group, required in tiers)
        if request.status == RequestStatus.EXECUTED:
            assert met, "executed without a valid quorum in every tier"
            assert request.pk not in self.executions, "executed twice"
            self.executions[request.pk] = 1
            self.stats[f"executed {request.kind}"] += 1
            for entry in JournalEntry.objects.filter(request=request):
                self.apply_entry(entry)
            self.intake_executed(request)
            self.mining_executed(request)
        else:
            assert not met, "quorum met but nothing executed"

    def pick(self, requests):
        """One of the latest :attr:`PICK_WINDOW` of ``requests``, drawn from the seeded stream
        (not the database's ``ORDER BY random()``, which made a seed's replay differ from run to
        run). The window keeps a pick's cost flat however many requests wait."""
        ids = list(requests.order_by("-id").values_list("id", flat=True)[: self.PICK_WINDOW])
        return ApprovalRequest.objects.get(pk=self.rng.choice(ids)) if ids else None

    def op_amend(self):
        request = self.pick(
            ApprovalRequest.objects.filter(status=RequestStatus.PENDING, kind="reserve.transfer")
        )
        if request is None:
            return
        from reserve.approvals.services import amend_request

        amend_request(
            request=request,
            maker=request.maker,
            payload={**request.payload, "amount": self.rng.choice(["0.2", "0.3", "1.5"])},
        )

    def op_expire(self):
        request = self.pick(ApprovalRequest.objects.filter(status=RequestStatus.PENDING))
        if request is None:
            return
        ApprovalRequest.objects.filter(pk=request.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        assert expire_requests() >= 1

    def expire_stale(self) -> None:
        newest = ApprovalRequest.objects.order_by("-id").values_list("id", flat=True).first()
        if newest is None:
            return
        stale = ApprovalRequest.objects.filter(
            status=RequestStatus.PENDING, pk__lte=newest - self.STALE_AFTER
        )
        if stale.update(expires_at=timezone.now() - dt.timedelta(seconds=1)):
            self.stats["requests expired unanswered"] += expire_requests()

    def op_toggle_user(self):
        user = self.rng.choice(self.candidates[:3])
        user.is_active = not user.is_active
        user.save(update_fields=["is_active"])

    OPERATIONS = [
        ("fund", 14),
        ("move", 18),
        ("out", 8),
        ("reverse", 6),
        ("request_transfer", 12),
        ("request_governance", 3),
        ("decide", 30),
        ("amend", 3),
        ("expire", 3),
        ("toggle_user", 3),
        *IntakeOperations.INTAKE_OPERATIONS,
        *MiningOperations.MINING_OPERATIONS,
    ]

    def step(self):
        names, weights = zip(*self.OPERATIONS, strict=True)
        name = self.rng.choices(names, weights)[0]
        try:
            getattr(self, f"op_{name}")()
            self.stats[name] += 1
        except (LedgerError, ValidationError) as exc:
            if isinstance(exc, ApprovalError) and name == "decide":
                raise
            self.stats[f"{name} refused"] += 1

    def check(self, *, streams: bool = True, full: bool) -> None:
        actual = dict(
            prepared.rows(("simulation: balances",), lambda: Account.objects.values_list("id", "balance"), [])
        )
        for account_id, balance in actual.items():
            assert balance == self.expected.get(account_id, 0), f"account {account_id}: {balance} != replay"
            account = next((a for a in self.accounts if a.pk == account_id), None)
            if account is not None:
                assert balance >= 0
        assert sum(actual.values()) == 0
        if streams or full:
            self.check_intake()
            self.check_mining()
        if full:
            assert (Posting.objects.aggregate(s=ExactSum("amount"))["s"] or 0) == 0
            report = verify_ledger()
            assert report.ok, report.problems


def last_entry_id() -> int:
    """The newest journal entry's id (0: none): whether an operation wrote an entry, read
    through the primary key instead of counting a table that grows with the run."""
    return JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def streams_check_due(index: int) -> bool:
    """The streams' invariants read their whole tables: after every operation in a run's first
    10,000 (every run in CI), then after every 1,000th, so a long run's rate does not fall."""
    return index <= 10_000 or index % 1_000 == 0


def full_check_due(index: int) -> bool:
    """verify_ledger and the postings' sum read the whole ledger: run them at 1k, 2k, ... 10k,
    20k, ... 100k, 200k, ... operations, so that their cost stays a fraction of the run however
    long it is (the per-operation checks run after every operation)."""
    return index % 10 ** max(3, len(str(index)) - 1) == 0


#: Every operation commits, as in production: inside one test transaction PostgreSQL keeps every
#: version of the rows updated thousands of times (account balances, day rows, the year's
#: sequence) and each read walks them, so the run slowed down as it went.
@pytest.mark.slow
@pytest.mark.timeout(0)
@pytest.mark.django_db(transaction=True)
def test_random_operations_keep_every_invariant(team, asset):
    print(f"\nsimulation seed {SEED}, {OPS} operations (replay: make simulate SEED={SEED} OPS={OPS})")
    rng = random.Random(SEED)
    # The test policy for transfers: 2 custody officers (default); for approver changes: 2 board members.
    sim = Simulation(team, asset, rng)
    started = block_started = time.perf_counter()
    for index in range(1, OPS + 1):
        try:
            sim.step()
            if index % CLOCK_EVERY == 0:
                sim.expire_stale()
            sim.check(streams=streams_check_due(index), full=full_check_due(index))
        except AssertionError as exc:
            raise AssertionError(f"seed {SEED}, operation {index}: {exc}") from exc
        if index % PROGRESS_EVERY == 0:
            now = time.perf_counter()
            print(
                f"simulation: {index:,} operations, {PROGRESS_EVERY / (now - block_started):.0f} ops/s "
                f"over the last {PROGRESS_EVERY:,} ({index / (now - started):.0f} ops/s overall)",
                flush=True,
            )
            block_started = now
    sim.check(full=True)
    print("simulation:", dict(sorted(sim.stats.items())))
    print("simulation: intake items by state", sim.intake_summary())
    print("simulation: mining reports by state", sim.mining_summary())
    assert sim.stats["decide"] > 0
