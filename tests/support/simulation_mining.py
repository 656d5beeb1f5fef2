"""Mining's operations and invariants for the seeded random-operations simulation
(``tests/reserve/test_simulation.py``), drawn from the same random stream.

Two sites report weeks of the second half of 2024 (the shipped epoch table ends in January
2025): a clerk records days (random figures; now and then impossible ones, which must be refused
and write nothing), submits, verifies (with or without an explanation; beyond the tolerance
without one must be refused), asks for acceptance, and sweeps mined coins to a cold wallet
(sometimes more than the site holds, which must be refused). Decisions go through the
simulation's ``decide_as`` and its quorum model, from ``op_decide`` and from ``op_mining_decide``
(acceptance needs two treasury officers, sweeps two custody officers).

Invariants after every operation:
- ``reserve:mined`` at each site's wallet plus what executed sweeps took out of it equals the net
  output of the site's posted reports' lines;
- no daily line is posted twice (at most one ``mining.output`` entry per line, and exactly one
  per posted line with output);
- a posted report's lines never change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from mining import services
from mining.chaindata import shipped_epochs
from mining.expected import expected_output
from mining.models import DailyLine, OutputReport, ReportState
from mining.selectors import verify_report
from mining.transitions import (
    ACCEPT_OUTPUT,
    MINING_OUTPUT,
    open_acceptance_requests,
    record_verification,
    request_acceptance,
    request_sweep,
    submit_report,
)
from reserve.amounts import parse_amount
from reserve.approvals.errors import ApprovalError
from reserve.ledger.services import get_account
from reserve.models import ApprovalRequest, Category, JournalEntry, RequestStatus
from tests.support.factories import UserFactory, WalletFactory, random_address

FIRST_WEEK = dt.date(2024, 7, 1)  # a Monday
LAST_DAY = dt.date(2025, 1, 11)  # the shipped epochs end on 2025-01-12
MACHINES, TH_PER_MACHINE = 1000, Decimal(100)
LINE_FIELDS = ("day", "average_hashrate_hs", "btc_gross", "pool_fees", "btc_net", "energy_mwh")


def ensure_network_epochs() -> None:
    """The shipped epochs, as migration 0002 loads them. A transactional test run before this one
    (the simulation commits every operation, so it is one) flushes every table, rows loaded by a
    data migration included."""
    from mining.chaindata import read_epoch_rows
    from mining.models import NetworkEpoch

    if not NetworkEpoch.objects.filter(network="bitcoin").exists():
        NetworkEpoch.objects.bulk_create(
            [NetworkEpoch(network="bitcoin", **row) for row in read_epoch_rows()], ignore_conflicts=True
        )


class MiningOperations:
    """Mixed into the simulation: needs ``self.rng``, ``self.team``, ``self.asset``, ``self.stats``,
    ``self.candidates`` and ``self.decide_as``."""

    MINING_OPERATIONS = [
        ("mining_record", 20),
        ("mining_submit", 3),
        ("mining_verify", 3),
        ("mining_accept", 3),
        ("mining_sweep", 3),
        ("mining_decide", 16),
    ]

    def setup_mining(self) -> None:
        ensure_network_epochs()
        self.mining_clerk = UserFactory(username="sim-mining-clerk", roles=["Mining clerk"], is_staff=True)
        self.mining_cold = WalletFactory(code="sim-mining-cold")
        self.mining_epochs = shipped_epochs()
        self.sites = []
        for n in range(2):
            site = services.register_site(
                name=f"Sim site {n}",
                region="Pavlodar",
                operator="Sim operator",
                licence_number=f"SIM-ML-{n}",
                licence_date=dt.date(2023, 1, 1),
                energy_source=["coal", "hydro"][n],
                power_capacity_mw="5",
                commissioned_on=dt.date(2023, 6, 1),
                pool_name="Sim pool",
                payout_scheme="fpps",
                payout_address=random_address("bitcoin"),
                custody_wallet=WalletFactory(code=f"sim-mine-{n}"),
                tolerance_percent="5",
                actor=self.mining_clerk,
            )
            services.add_fleet(
                site=site,
                machine_model="Antminer S19",
                count=MACHINES,
                nominal_hashrate_ths=TH_PER_MACHINE,
                efficiency_j_per_th="30",
                actor=self.mining_clerk,
            )
            self.sites.append(site)
        self.mined = {
            site.pk: get_account(
                wallet=site.custody_wallet, category=Category.RESERVE_MINED, asset=self.asset
            )
            for site in self.sites
        }
        self.swept: dict[int, int] = {site.pk: 0 for site in self.sites}
        self.posted_lines: dict[int, tuple] = {}
        #: Entries of mining's requests: ``op_reverse`` leaves them alone (a reversal would take
        #: posted output or a sweep back outside the workflow the invariants model).
        self.mining_entry_ids: set[int] = set()

    # Helpers

    def _draft(self, site) -> OutputReport | None:
        """The site's draft report, or a new one for the week after its last (None: no week left)."""
        draft = OutputReport.objects.filter(site=site, state=ReportState.DRAFT).first()
        if draft is not None:
            return draft
        last = OutputReport.objects.filter(site=site).order_by("-period_end").first()
        start = last.period_end + dt.timedelta(days=1) if last else FIRST_WEEK
        end = start + dt.timedelta(days=6)
        if end > LAST_DAY:
            return None
        return services.open_report(site=site, period_start=start, period_end=end, actor=self.mining_clerk)

    def _figures(self, site, day: dt.date) -> dict:
        hashrate = Decimal(self.rng.randint(80, 100)) * MACHINES * TH_PER_MACHINE * 10**12 / 100
        expected = expected_output(
            day=day,
            hashrate_hs=hashrate,
            fees_per_block_sats=settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS,
            tz=site.timezone,
            epochs=self.mining_epochs,
        ).expected_sats
        # Mostly on target; now and then far off (beyond the 5% tolerance).
        factor = self.rng.choice([100, 99, 101, 98, 102, 100, 100, 85, 110])
        gross = expected * factor // 100
        fees = gross * 2 // 100
        return {
            "day": day,
            "average_hashrate_hs": hashrate,
            "uptime_percent": Decimal(self.rng.randint(900, 1000)) / 10,
            "energy_mwh": Decimal("72.000"),
            "curtailment_mwh": Decimal(0),
            "btc_gross": gross,
            "pool_fees": fees,
            "btc_net": gross - fees,
            "energy_cost_kzt": Decimal("1800000.00"),
        }

    def _pick_report(self, state: str) -> OutputReport | None:
        ids = list(
            OutputReport.objects.filter(site__in=self.sites, state=state)
            .order_by("-id")
            .values_list("id", flat=True)[: self.PICK_WINDOW]
        )
        return OutputReport.objects.select_related("site").get(pk=self.rng.choice(ids)) if ids else None

    # Operations

    def op_mining_record(self):
        site = self.rng.choice(self.sites)
        report = self._draft(site)
        if report is None:
            return
        taken = set(report.lines.values_list("day", flat=True))
        free = [
            report.period_start + dt.timedelta(days=i)
            for i in range(7)
            if report.period_start + dt.timedelta(days=i) not in taken
        ]
        if not free:
            return
        figures = self._figures(site, self.rng.choice(free))
        impossible = self.rng.choice([None, None, None, None, None, "uptime", "net", "hashrate", "day"])
        if impossible == "uptime":
            figures["uptime_percent"] = Decimal("100.5")
        elif impossible == "net":
            figures["btc_net"] += 1
        elif impossible == "hashrate":
            figures["average_hashrate_hs"] = MACHINES * TH_PER_MACHINE * 10**12 * Decimal("1.2")
        elif impossible == "day":
            figures["day"] = report.period_end + dt.timedelta(days=1)
        lines_before = DailyLine.objects.count()
        try:
            services.record_daily_line(report=report, actor=self.mining_clerk, **figures)
        except ValidationError:
            assert impossible, f"possible day refused: {figures}"
            assert DailyLine.objects.count() == lines_before, "a refused day wrote a line"
            self.stats[f"mining_record refused: {impossible}"] += 1
            return
        assert not impossible, f"impossible day ({impossible}) accepted"

    def op_mining_submit(self):
        report = self._pick_report(ReportState.DRAFT)
        if report is None:
            return
        complete = report.lines.count() == 7
        try:
            submit_report(report=report, actor=self.mining_clerk)
        except ValidationError:
            assert not complete, "a complete report's submission was refused"
            self.stats["mining_submit refused: missing days"] += 1
            return
        assert complete, "a report with missing days was submitted"

    def op_mining_verify(self):
        report = self._pick_report(ReportState.SUBMITTED)
        if report is None:
            return
        explanation = "Pool luck and a firmware update (sim)." if self.rng.random() < 0.5 else ""
        beyond = verify_report(report).exceeds_tolerance
        try:
            record_verification(report=report, actor=self.mining_clerk, explanation=explanation)
        except ValidationError:
            assert beyond and not explanation, "a verification within tolerance was refused"
            self.stats["mining_verify refused: unexplained deviation"] += 1
            return
        assert explanation or not beyond, "a deviation beyond tolerance was verified without explanation"

    def op_mining_accept(self):
        report = self._pick_report(ReportState.VERIFIED)
        if report is None or open_acceptance_requests(report).exists():
            return
        request_acceptance(report=report, maker=self.mining_clerk, comment="sim")

    def op_mining_sweep(self):
        site = self.rng.choice(self.sites)
        account = self.mined[site.pk]
        account.refresh_from_db()
        held = account.balance
        if held == 0:
            return
        over = self.rng.random() < 0.2
        units = held + self.rng.randint(1, 10**6) if over else self.rng.randint(1, held)
        try:
            request_sweep(
                site=site,
                to_wallet=self.mining_cold,
                amount=self.asset.format(units),
                actor=self.mining_clerk,
                comment="sim",
            )
        except ApprovalError:
            # The governance operations can leave too few custody officers to meet the transfer
            # policy: the engine refuses any request it could never approve.
            self.stats["mining_sweep refused: no quorum possible"] += 1
            return
        except ValidationError as exc:
            assert over, f"a sweep within the mined balance was refused: {exc}"
            self.stats["mining_sweep refused: more than held"] += 1
            return
        assert not over, "a sweep of more than the site holds was requested"
        self.stats["mining sweeps requested"] += 1

    def op_mining_decide(self):
        wallets = [site.custody_wallet.code for site in self.sites]
        pending = list(
            ApprovalRequest.objects.filter(status=RequestStatus.PENDING)
            .filter(Q(kind=ACCEPT_OUTPUT) | Q(kind="reserve.transfer", payload__from_wallet__in=wallets))
            .order_by("-id")
            .values_list("id", flat=True)[: self.PICK_WINDOW]
        )
        if not pending:
            return
        request = ApprovalRequest.objects.get(pk=self.rng.choice(pending))
        team = self.team
        approvers = [team.treasury1, team.treasury2, team.custody1, team.custody2, team.custody3]
        of_policy = set().union(
            *self.members_of(group for group, _required in self.policy_tiers(request)).values()
        )
        approvers = [u for u in approvers if u.pk in of_policy] or approvers
        user = self.rng.choice(approvers if self.rng.random() < 0.85 else self.candidates)
        self.decide_as(request, user, "reject" if self.rng.random() < 0.05 else "approve")

    # Hooks for decide_as and check()

    def mining_executed(self, request) -> None:
        """Called when ``request`` executed: record what the model must now see."""
        site = next(
            (s for s in self.sites if s.custody_wallet.code == request.payload.get("from_wallet")), None
        )
        if request.kind == ACCEPT_OUTPUT or (request.kind == "reserve.transfer" and site is not None):
            self.mining_entry_ids.update(
                JournalEntry.objects.filter(request=request).values_list("id", flat=True)
            )
        if request.kind == ACCEPT_OUTPUT:
            report = OutputReport.objects.get(pk=request.payload["report"])
            assert report.state == ReportState.POSTED, f"accepted report {report.pk} is {report.state}"
            for line in report.lines.values_list("pk", *LINE_FIELDS):
                assert line[0] not in self.posted_lines, f"line {line[0]} posted twice"
                self.posted_lines[line[0]] = line[1:]
            self.stats["mining reports posted"] += 1
            return
        if request.kind == "reserve.transfer" and site is not None:
            self.swept[site.pk] += parse_amount(request.payload["amount"], self.asset.decimals)
            self.stats["mining sweeps executed"] += 1

    def mining_summary(self) -> dict[str, int]:
        reports = OutputReport.objects.filter(site__in=self.sites)
        return {state: reports.filter(state=state).count() for state in ReportState.values}

    def check_mining(self) -> None:
        for site in self.sites:
            account = self.mined[site.pk]
            account.refresh_from_db()
            posted = sum(
                DailyLine.objects.filter(site=site, report__state=ReportState.POSTED).values_list(
                    "btc_net", flat=True
                )
            )
            assert account.balance + self.swept[site.pk] == posted, (
                f"{site.name}: reserve:mined {account.balance} + swept {self.swept[site.pk]} != posted {posted}"
            )
        twice = (
            JournalEntry.objects.filter(reason=MINING_OUTPUT.code)
            .values("idempotency_key")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not twice.exists(), f"daily lines posted twice: {list(twice)}"
        with_output = sum(1 for figures in self.posted_lines.values() if figures[4] != 0)
        assert JournalEntry.objects.filter(reason=MINING_OUTPUT.code).count() == with_output
        current = {
            line[0]: line[1:]
            for line in DailyLine.objects.filter(pk__in=self.posted_lines).values_list("pk", *LINE_FIELDS)
        }
        assert current == self.posted_lines, "a posted report's lines changed"
