"""Ledger invariants, checked from the stored rows (used by ``manage.py verify_ledger``,
the hourly Celery task and the tests).

Every check runs in the database or streams sorted rows, so memory stays flat however large
the ledger grows: sums are grouped in SQL and only the rows that disagree come back
(``HAVING``), and the checks that must walk rows in order (running balances on SQLite, where a
window function could not sum exactly; daily closings; reversals) merge sorted ``iterator()``
streams, holding their next rows only (a reversal's postings at most). Amounts stay exact: ``ExactSum`` in SQL, Python ints in the streams.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, F, Func, Max, Window
from django.db.models.functions import TruncDate

from reserve.amounts import AmountField, ExactSum
from reserve.models import (
    Account,
    AccountDay,
    JournalEntry,
    JournalSequence,
    Lot,
    LotMovement,
    Posting,
)

CHUNK = 10_000


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


class _Stream:
    """Rows sorted by a key, read one key at a time: ``take(key)`` skips smaller keys and yields the
    rows with that key, so merging several streams holds only their next rows."""

    _END = object()

    def __init__(self, rows, key) -> None:
        self._rows = iter(rows)
        self._key = key
        self._next = next(self._rows, self._END)

    def peek_key(self):
        return None if self._next is self._END else self._key(self._next)

    def take(self, key) -> Iterator:
        """Yield the next rows while their key equals ``key``, first dropping any with a smaller key."""
        while self._next is not self._END and self._key(self._next) < key:
            self._next = next(self._rows, self._END)
        while self._next is not self._END and self._key(self._next) == key:
            row, self._next = self._next, next(self._rows, self._END)
            yield row


def _entries_balance() -> Check:
    check = Check("entries balance per asset")
    unbalanced = (
        Posting.objects.order_by()
        .values("entry_id", "account__asset_id")
        .annotate(total=ExactSum("amount"))
        .exclude(total=0)
        .order_by("entry_id", "account__asset_id")
        .values_list("entry_id", "account__asset_id", "total")
    )
    for entry_id, asset_id, total in unbalanced.iterator(chunk_size=CHUNK):
        check.problems.append(f"entry id {entry_id} asset id {asset_id} sums to {total}")
    short = (
        JournalEntry.objects.annotate(n=Count("postings"))
        .filter(n__lt=2)
        .order_by("year", "sequence")
        .values_list("number", "n")
    )
    without_postings = 0
    for number, n in short.iterator(chunk_size=CHUNK):
        check.problems.append(f"entry {number} has fewer than two postings")
        without_postings += n == 0
    # Entries that have postings (what the per-asset sums covered).
    check.checked = JournalEntry.objects.count() - without_postings
    return check


def _balances_equal_postings() -> tuple[Check, Check]:
    if connection.vendor == "postgresql":
        return _balances_equal_postings_in_sql()
    return _balances_equal_postings_streamed()


def _balances_equal_postings_in_sql() -> tuple[Check, Check]:
    """PostgreSQL: the running sums by a window function, returning only the postings that
    disagree, and the balances against the postings summed per account."""
    balance_check = Check("account balance = sum of postings")
    running_check = Check("posting balance_after = running sum")
    sums = _Stream(
        Posting.objects.order_by()
        .values("account_id")
        .annotate(s=ExactSum("amount"))
        .order_by("account_id")
        .values_list("account_id", "s")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    for account in (
        Account.objects.select_related("asset", "wallet").order_by("id").iterator(chunk_size=CHUNK)
    ):
        balance_check.checked += 1
        posted = next((total for _, total in sums.take(account.pk)), None) or 0
        if account.balance != posted:
            balance_check.problems.append(f"{account}: balance {account.balance} != postings {posted}")
        if account.balance < 0 and not account.may_go_negative:
            balance_check.problems.append(f"{account}: negative balance {account.balance}")
    running = Window(ExactSum("amount"), partition_by=[F("account_id")], order_by=F("id").asc())
    off = (
        Posting.objects.annotate(running=running)
        .exclude(balance_after=F("running"))
        .order_by("account_id", "id")
        .values_list("id", "balance_after", "running")
    )
    running_check.checked = Posting.objects.count()
    for posting_id, after, total in off.iterator(chunk_size=CHUNK):
        running_check.problems.append(f"posting id {posting_id}: balance_after {after} != {total}")
    return balance_check, running_check


def _balances_equal_postings_streamed() -> tuple[Check, Check]:
    """One pass over the postings in (account, id) order: each posting's balance_after against
    the running sum, and each account's balance against the sum at the end of its postings."""
    balance_check = Check("account balance = sum of postings")
    running_check = Check("posting balance_after = running sum")
    postings = _Stream(
        Posting.objects.order_by("account_id", "id")
        .values_list("account_id", "amount", "balance_after", "id")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    for account in (
        Account.objects.select_related("asset", "wallet").order_by("id").iterator(chunk_size=CHUNK)
    ):
        running = 0
        for _account_id, amount, after, posting_id in postings.take(account.pk):
            running += amount
            running_check.checked += 1
            if running != after:
                running_check.problems.append(f"posting id {posting_id}: balance_after {after} != {running}")
        balance_check.checked += 1
        if account.balance != running:
            balance_check.problems.append(f"{account}: balance {account.balance} != postings {running}")
        if account.balance < 0 and not account.may_go_negative:
            balance_check.problems.append(f"{account}: negative balance {account.balance}")
    return balance_check, running_check


@functools.cache
def _utc_offsets(zone_name: str) -> tuple[tuple[str, int], ...]:
    """The UTC offsets of a zone from 1970 to 2100 as ``(first UTC moment, offset seconds)``,
    the moments written as SQLite stores aware datetimes (UTC, ``YYYY-MM-DD HH:MM:SS``)."""
    zone = zoneinfo.ZoneInfo(zone_name)

    def offset(moment: dt.datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())

    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    current = offset(moment)
    changes = [("", current)]
    while moment.year < 2100:
        later = moment + dt.timedelta(days=7)  # offsets never change twice within a week
        if offset(later) != current:
            low, high = moment, later  # the offset changes in (low, high]: find the second
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if offset(middle) != current else (middle, high)
            current = offset(high)
            changes.append((high.strftime("%Y-%m-%d %H:%M:%S"), current))
        moment = later
    return tuple(changes)


class _LocalDate(Func):
    """The local (TIME_ZONE) date of a datetime column: ``TruncDate``, except on SQLite, where
    it is ``date(column, '+N seconds')`` with N picked by a CASE over the zone's offset changes,
    instead of a Python function called for every row."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(TruncDate(*self.source_expressions))

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        changes = _utc_offsets(settings.TIME_ZONE)
        whens, args = [], []
        for (_start, seconds), (end, _next) in zip(changes, changes[1:], strict=False):
            whens.append(f"WHEN {column} < %s THEN %s")
            args += [*params, end, f"{seconds:+d} seconds"]
        sql = f"date({column}, CASE {' '.join(whens)} ELSE %s END)" if whens else f"date({column}, %s)"
        return sql, (*params, *args, f"{changes[-1][1]:+d} seconds")


def _days_consistent() -> Check:
    """The stored days of each account against the postings grouped by local day, merged in
    (account, day) order: same days, same deltas, closings = cumulative deltas, and the last
    closing = the account's balance."""
    check = Check("daily closing balances = cumulative postings")
    expected = _Stream(
        Posting.objects.order_by()
        .annotate(day=_LocalDate("effective_at"))
        .values("account_id", "day")
        .annotate(delta=ExactSum("amount"))
        .order_by("account_id", "day")
        .values_list("account_id", "day", "delta")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    stored = _Stream(
        AccountDay.objects.order_by("account_id", "day")
        .values_list("account_id", "day", "delta", "closing")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    balances = _Stream(
        Account.objects.order_by("id").values_list("id", "balance").iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    while True:
        keys = [k for k in (expected.peek_key(), stored.peek_key()) if k is not None]
        if not keys:
            break
        account_id = min(keys)
        check.checked += 1
        cumulative, differ, any_posting = 0, False, False
        for mine, theirs in zip_longest(expected.take(account_id), stored.take(account_id)):
            if mine is None or theirs is None:
                differ = True
                continue
            any_posting = True
            cumulative += mine[2]
            if theirs[1:] != (mine[1], mine[2], cumulative):
                differ = True
        balance = next((row[1] for row in balances.take(account_id)), None)
        if differ:
            check.problems.append(f"account id {account_id}: stored days differ from postings")
        elif any_posting and cumulative != balance:
            check.problems.append(f"account id {account_id}: last closing != balance")
    return check


def _lots_cover_balances() -> tuple[Check, Check]:
    cover = Check("open lots cover each balance exactly")
    lot_check = Check("lot remaining = opened - taken")
    # Lots with nothing remaining add nothing: leaving them out of the sum changes no total and
    # spares summing the (many) emptied lots.
    lot_sums = _Stream(
        Lot.objects.exclude(remaining=0)
        .order_by()
        .values("account_id")
        .annotate(s=ExactSum("remaining"))
        .order_by("account_id")
        .values_list("account_id", "s")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    held = Account.objects.exclude(category="external").select_related("asset", "wallet").order_by("id")
    for account in held.iterator(chunk_size=CHUNK):
        cover.checked += 1
        lots = next((total for _, total in lot_sums.take(account.pk)), None) or 0
        if lots != account.balance:
            cover.problems.append(f"{account}: lots {lots} != balance {account.balance}")
    lot_check.checked = Lot.objects.count()
    for lot_id, amount, taken, remaining in _lots_off():
        lot_check.problems.append(f"lot {lot_id}: opened {amount}, taken {taken}, remaining {remaining}")
    return cover, lot_check


def _lots_off() -> Iterator[tuple[int, int, int, int]]:
    """Lots whose remaining is not opened - taken, or below zero: ``(id, amount, taken, remaining)``.

    One join of the lots with their movements summed per lot. SQLite stores amounts as text, so
    there the difference is taken by the exact ``AMOUNT_SUB`` function, and only for lots that
    have movements (the others compare amount and remaining as they are)."""
    lot, movement = Lot._meta.db_table, LotMovement._meta.db_table
    field = AmountField()
    zero = field.get_db_prep_value(0, connection)
    if connection.vendor == "sqlite":
        total, differs = (
            "EXACT_SUM",
            "CASE WHEN m.taken IS NULL THEN l.amount <> l.remaining "
            "ELSE AMOUNT_SUB(l.amount, m.taken) <> l.remaining END",
        )
    else:
        total, differs = "SUM", "l.amount - COALESCE(m.taken, 0) <> l.remaining"
    # Only the models' own table names and fixed SQL fragments are interpolated.
    sql = (
        f"SELECT l.id, l.amount, m.taken, l.remaining FROM {lot} l "  # noqa: S608
        f"LEFT JOIN (SELECT lot_id, {total}(amount) AS taken FROM {movement} GROUP BY lot_id) m "
        f"ON m.lot_id = l.id WHERE {differs} OR l.remaining < %s ORDER BY l.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [zero])
        while rows := cursor.fetchmany(CHUNK):
            for lot_id, amount, taken, remaining in rows:
                yield (
                    lot_id,
                    field.from_db_value(amount, None, connection),
                    field.from_db_value(taken, None, connection) or 0,
                    field.from_db_value(remaining, None, connection),
                )


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
    """Each reversal's postings, as a multiset of (account, amount), against its original's
    negated: three streams in reversal-id order, one reversal's postings in memory at a time."""
    check = Check("reversals mirror their originals")
    mine = _Stream(
        Posting.objects.filter(entry__reverses__isnull=False)
        .order_by("entry_id")
        .values_list("entry_id", "account_id", "amount")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    theirs = _Stream(
        Posting.objects.filter(entry__reversed_by__isnull=False)
        .order_by("entry__reversed_by__id")
        .values_list("entry__reversed_by__id", "account_id", "amount")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    for reversal_id, number, original in (
        JournalEntry.objects.filter(reverses__isnull=False)
        .order_by("id")
        .values_list("id", "number", "reverses__number")
        .iterator(chunk_size=CHUNK)
    ):
        check.checked += 1
        left = sorted((a, x) for _, a, x in mine.take(reversal_id))
        right = sorted((a, -x) for _, a, x in theirs.take(reversal_id))
        if left != right:
            check.problems.append(f"{number} does not mirror {original}")
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
