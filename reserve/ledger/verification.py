"""Ledger invariants, checked from the stored rows (used by ``manage.py verify_ledger``,
the hourly Celery task and the tests).

Every check runs in the database or streams sorted rows, so memory stays flat however large
the ledger grows: sums are grouped in SQL and only the rows (or accounts) that disagree come
back, and what must be walked in order merges sorted streams holding their next rows only
(one account's days, a reversal's postings at most). PostgreSQL does the running balances and
the daily closings with window functions. SQLite reads the postings once, in (account, id)
order, for running balances, account balances and daily closings together: measured, that
one pass costs it less than the same checks as windows and grouped sums, each of which needs
its own ordered walk of the postings.

Amounts stay exact: ``ExactSum`` in SQL, Python ints in the streams; on SQLite, amounts below
10**18 in absolute value are read from their stored text as native integers and summed by
SQLite itself (whose integer SUM raises rather than overflow), and only larger amounts, or an
overflow, go through the Python ``EXACT_SUM``. The rows that need it are picked first, since
SQLite calls that Python function for every row it is given.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby, islice
from operator import itemgetter

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Count, DateField, F, Func, Max, Window
from django.db.models.expressions import RawSQL
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

    def take(self, key) -> Iterator:
        """Yield the next rows while their key equals ``key``, first dropping any with a smaller key."""
        while self._next is not self._END and self._key(self._next) < key:
            self._next = next(self._rows, self._END)
        while self._next is not self._END and self._key(self._next) == key:
            row, self._next = self._next, next(self._rows, self._END)
            yield row


def _entries_balance() -> Check:
    check = Check("entries balance per asset")
    if connection.vendor == "sqlite":
        unbalanced, short = _entry_problems_sqlite()
    else:
        unbalanced, short = list(_unbalanced_entries()), _short_entries()
    for entry_id, asset_id, total in unbalanced:
        check.problems.append(f"entry id {entry_id} asset id {asset_id} sums to {total}")
    without_postings = 0
    for number, n in short:
        check.problems.append(f"entry {number} has fewer than two postings")
        without_postings += n == 0
    # Entries that have postings (what the per-asset sums covered).
    check.checked = JournalEntry.objects.count() - without_postings
    return check


def _short_entries(ids: list[int] | None = None) -> list[tuple[str, int]]:
    """``(number, postings)`` of the entries with fewer than two postings (of those in ``ids``,
    when given), in number order; ``ids`` are looked up 500 at a time."""
    if ids is None:
        batches = [JournalEntry.objects.all()]
    else:
        batches = [JournalEntry.objects.filter(id__in=ids[i : i + 500]) for i in range(0, len(ids), 500)]
    rows = [
        row
        for entries in batches
        for row in entries.annotate(n=Count("postings"))
        .filter(n__lt=2)
        .values_list("year", "sequence", "number", "n")
        .iterator(chunk_size=CHUNK)
    ]
    return [(number, n) for _year, _sequence, number, n in sorted(rows)]


def _exact_entry_sums():
    """Every entry's postings summed exactly per asset, where the sum is not 0."""
    return (
        Posting.objects.order_by()
        .values("entry_id", "account__asset_id")
        .annotate(total=ExactSum("amount"))
        .exclude(total=0)
        .order_by("entry_id", "account__asset_id")
        .values_list("entry_id", "account__asset_id", "total")
    )


def _unbalanced_entries() -> Iterator[tuple[int, int, int]]:
    """``(entry id, asset id, sum)`` of every entry whose postings in an asset do not sum to 0."""
    yield from _exact_entry_sums().iterator(chunk_size=CHUNK)


def _entry_problems_sqlite() -> tuple[list[tuple[int, int, int]], list[tuple[str, int]]]:
    """SQLite: the unbalanced entries as :func:`_unbalanced_entries`, and the short ones as
    :func:`_short_entries`; only the problems are held.

    One pass over the postings in entry order (the ``entry_id`` index, so no sorting) sums the
    amounts in [-10**18, 10**18) natively and lets through only the entries that do not sum
    to 0, hold a larger amount, span assets or have fewer than two postings; those are summed
    exactly per asset by ``EXACT_SUM``, a batch of entries at a time. Entries without any
    posting are looked for only when fewer entries have postings than there are entries."""
    exact = _exact_entry_sums()
    posting, account = Posting._meta.db_table, Account._meta.db_table
    small = _small("p.amount", signed=True)
    sql = (
        f"SELECT p.entry_id, COUNT(*) FROM {posting} p JOIN {account} a ON a.id = p.account_id "  # noqa: S608
        f"GROUP BY p.entry_id HAVING COUNT(*) < 2 OR COUNT(*) > COUNT({small}) OR SUM({small}) <> 0 "
        f"OR MIN(a.asset_id) <> MAX(a.asset_id) ORDER BY p.entry_id"
    )
    unbalanced: list[tuple[int, int, int]] = []
    short_ids: list[int] = []
    try:
        for batch in _batches(_chunks(sql, []), 500):
            unbalanced += exact.filter(entry_id__in=[entry_id for entry_id, _n in batch])
            short_ids += [entry_id for entry_id, n in batch if n < 2]
    except OperationalError as exc:
        if not _is_overflow(exc):
            raise
        return list(exact.iterator(chunk_size=CHUNK)), _short_entries()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT entry_id) FROM {posting}")  # noqa: S608
        (with_postings,) = cursor.fetchone()
    if with_postings != JournalEntry.objects.count():
        short_ids += JournalEntry.objects.filter(postings__isnull=True).values_list("id", flat=True)
    return unbalanced, _short_entries(short_ids) if short_ids else []


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    while batch := list(islice(rows, size)):
        yield batch


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
    """SQLite: one pass over the postings in (account, id) order, read as stored (local days
    as ``YYYY-MM-DD`` text computed in SQL; amounts in [-10**18, 10**18) as native integers,
    larger ones as their fixed-width text, decoded here), merged with the stored days and the
    accounts. For each account: every posting's balance_after against the running sum, the
    balance against the sum of its postings, and its stored days against its postings summed
    per local day (held for one account at a time: one number per day it moved)."""
    balance_check = Check("account balance = sum of postings")
    running_check = Check("posting balance_after = running sum")
    days_check = Check("daily closing balances = cumulative postings")
    postings = groupby(
        _raw_rows(
            Posting.objects.annotate(
                day=_LocalDate("effective_at"),
                units=_native_or_text("amount"),
                after=_native_or_text("balance_after"),
            )
            # Sorted rather than walked through the account index: reading the table in
            # order and sorting costs SQLite less than a row lookup per posting.
            .order_by(F("account_id") + 0, "id")
            .values_list("account_id", "units", "after", "id", "day")
        ),
        key=itemgetter(0),
    )
    stored_days = groupby(
        _raw_rows(
            AccountDay.objects.annotate(units=_native_or_text("delta"), total=_native_or_text("closing"))
            .order_by("account_id", "day")
            .values_list("account_id", "day", "units", "total")
        ),
        key=itemgetter(0),
    )
    next_postings, next_days = next(postings, None), next(stored_days, None)
    accounts = Account.objects.order_by("id").values_list("id", "balance", "category")
    for account_id, balance, category in accounts.iterator(chunk_size=CHUNK):
        running = 0
        per_day: dict[str, int] = {}
        while next_postings is not None and next_postings[0] < account_id:
            next_postings = next(postings, None)
        if next_postings is not None and next_postings[0] == account_id:
            for _account_id, amount, after, posting_id, day in next_postings[1]:
                if amount.__class__ is str:
                    amount = decode_sqlite(amount)
                running += amount
                per_day[day] = per_day.get(day, 0) + amount
                running_check.checked += 1
                if running != after and running != _decoded(after):
                    running_check.problems.append(
                        f"posting id {posting_id}: balance_after {_decoded(after)} != {running}"
                    )
            next_postings = next(postings, None)
        balance_check.checked += 1
        if balance != running:
            balance_check.problems.append(f"{_account(account_id)}: balance {balance} != postings {running}")
        if balance < 0 and category != Category.EXTERNAL:
            balance_check.problems.append(f"{_account(account_id)}: negative balance {balance}")
        stored = []
        while next_days is not None and next_days[0] < account_id:
            next_days = next(stored_days, None)
        if next_days is not None and next_days[0] == account_id:
            stored = list(next_days[1])
            next_days = next(stored_days, None)
        if not per_day and not stored:
            continue
        days_check.checked += 1
        cumulative, differ = 0, len(stored) != len(per_day)
        for (day, delta), (_account_id, stored_day, stored_delta, stored_closing) in zip(
            sorted(per_day.items()), stored, strict=False
        ):
            cumulative += delta
            if (str(stored_day), _decoded(stored_delta), _decoded(stored_closing)) != (
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


def _native_or_text(column: str) -> RawSQL:
    """SQLite: ``column`` as a native integer when in [-10**18, 10**18), else its stored text."""
    return RawSQL(f"COALESCE({_small(column, signed=True)}, {column})", [])  # noqa: S611


def _decoded(value: int | str) -> int:
    return decode_sqlite(value) if value.__class__ is str else value


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
    it is ``date(column, '+N seconds')`` of the column cut to whole seconds, with N picked by a
    CASE over the zone's offset changes, instead of a Python function called for every row.
    The CASE tests the latest change first: a ledger's rows are mostly recent, so most rows
    take the first branch."""

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
        # Whole seconds only: date() rounds to the millisecond, so 23:59:59.9995 would be the next day.
        moment = f"substr({column}, 1, 19)"
        sql = f"date({moment}, CASE {' '.join(whens)} ELSE %s END)" if whens else f"date({moment}, %s)"
        return sql, (*params, *args, f"{changes[0][1]:+d} seconds")


def _days_consistent() -> Check:
    """PostgreSQL: the stored days of each account against the postings grouped by local day,
    in one statement that returns a row per account: the expected days (deltas, and closings
    as their running sum by a window function) fully joined with the stored days, so that a
    day on one side only, another delta or another closing marks the account; and the sum of
    its postings, against its balance (the last closing)."""
    check = Check("daily closing balances = cumulative postings")
    expected, params = (
        Posting.objects.order_by()
        .annotate(day=_LocalDate("effective_at"))
        .values("account_id", "day")
        .annotate(delta=ExactSum("amount"))
        .values_list("account_id", "day", "delta")
        .query.sql_with_params()
    )
    stored, account = AccountDay._meta.db_table, Account._meta.db_table
    # Only the models' own table names and the ORM's own SQL are interpolated.
    sql = (
        "SELECT x.account_id, x.differ, x.total, a.balance FROM ("  # noqa: S608
        "SELECT COALESCE(e.account_id, d.account_id) AS account_id, "
        "bool_or(e.day IS NULL OR d.day IS NULL OR e.delta <> d.delta OR e.closing <> d.closing) AS differ, "
        "SUM(e.delta) AS total FROM ("
        "SELECT account_id, day, delta, SUM(delta) OVER (PARTITION BY account_id ORDER BY day) AS closing "
        f"FROM ({expected}) g) e FULL OUTER JOIN {stored} d ON d.account_id = e.account_id AND d.day = e.day "
        f"GROUP BY 1) x JOIN {account} a ON a.id = x.account_id ORDER BY x.account_id"
    )
    for account_id, differ, total, balance in _chunks(sql, params):
        check.checked += 1
        if differ:
            check.problems.append(f"account id {account_id}: stored days differ from postings")
        elif total is not None and total != balance:
            check.problems.append(f"account id {account_id}: last closing != balance")
    return check


def _lots_cover_balances() -> tuple[Check, Check]:
    cover = Check("open lots cover each balance exactly")
    lot_check = Check("lot remaining = opened - taken")
    lot_check.checked = Lot.objects.count()
    if connection.vendor == "sqlite":
        differing, negative = _lot_census()
        lot_problems, lot_sums = _lots_off_sqlite(differing), _open_lot_sums_sqlite(negative=negative > 0)
    else:
        lot_problems, lot_sums = _lots_off(), _open_lot_sums()
    for lot_id, amount, taken, remaining in lot_problems:
        lot_check.problems.append(f"lot {lot_id}: opened {amount}, taken {taken}, remaining {remaining}")
    sums = _Stream(lot_sums, key=lambda row: row[0])
    held = Account.objects.exclude(category="external").order_by("id").values_list("id", "balance")
    for account_id, balance in held.iterator(chunk_size=CHUNK):
        cover.checked += 1
        lots = sum(total for _, total in sums.take(account_id))
        if lots != balance:
            cover.problems.append(f"{_account(account_id)}: lots {lots} != balance {balance}")
    return cover, lot_check


#: SQLite: the stored texts of -10**18, 0 and 10**18. Every stored amount is text of the same
#: width, so comparing texts compares amounts; an amount in [0, 10**18) ends with its 18 digits
#: (which SQLite reads as a 64-bit integer exactly), one in [-10**18, 0) with those of 10**18 + amount.
_MINUS_LIMIT, _ZERO, _LIMIT = encode_sqlite(-(10**18)), encode_sqlite(0), encode_sqlite(10**18)


def _small(column: str, *, signed: bool = False) -> str:
    """SQLite: ``column`` as an exact native integer when it is in [0, 10**18) (with
    ``signed``, in [-10**18, 10**18)), else NULL. Such integers sum natively (SQLite's SUM
    raises rather than lose a digit past 2**63), so only the amounts outside that range need
    the Python ``EXACT_SUM``. (Text comparisons: cheaper than cutting off a prefix to compare.)"""
    value = f"CAST(substr({column}, 63) AS INTEGER)"
    positive = f"CASE WHEN {column} < '{_LIMIT}' THEN {value} END"
    if not signed:
        return f"CASE WHEN {column} >= '{_ZERO}' THEN {positive} END"
    return (
        f"CASE WHEN {column} >= '{_ZERO}' THEN {positive} "
        f"WHEN {column} >= '{_MINUS_LIMIT}' THEN {value} - {10**18} END"
    )


def _is_overflow(exc: OperationalError) -> bool:
    return "integer overflow" in str(exc)


def _chunks(sql: str, params) -> Iterator[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _open_lot_sums() -> Iterator[tuple[int, int]]:
    """``(account id, remaining units of its lots)`` in account order. Lots with nothing
    remaining add nothing: leaving them out spares summing the (many) emptied lots."""
    yield from (
        Lot.objects.exclude(remaining=0)
        .order_by()
        .values("account_id")
        .annotate(s=ExactSum("remaining"))
        .order_by("account_id")
        .values_list("account_id", "s")
        .iterator(chunk_size=CHUNK)
    )


def _open_lot_sums_sqlite(*, negative: bool) -> list[tuple[int, int]]:
    """SQLite: as :func:`_open_lot_sums`, in parts (an account may come more than once; its
    parts add up to its total). The lots above zero through the partial index of open lots
    (its condition written out, not a parameter, so that SQLite may use it), amounts in
    [0, 10**18) summed natively; then, summed exactly, the larger amounts of the accounts that
    hold some, and lots below zero (only in a tampered ledger) when ``negative``. EXACT_SUM is
    a Python function called for every row given to it, NULL or not: it sees only those rows."""
    lot = Lot._meta.db_table
    small = _small("remaining")
    sql = (
        f"SELECT account_id, SUM({small}), COUNT(*) - COUNT({small}) FROM {lot} "  # noqa: S608
        f"WHERE remaining > '{_ZERO}' GROUP BY account_id ORDER BY account_id"
    )
    try:
        rows = list(_chunks(sql, []))
    except OperationalError as exc:
        if not _is_overflow(exc):
            raise
        return list(_open_lot_sums())
    parts = [(account_id, native or 0) for account_id, native, _large in rows]
    sums = Lot.objects.order_by().values("account_id").annotate(s=ExactSum("remaining"))
    large = [account_id for account_id, _native, count in rows if count]
    if large:
        parts += sums.filter(account_id__in=large, remaining__gte=10**18).values_list("account_id", "s")
    if negative:
        parts += sums.filter(remaining__lt=0).values_list("account_id", "s")
    return sorted(parts)


def _lot_census() -> tuple[int, int]:
    """SQLite, one pass over the lots: how many have a remaining other than their amount or
    below zero, and how many below zero."""
    lot = Lot._meta.db_table
    sql = (
        f"SELECT COALESCE(SUM(amount <> remaining OR remaining < '{_ZERO}'), 0), "  # noqa: S608
        f"COALESCE(SUM(remaining < '{_ZERO}'), 0) FROM {lot}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        differing, negative = cursor.fetchone()
    return differing, negative


def _lots_off() -> Iterator[tuple[int, int, int, int]]:
    """Lots whose remaining is not opened - taken, or below zero: ``(id, amount, taken, remaining)``.
    PostgreSQL: one join of the lots with their movements summed per lot."""
    lot, movement = Lot._meta.db_table, LotMovement._meta.db_table
    field = AmountField()
    zero = field.get_db_prep_value(0, connection)
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


def _lots_off_sqlite(differing: int) -> list[tuple[int, int, int, int]]:
    """SQLite: as :func:`_lots_off`; only the problems are held. ``differing``: how many lots
    have a remaining other than their amount, or below zero (:func:`_lot_census`).

    The movements summed per lot in ``lot_id`` order (natively, for amounts in [0, 10**18)),
    each sum joined with its lot by primary key: the lots that disagree, or hold a larger
    amount, come back with their exact ``EXACT_SUM`` and are compared here. A lot without
    movements is right when its remaining is its amount: in a consistent ledger the lots that
    differ are exactly those with movements (a movement takes more than zero), so only when
    the counts disagree, or a lot with movements is wrong, are the lots without any looked for."""
    lot, movement = Lot._meta.db_table, LotMovement._meta.db_table
    taken = (
        f"SELECT lot_id, SUM({_small('amount')}) AS taken, COUNT(*) - COUNT({_small('amount')}) AS large "  # noqa: S608
        f"FROM {movement} GROUP BY lot_id"
    )
    # The exact sum is computed only for the rows the WHERE lets through.
    sql = (
        f"SELECT l.id, l.amount, l.remaining, (SELECT EXACT_SUM(x.amount) FROM {movement} x WHERE x.lot_id = l.id) "  # noqa: S608
        f"FROM ({taken}) m CROSS JOIN {lot} l ON l.id = m.lot_id WHERE m.large > 0 OR l.remaining < '{_ZERO}' "
        f"OR {_small('l.amount')} - {_small('l.remaining')} IS NOT m.taken ORDER BY l.id"
    )
    problems = []
    try:
        for lot_id, amount, remaining, taken in _chunks(sql, []):
            amount, remaining, taken = decode_sqlite(amount), decode_sqlite(remaining), decode_sqlite(taken)
            if amount - taken != remaining or remaining < 0:
                problems.append((lot_id, amount, taken, remaining))
    except OperationalError as exc:
        # A lot's movements summing past 2**63 (each below 10**18, so only in a lot whose
        # movements already exceed it): the exact sums throughout.
        if not _is_overflow(exc):
            raise
        return list(_lots_off_exact(lot, movement))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT lot_id) FROM {movement}")  # noqa: S608
        (with_movements,) = cursor.fetchone()
    if problems or differing != with_movements:
        without = (
            f"SELECT l.id, l.amount, l.remaining FROM {lot} l "  # noqa: S608
            f"WHERE (l.amount <> l.remaining OR l.remaining < '{_ZERO}') "
            f"AND l.id NOT IN (SELECT lot_id FROM {movement}) ORDER BY l.id"
        )
        for lot_id, amount, remaining in _chunks(without, []):
            problems.append((lot_id, decode_sqlite(amount), 0, decode_sqlite(remaining)))
        problems.sort()
    return problems


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
