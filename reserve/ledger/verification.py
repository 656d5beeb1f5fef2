"""Ledger invariants, checked from the stored rows (used by ``manage.py verify_ledger``,
the hourly Celery task and the tests).

Every check runs in the database or streams sorted rows, so memory stays flat however large
the ledger grows: sums are grouped in SQL and only the rows that disagree come back
(``HAVING``), and the checks that must walk rows in order (on SQLite, where a window function
could not sum exactly, running balances, account balances and daily closings in one pass over
the postings; reversals) merge sorted streams, holding their next rows only (one account's
days, a reversal's postings at most). Amounts stay exact: ``ExactSum`` in SQL, Python ints in
the streams; on SQLite, amounts below 10**18 in absolute value are read from their stored
text as native integers and summed by SQLite itself (whose integer SUM raises rather than
overflow), and only larger amounts, or an overflow, go through the Python ``EXACT_SUM``.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Count, DateField, F, Func, Max, Window
from django.db.models.functions import TruncDate

from reserve.amounts import AmountField, ExactSum, decode_sqlite, encode_sqlite
from reserve.models import (
    Account,
    AccountDay,
    Category,
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
    for entry_id, asset_id, total in _unbalanced_entries():
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


def _unbalanced_entries() -> Iterator[tuple[int, int, int]]:
    """``(entry id, asset id, sum)`` of every entry whose postings in an asset do not sum to 0.

    SQLite: one grouped pass sums the amounts in [-10**18, 10**18) natively and lets through
    only the groups that do not sum to 0 or hold a larger amount; those are summed exactly by
    ``EXACT_SUM``, a batch of entries at a time. Only the problems are held."""
    exact = (
        Posting.objects.order_by()
        .values("entry_id", "account__asset_id")
        .annotate(total=ExactSum("amount"))
        .exclude(total=0)
        .order_by("entry_id", "account__asset_id")
        .values_list("entry_id", "account__asset_id", "total")
    )
    if connection.vendor != "sqlite":
        yield from exact.iterator(chunk_size=CHUNK)
        return
    posting, account = Posting._meta.db_table, Account._meta.db_table
    small = _small("p.amount", signed=True)
    sql = (
        f"SELECT DISTINCT p.entry_id FROM {posting} p JOIN {account} a ON a.id = p.account_id "  # noqa: S608
        f"GROUP BY p.entry_id, a.asset_id HAVING COUNT(*) > COUNT({small}) OR SUM({small}) <> 0 ORDER BY 1"
    )
    problems = []
    try:
        batch: list[int] = []
        for (entry_id,) in [*_chunks(sql, []), (None,)]:
            if entry_id is not None:
                batch.append(entry_id)
            if batch and (entry_id is None or len(batch) == 500):
                problems += exact.filter(entry_id__in=batch)
                batch = []
    except OperationalError as exc:
        if not _is_overflow(exc):
            raise
        problems = list(exact.iterator(chunk_size=CHUNK))
    yield from problems


def _balances_running_and_days() -> tuple[Check, Check, Check]:
    if connection.vendor == "postgresql":
        return (*_balances_equal_postings_in_sql(), _days_consistent())
    return _postings_streamed()


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


def _raw_rows(queryset) -> Iterator[tuple]:
    """The rows of ``queryset`` as the database returns them (no field conversion), in chunks."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _postings_streamed() -> tuple[Check, Check, Check]:
    """SQLite: one pass over the postings in (account, id) order, read as stored (amounts as
    their fixed-width text, decoded here; local days as ``YYYY-MM-DD`` text computed in SQL),
    merged with the stored days and the accounts. For each account: every posting's
    balance_after against the running sum, the balance against the sum of its postings, and
    its stored days against its postings summed per local day (held for one account at a
    time: one number per day it moved)."""
    balance_check = Check("account balance = sum of postings")
    running_check = Check("posting balance_after = running sum")
    days_check = Check("daily closing balances = cumulative postings")
    postings = _Stream(
        _raw_rows(
            Posting.objects.annotate(day=_LocalDate("effective_at"))
            .order_by("account_id", "id")
            .values_list("account_id", "amount", "balance_after", "id", "day")
        ),
        key=lambda row: row[0],
    )
    stored_days = _Stream(
        _raw_rows(
            AccountDay.objects.order_by("account_id", "day").values_list(
                "account_id", "day", "delta", "closing"
            )
        ),
        key=lambda row: row[0],
    )
    accounts = Account.objects.order_by("id").values_list("id", "balance", "category")
    for account_id, balance, category in accounts.iterator(chunk_size=CHUNK):
        running = 0
        per_day: dict[str, int] = {}
        for _account_id, amount, after, posting_id, day in postings.take(account_id):
            amount = decode_sqlite(amount)
            running += amount
            per_day[day] = per_day.get(day, 0) + amount
            running_check.checked += 1
            if running != decode_sqlite(after):
                running_check.problems.append(
                    f"posting id {posting_id}: balance_after {decode_sqlite(after)} != {running}"
                )
        balance_check.checked += 1
        if balance != running:
            balance_check.problems.append(f"{_account(account_id)}: balance {balance} != postings {running}")
        if balance < 0 and category != Category.EXTERNAL:
            balance_check.problems.append(f"{_account(account_id)}: negative balance {balance}")
        stored = list(stored_days.take(account_id))
        if not per_day and not stored:
            continue
        days_check.checked += 1
        cumulative, differ = 0, len(stored) != len(per_day)
        for (day, delta), (_account_id, stored_day, stored_delta, stored_closing) in zip(
            sorted(per_day.items()), stored, strict=False
        ):
            cumulative += delta
            if (str(stored_day), decode_sqlite(stored_delta), decode_sqlite(stored_closing)) != (
                day,
                delta,
                cumulative,
            ):
                differ = True
        if differ:
            days_check.problems.append(f"account id {account_id}: stored days differ from postings")
        elif per_day and cumulative != balance:
            days_check.problems.append(f"account id {account_id}: last closing != balance")
    return balance_check, running_check, days_check


def _account(account_id: int) -> Account:
    return Account.objects.select_related("asset", "wallet").get(pk=account_id)


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
    instead of a Python function called for every row. The CASE tests the latest change first:
    a ledger's rows are mostly recent, so most rows take the first branch."""

    output_field = DateField()

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(TruncDate(*self.source_expressions))

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        changes = _utc_offsets(settings.TIME_ZONE)
        whens, args = [], []
        for start, seconds in reversed(changes[1:]):
            whens.append(f"WHEN {column} >= %s THEN %s")
            args += [*params, start, f"{seconds:+d} seconds"]
        sql = f"date({column}, CASE {' '.join(whens)} ELSE %s END)" if whens else f"date({column}, %s)"
        return sql, (*params, *args, f"{changes[0][1]:+d} seconds")


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
    lot_sums = _Stream(_open_lot_sums(), key=lambda row: row[0])
    held = Account.objects.exclude(category="external").order_by("id").values_list("id", "balance")
    for account_id, balance in held.iterator(chunk_size=CHUNK):
        cover.checked += 1
        lots = sum(total for _, total in lot_sums.take(account_id))
        if lots != balance:
            cover.problems.append(f"{_account(account_id)}: lots {lots} != balance {balance}")
    lot_check.checked = Lot.objects.count()
    for lot_id, amount, taken, remaining in _lots_off():
        lot_check.problems.append(f"lot {lot_id}: opened {amount}, taken {taken}, remaining {remaining}")
    return cover, lot_check


#: SQLite: the stored text of every amount in [0, 10**18) starts with these 62 characters and
#: ends with the amount's 18 digits, which SQLite reads as a 64-bit integer exactly.
_SMALL_PREFIX = encode_sqlite(0)[:62]
#: ... and of every amount in [-10**18, 0) with these, followed by the digits of 10**18 + amount.
_NEGATIVE_PREFIX = encode_sqlite(-(10**18))[:62]


def _small(column: str, *, signed: bool = False) -> str:
    """SQLite: ``column`` as an exact native integer when it is in [0, 10**18) (with
    ``signed``, in [-10**18, 10**18)), else NULL. Such integers sum natively (SQLite's SUM
    raises rather than lose a digit past 2**63), so only the amounts outside that range need
    the Python ``EXACT_SUM``."""
    value = f"CAST(substr({column}, 63) AS INTEGER)"
    negative = f" WHEN '{_NEGATIVE_PREFIX}' THEN {value} - {10**18}" if signed else ""
    return f"CASE substr({column}, 1, 62) WHEN '{_SMALL_PREFIX}' THEN {value}{negative} END"


def _is_overflow(exc: OperationalError) -> bool:
    return "integer overflow" in str(exc)


def _open_lot_sums() -> Iterator[tuple[int, int]]:
    """``(account id, part of the remaining units of its lots)`` in account order (an account
    may come twice; its parts add up to the total). Lots with nothing remaining add nothing:
    leaving them out spares summing the (many) emptied lots."""
    exact = (
        Lot.objects.exclude(remaining=0)
        .order_by()
        .values("account_id")
        .annotate(s=ExactSum("remaining"))
        .order_by("account_id")
        .values_list("account_id", "s")
    )
    if connection.vendor != "sqlite":
        yield from exact.iterator(chunk_size=CHUNK)
        return
    # Amounts in [0, 10**18) summed natively, the others (if any) by EXACT_SUM, in one pass:
    # the two sums of an account come out as two rows.
    lot = Lot._meta.db_table
    zero = encode_sqlite(0)
    small = _small("remaining")
    sql = (
        f"SELECT account_id, SUM({small}), EXACT_SUM(CASE WHEN {small} IS NULL THEN remaining END) "  # noqa: S608
        f"FROM {lot} WHERE remaining <> %s GROUP BY account_id ORDER BY account_id"
    )
    try:
        rows = list(_chunks(sql, [zero]))
    except OperationalError as exc:
        if not _is_overflow(exc):
            raise
        yield from exact.iterator(chunk_size=CHUNK)
        return
    for account_id, native, big in rows:
        yield account_id, (native or 0) + (decode_sqlite(big) if big is not None else 0)


def _chunks(sql: str, params) -> Iterator[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _lots_off() -> Iterator[tuple[int, int, int, int]]:
    """Lots whose remaining is not opened - taken, or below zero: ``(id, amount, taken, remaining)``.

    PostgreSQL: one join of the lots with their movements summed per lot. SQLite (amounts
    stored as text): each lot's movements summed natively through the ``lot_id`` index when
    the lot's amounts and its movements are all in [0, 10**18); the lots where they are not
    (and those that disagree) come back with their exact ``EXACT_SUM`` and are compared here."""
    lot, movement = Lot._meta.db_table, LotMovement._meta.db_table
    field = AmountField()
    zero = field.get_db_prep_value(0, connection)
    if connection.vendor == "sqlite":
        yield from _lots_off_sqlite(lot, movement)
        return
    # Only the models' own table names and fixed SQL fragments are interpolated.
    sql = (
        f"SELECT l.id, l.amount, m.taken, l.remaining FROM {lot} l "  # noqa: S608
        f"LEFT JOIN (SELECT lot_id, SUM(amount) AS taken FROM {movement} GROUP BY lot_id) m "
        f"ON m.lot_id = l.id WHERE l.amount - COALESCE(m.taken, 0) <> l.remaining OR l.remaining < %s "
        f"ORDER BY l.id"
    )
    for lot_id, amount, taken, remaining in _chunks(sql, [zero]):
        yield (
            lot_id,
            field.from_db_value(amount, None, connection),
            field.from_db_value(taken, None, connection) or 0,
            field.from_db_value(remaining, None, connection),
        )


def _lots_off_sqlite(lot: str, movement: str) -> Iterator[tuple[int, int, int, int]]:
    """See :func:`_lots_off`; only the problems are held."""
    taken_small = (
        f"(SELECT CASE WHEN COUNT(*) = COUNT({_small('m.amount')}) THEN COALESCE(SUM({_small('m.amount')}), 0) END "  # noqa: S608
        f"FROM {movement} m WHERE m.lot_id = l.id)"
    )
    # The exact sum is computed only for the rows the WHERE lets through.
    sql = (
        f"SELECT l.id, l.amount, l.remaining, (SELECT EXACT_SUM(m.amount) FROM {movement} m WHERE m.lot_id = l.id) "  # noqa: S608
        f"FROM {lot} l WHERE {_small('l.amount')} IS NULL OR {_small('l.remaining')} IS NULL "
        f"OR {_small('l.amount')} - {_small('l.remaining')} IS NOT {taken_small} ORDER BY l.id"
    )
    problems = []
    try:
        for lot_id, amount, remaining, taken in _chunks(sql, []):
            amount, remaining = decode_sqlite(amount), decode_sqlite(remaining)
            taken = decode_sqlite(taken) if taken is not None else 0
            if amount - taken != remaining or remaining < 0:
                problems.append((lot_id, amount, taken, remaining))
    except OperationalError as exc:
        # A lot's movements summing past 2**63 (each below 10**18, so only in a lot whose
        # movements already exceed it): the exact sums throughout.
        if not _is_overflow(exc):
            raise
        problems = list(_lots_off_exact(lot, movement))
    return iter(problems)


def _lots_off_exact(lot: str, movement: str) -> Iterator[tuple[int, int, int, int]]:
    """SQLite: every lot joined with its movements summed by ``EXACT_SUM``; the difference is
    taken by the exact ``AMOUNT_SUB``, and only for lots that have movements."""
    sql = (
        f"SELECT l.id, l.amount, m.taken, l.remaining FROM {lot} l "  # noqa: S608
        f"LEFT JOIN (SELECT lot_id, EXACT_SUM(amount) AS taken FROM {movement} GROUP BY lot_id) m "
        f"ON m.lot_id = l.id WHERE CASE WHEN m.taken IS NULL THEN l.amount <> l.remaining "
        f"ELSE AMOUNT_SUB(l.amount, m.taken) <> l.remaining END OR l.remaining < %s ORDER BY l.id"
    )
    for lot_id, amount, taken, remaining in _chunks(sql, [encode_sqlite(0)]):
        yield (
            lot_id,
            decode_sqlite(amount),
            decode_sqlite(taken) if taken is not None else 0,
            decode_sqlite(remaining),
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
    balance, running, days = _balances_running_and_days()
    cover, lots = _lots_cover_balances()
    return LedgerReport(
        checks=[
            _entries_balance(),
            balance,
            running,
            days,
            cover,
            lots,
            _numbering_gapless(),
            _reversals_mirror(),
        ]
    )
