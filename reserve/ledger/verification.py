"""Ledger invariants, checked from the stored rows (used by ``manage.py verify_ledger``,
the hourly Celery task and the tests)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max

from reserve.amounts import ExactSum
from reserve.models import (
    Account,
    AccountDay,
    JournalEntry,
    JournalSequence,
    Lot,
    LotMovement,
    Posting,
)


@dataclass
class Check:
    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class LedgerReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.checks for p in c.problems]


def _entries_balance() -> Check:
    check = Check("entries balance per asset")
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for entry_id, asset_id, amount in Posting.objects.values_list(
        "entry_id", "account__asset_id", "amount"
    ).iterator():
        totals[(entry_id, asset_id)] += amount
    check.checked = len({entry_id for entry_id, _ in totals})
    for (entry_id, asset_id), total in totals.items():
        if total != 0:
            check.problems.append(f"entry id {entry_id} asset id {asset_id} sums to {total}")
    empty = (
        JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("number", flat=True)
    )
    check.problems += [f"entry {number} has fewer than two postings" for number in empty]
    return check


def _balances_equal_postings() -> tuple[Check, Check]:
    balance_check = Check("account balance = sum of postings")
    running_check = Check("posting balance_after = running sum")
    sums = dict(
        Posting.objects.order_by()
        .values("account")
        .annotate(s=ExactSum("amount"))
        .values_list("account", "s")
    )
    for account in Account.objects.select_related("asset", "wallet"):
        balance_check.checked += 1
        expected = sums.get(account.pk) or 0
        if account.balance != expected:
            balance_check.problems.append(f"{account}: balance {account.balance} != postings {expected}")
        if account.balance < 0 and not account.may_go_negative:
            balance_check.problems.append(f"{account}: negative balance {account.balance}")
    running: dict[int, int] = defaultdict(int)
    for account_id, amount, after, posting_id in (
        Posting.objects.order_by("account_id", "id")
        .values_list("account_id", "amount", "balance_after", "id")
        .iterator()
    ):
        running[account_id] += amount
        running_check.checked += 1
        if running[account_id] != after:
            running_check.problems.append(
                f"posting id {posting_id}: balance_after {after} != {running[account_id]}"
            )
    return balance_check, running_check


def _days_consistent() -> Check:
    from django.utils import timezone

    check = Check("daily closing balances = cumulative postings")
    per_day: dict[tuple[int, object], int] = defaultdict(int)
    for account_id, amount, moment in Posting.objects.values_list(
        "account_id", "amount", "effective_at"
    ).iterator():
        per_day[(account_id, timezone.localtime(moment).date())] += amount
    stored = defaultdict(list)
    for row in AccountDay.objects.order_by("account_id", "day").values_list(
        "account_id", "day", "delta", "closing"
    ):
        stored[row[0]].append(row[1:])
    balances = dict(Account.objects.values_list("id", "balance"))
    expected_days = defaultdict(list)
    for (account_id, day), delta in sorted(per_day.items()):
        expected_days[account_id].append((day, delta))
    for account_id in set(expected_days) | set(stored):
        check.checked += 1
        cumulative = 0
        expected = []
        for day, delta in expected_days.get(account_id, []):
            cumulative += delta
            expected.append((day, delta, cumulative))
        if stored.get(account_id, []) != expected:
            check.problems.append(f"account id {account_id}: stored days differ from postings")
        elif expected and expected[-1][2] != balances.get(account_id):
            check.problems.append(f"account id {account_id}: last closing != balance")
    return check


def _lots_cover_balances() -> tuple[Check, Check]:
    cover = Check("open lots cover each balance exactly")
    lot_check = Check("lot remaining = opened - taken")
    lot_sums = dict(
        Lot.objects.order_by().values("account").annotate(s=ExactSum("remaining")).values_list("account", "s")
    )
    for account in Account.objects.exclude(category="external").select_related("asset", "wallet"):
        cover.checked += 1
        if (lot_sums.get(account.pk) or 0) != account.balance:
            cover.problems.append(
                f"{account}: lots {lot_sums.get(account.pk) or 0} != balance {account.balance}"
            )
    taken = dict(
        LotMovement.objects.order_by().values("lot").annotate(s=ExactSum("amount")).values_list("lot", "s")
    )
    for lot_id, amount, remaining in Lot.objects.values_list("id", "amount", "remaining").iterator():
        lot_check.checked += 1
        if amount - (taken.get(lot_id) or 0) != remaining or remaining < 0:
            lot_check.problems.append(
                f"lot {lot_id}: opened {amount}, taken {taken.get(lot_id) or 0}, remaining {remaining}"
            )
    return cover, lot_check


def _numbering_gapless() -> Check:
    check = Check("entry numbers gapless per year")
    sequences = dict(JournalSequence.objects.values_list("year", "last_number"))
    for row in JournalEntry.objects.order_by().values("year").annotate(n=Count("id"), top=Max("sequence")):
        check.checked += 1
        if row["n"] != row["top"]:
            check.problems.append(f"{row['year']}: {row['n']} entries but highest number {row['top']}")
        if sequences.get(row["year"]) != row["top"]:
            check.problems.append(
                f"{row['year']}: sequence at {sequences.get(row['year'])}, highest {row['top']}"
            )
    return check


def _reversals_mirror() -> Check:
    check = Check("reversals mirror their originals")
    for reversal in JournalEntry.objects.filter(reverses__isnull=False).select_related("reverses"):
        check.checked += 1
        mine = sorted(reversal.postings.values_list("account_id", "amount"))
        theirs = sorted((a, -x) for a, x in reversal.reverses.postings.values_list("account_id", "amount"))
        if mine != theirs:
            check.problems.append(f"{reversal.number} does not mirror {reversal.reverses.number}")
    return check


def verify_ledger() -> LedgerReport:
    balance, running = _balances_equal_postings()
    cover, lots = _lots_cover_balances()
    return LedgerReport(
        checks=[
            _entries_balance(),
            balance,
            running,
            _days_consistent(),
            cover,
            lots,
            _numbering_gapless(),
            _reversals_mirror(),
        ]
    )
