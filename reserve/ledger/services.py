"""Every write to the ledger goes through :func:`post_entry` or :func:`reverse_entry`.

One transaction holds the year's sequence row against a closing month, locks the touched
accounts (in id order: posting transactions cannot deadlock each other), checks every rule,
writes the entry, its postings, the materialised balances, the per-day closing balances, the
lots and the audit row, and takes the year's next number (gapless) in its last statement: the
counter is the only row postings to different accounts share. Rows of one kind are written in
one statement, and on PostgreSQL the writes whose results are not read travel with the last one
(a two-line transfer is 12 statements between BEGIN and COMMIT on SQLite, 8 round trips on
PostgreSQL). Amount arithmetic is done here in Python on ints, read and written under the
account locks, or in SQL only through ``AmountPlus`` (exact on both databases), which lets a
backdated entry move every later day's closing balance in one UPDATE.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve.amounts import AmountError, AmountField, AmountPlus, check_units, encode_sqlite
from reserve.audit import audit_event_row, record_event
from reserve.ledger import prepared
from reserve.ledger.permit import executing_request_id
from reserve.ledger.reasons import REVERSAL, UnknownReason, get_reason
from reserve.models import (
    Account,
    AccountDay,
    Asset,
    AuditEvent,
    Category,
    JournalEntry,
    JournalSequence,
    Lot,
    LotMovement,
    Period,
    Posting,
    Wallet,
)
from reserve.retry import retry_on_conflict

#: How far in the future an entry may be dated (clock skew between hosts), not more.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class LedgerError(ValidationError):
    """A posting that breaks a ledger rule; nothing was written."""


@dataclass(frozen=True)
class Line:
    account: Account
    amount: int
    #: A restriction (such as ``no_sale``) put on the units this line brings in.
    restriction: str = ""


@dataclass(frozen=True)
class Origin:
    """Where units entering the fund come from: opens root lots."""

    kind: str
    label: str
    document: models.Model | None = None
    restriction: str = ""


@dataclass
class _Piece:
    lot: Lot
    amount: int


@dataclass
class _Plan:
    prefer_lots: dict[int, list[int]] = field(default_factory=dict)
    restore_pieces: dict[int, list[_Piece]] = field(default_factory=dict)
    forbidden_restrictions: frozenset[str] = frozenset()


def get_account(*, wallet: Wallet | None, category: str, asset: Asset) -> Account:
    """The account of (wallet, category, asset), created on first use."""
    if (category == Category.EXTERNAL) != (wallet is None):
        raise LedgerError(_("Only the external category has no wallet."))
    if category not in Category.values:
        raise LedgerError(_("Unknown category %(category)s.") % {"category": category})
    if wallet is not None and wallet.network != asset.network:
        raise LedgerError(
            _("Wallet %(wallet)s is on %(wnet)s; %(asset)s is on %(anet)s.")
            % {"wallet": wallet.code, "wnet": wallet.network, "asset": asset.symbol, "anet": asset.network}
        )
    try:
        with transaction.atomic():
            account, _created = Account.objects.get_or_create(wallet=wallet, category=category, asset=asset)
    except IntegrityError:
        account = Account.objects.get(wallet=wallet, category=category, asset=asset)
    return account


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def ensure_period_open(moment: dt.datetime) -> None:
    """Refuse a date in a closed period or before the latest closed one (closing a month
    closes everything before it too)."""
    latest = (
        Period.objects.filter(closed_at__isnull=False)
        .order_by("-year", "-month")
        .values_list("year", "month")
        .first()
    )
    _refuse_closed_period(local_day(moment), latest)


def _refuse_closed_period(day: dt.date, latest: tuple[int, int] | None) -> None:
    if latest is not None and (day.year, day.month) <= latest:
        raise LedgerError(
            _(
                "Period %(year)d-%(month)02d is closed (closed up to %(latest)s); entries dated in it are refused."
            )
            % {"year": day.year, "month": day.month, "latest": f"{latest[0]}-{latest[1]:02d}"}
        )


def _validate_lines(lines: Sequence[Line]) -> None:
    if len(lines) < 2:
        raise LedgerError(_("An entry needs at least two postings."))
    totals: dict[int, int] = defaultdict(int)
    seen: set[int] = set()
    for line in lines:
        try:
            check_units(line.amount)
        except AmountError as exc:
            raise LedgerError(str(exc))
        if line.amount == 0:
            raise LedgerError(_("A posting amount cannot be zero."))
        if line.account.pk in seen:
            raise LedgerError(_("An account appears twice in one entry."))
        seen.add(line.account.pk)
        totals[line.account.asset_id] += line.amount
    unbalanced = [asset_id for asset_id, total in totals.items() if total != 0]
    if unbalanced:
        symbols = ", ".join(Asset.objects.filter(pk__in=unbalanced).values_list("symbol", flat=True))
        raise LedgerError(_("The entry does not balance for %(assets)s.") % {"assets": symbols})


def _hold_year(year: int) -> int:
    """PostgreSQL: make sure the year's sequence row exists and hold it against a closing month;
    answers the id the entry will have (see :func:`_number_and_insert_postgresql`).

    The hold is a ``FOR KEY SHARE`` row lock: postings hold it together (it does not conflict
    with the ``UPDATE`` of the counter that each takes at its end), and :func:`close_period`'s
    ``FOR UPDATE`` waits for the postings in flight, so none slips into a month while it closes.
    The row is inserted only when the lock finds none: an insert that meets the row would wait
    for whichever posting is updating its counter. (SQLite runs one writing transaction at a
    time: nothing to hold; :func:`_take_number` opens the row there.)"""
    table = connection.ops.quote_name(JournalSequence._meta.db_table)
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM {table} WHERE year = %s FOR KEY SHARE",  # noqa: S608 - the models' own tables
                [JournalEntry._meta.db_table, year],
            )
            row = cursor.fetchone()
            if row is not None:
                return row[0]
            JournalSequence.objects.bulk_create([JournalSequence(year=year)], ignore_conflicts=True)
    raise LedgerError(_("The journal sequence of %(year)s could not be opened.") % {"year": year})


def _take_number(year: int) -> int:
    """SQLite: the year's next entry number, the year's row opened on its first entry. A
    rolled-back posting gives its number back: numbers stay gapless."""
    table = connection.ops.quote_name(JournalSequence._meta.db_table)
    with connection.cursor() as cursor:
        for _attempt in range(2):
            # One statement (RETURNING): the number is taken and read at once.
            cursor.execute(
                f"UPDATE {table} SET last_number = last_number + 1 WHERE year = %s RETURNING last_number",  # noqa: S608 - the model's own table
                [year],
            )
            row = cursor.fetchone()
            if row is not None:
                return row[0]
            JournalSequence.objects.bulk_create([JournalSequence(year=year)], ignore_conflicts=True)
    raise LedgerError(_("The journal sequence of %(year)s could not be opened.") % {"year": year})


def _insert_columns(
    obj: models.Model, computed: dict[str, tuple[str, list]]
) -> tuple[list[str], list[str], list]:
    """Columns, value expressions and parameters to insert ``obj``; ``computed`` gives an SQL
    expression (and its parameters) instead of the value for some attributes."""
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for model_field in obj._meta.concrete_fields:
        if model_field.primary_key and obj.pk is None:
            continue
        columns.append(quote(model_field.column))
        if model_field.attname in computed:
            sql, sql_params = computed[model_field.attname]
            values.append(sql)
            params.extend(sql_params)
        else:
            values.append("%s")
            params.append(model_field.get_db_prep_save(model_field.pre_save(obj, add=True), connection))
    return columns, values, params


def _insert_rows(objs: Sequence[models.Model]) -> tuple[str, list, list[str]]:
    """``INSERT INTO <table> (<columns>) VALUES (...), ...`` for rows of one model, its
    parameters and the quoted columns."""
    rows, params = [], []
    for obj in objs:
        columns, values, row_params = _insert_columns(obj, {})
        rows.append(f"({', '.join(values)})")
        params += row_params
    table = connection.ops.quote_name(objs[0]._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(rows)}", params, columns  # noqa: S608 - the model's own table


def _number_and_insert_postgresql(
    entry: JournalEntry, event: AuditEvent, *, after: Sequence[tuple[str, list]] = (), commit: bool = False
) -> None:
    """Take the year's next number and insert the entry and its audit row, in one statement.
    The entry's id was drawn before (:func:`_hold_year`): its postings and lots name it first,
    and foreign keys are checked at commit.

    The counter's ``UPDATE`` locks its row until commit; it is the entry's last statement, so
    postings to different accounts wait on each other only here, and for no other round trip.
    A rolled-back posting gives its number back: numbers stay gapless.

    ``commit``: the posting's transaction is its own (no caller's atomic block around it), so
    COMMIT goes in the same round trip: the counter is held for the server's commit alone, not
    also for the client's turn and a round trip (the driver's own commit then finds nothing
    to do, and Django's atomic block ends as usual, on-commit callbacks included)."""
    quote = connection.ops.quote_name
    digits = "n.last_number::text"
    entry_columns, entry_values, entry_params = _insert_columns(
        entry,
        {
            "number": (
                f"(%s || '-' || lpad({digits}, greatest(6, length({digits})), '0'))",
                [str(entry.year)],
            ),
            "sequence": ("n.last_number", []),
        },
    )
    data = AuditEvent._meta.get_field("data").get_db_prep_save(event.data, connection)
    event_columns, event_values, event_params = _insert_columns(
        event,
        {
            "subject_repr": ("e.number", []),
            "data": ("(%s || jsonb_build_object('number', e.number))", [data]),
        },
    )
    sql = (
        f"WITH n AS (UPDATE {quote(JournalSequence._meta.db_table)} SET last_number = last_number + 1 "  # noqa: S608 - the models' own tables
        "WHERE year = %s RETURNING last_number), "
        f"e AS (INSERT INTO {quote(JournalEntry._meta.db_table)} ({', '.join(entry_columns)}) "
        f"SELECT {', '.join(entry_values)} FROM n RETURNING number, sequence), "
        f"a AS (INSERT INTO {quote(AuditEvent._meta.db_table)} ({', '.join(event_columns)}) "
        f"SELECT {', '.join(event_values)} FROM e RETURNING id) "
        "SELECT e.sequence, e.number, a.id FROM e, a"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "; ".join([*(statement for statement, _params in after), sql, *(["COMMIT"] if commit else [])]),
            [*(p for _statement, params in after for p in params), entry.year, *entry_params, *event_params],
        )
        row = None
        while True:
            if cursor.description is not None:  # the entry's statement: the one that returns rows
                row = cursor.fetchone()
            if not cursor.nextset():
                break
    if row is None:
        raise LedgerError(_("The journal sequence of %(year)s could not be opened.") % {"year": entry.year})
    entry.sequence, entry.number, event.pk = row
    entry._state.adding = event._state.adding = False
    entry._state.db = event._state.db = connection.alias


def _number_and_save(entry: JournalEntry) -> None:
    """SQLite: number and insert the entry first (its postings and lots name it)."""
    number = _take_number(entry.year)
    entry.sequence = number
    entry.number = f"{entry.year}-{number:06d}"
    _insert_returning_ids([entry])


def _insert_returning_ids(objs: Sequence[models.Model], *, order_by: str | None = None) -> None:
    """Insert rows of one model in one statement and set their ids, as ``bulk_create`` does,
    without compiling a query each time. ``order_by``: a field that tells the rows apart, read
    back with the ids (the order of ``RETURNING`` rows is not promised)."""
    quote = connection.ops.quote_name
    insert, params, _columns = _insert_rows(objs)
    meta = objs[0]._meta
    returned = [quote(meta.pk.column)]
    if order_by is not None:
        returned.append(quote(meta.get_field(order_by).column))
    with connection.cursor() as cursor:
        cursor.execute(f"{insert} RETURNING {', '.join(returned)}", params)
        ids = cursor.fetchall()
    if order_by is not None:
        by_key = {key: pk for pk, key in ids}
        ids = [(by_key[getattr(obj, order_by)],) for obj in objs]
    for obj, (pk,) in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _day_facts(queryset: models.QuerySet, on) -> models.QuerySet:
    """Accounts annotated with what the checks and the day rows need: the latest closed period
    (``closed_through``: year * 100 + month), the account's row for the day ``on`` (its database
    value; ``day_delta``, ``day_closing``), the closing before it and the lowest closing after it
    (only a backdated entry finds one). Index lookups on (account, day), one statement for every
    account; written as SQL because building five ORM subqueries cost more than running them."""
    quote = connection.ops.quote_name
    account, days = quote(Account._meta.db_table), quote(AccountDay._meta.db_table)
    period = quote(Period._meta.db_table)

    def closing(column: str, where: str, order: str) -> RawSQL:
        return RawSQL(  # noqa: S611 - the models' own tables, the day as a parameter
            f"SELECT d.{column} FROM {days} d WHERE d.account_id = {account}.id AND d.day {where} %s "  # noqa: S608 - the models' own tables
            f"ORDER BY {order} LIMIT 1",
            [on],
            output_field=AmountField(),
        )

    return queryset.annotate(
        closed_through=RawSQL(  # noqa: S611 - the model's own table
            f"SELECT p.year * 100 + p.month FROM {period} p WHERE p.closed_at IS NOT NULL "  # noqa: S608 - the model's own table
            "ORDER BY p.year DESC, p.month DESC LIMIT 1",
            [],
            output_field=models.IntegerField(),
        ),
        day_delta=closing("delta", "=", "d.day"),
        day_closing=closing("closing", "=", "d.day"),
        closing_before=closing("closing", "<", "d.day DESC"),
        # Fixed-width text on SQLite orders like the numbers.
        lowest_after=closing("closing", ">", "d.closing"),
    )


class _Writes:
    """Statements whose results the posting does not read. SQLite runs each at once; on
    PostgreSQL they go to the server with the entry's last statement, in one round trip (the
    cursors bind parameters on the client, so one call may hold several statements)."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, list]] = []

    def add(self, sql: str, params: list) -> None:
        if connection.vendor == "postgresql":
            self.pending.append((sql, params))
            return
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def amounts(self, model: type[models.Model], column: str, values: dict[int, int]) -> None:
        """Set one amount column of the rows ``{id: new value}`` (the rows are locked, or belong
        to locked accounts: the values were read under that lock)."""
        quote = connection.ops.quote_name
        prepare = model._meta.get_field(column).get_db_prep_save
        cases, params = [], []
        for pk, value in values.items():
            cases.append("WHEN %s THEN %s")
            params += [pk, prepare(value, connection)]
        self.add(
            f"UPDATE {quote(model._meta.db_table)} SET {quote(column)} = CASE {quote('id')} {' '.join(cases)} END "  # noqa: S608 - the model's own table
            f"WHERE {quote('id')} IN ({', '.join(['%s'] * len(values))})",
            [*params, *values],
        )

    def insert(self, objs: Sequence[models.Model], *, upsert: Sequence[str] = ()) -> None:
        """Insert rows of one model whose ids nobody reads; ``upsert``: on a conflict with an
        existing row on these columns, the existing row takes the new values."""
        quote = connection.ops.quote_name
        sql, params, columns = _insert_rows(objs)
        meta = objs[0]._meta
        if upsert:
            conflict = ", ".join(quote(meta.get_field(name).column) for name in upsert)
            updated = ", ".join(
                f"{column} = EXCLUDED.{column}" for column in columns if column not in conflict
            )
            sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updated}"
        self.add(sql, params)


_FACTS = ("closed_through", "day_delta", "day_closing", "closing_before", "lowest_after")


def _locked(*ids: int) -> models.QuerySet:
    return (
        Account.objects.select_for_update(of=("self",))
        .select_related("asset", "wallet")
        .filter(pk__in=ids)
        .order_by("pk")
    )


def _lock_accounts(account_ids: list[int], day: dt.date) -> dict[int, Account]:
    """Lock the entry's accounts, in id order, and read their day facts (:func:`_day_facts`).

    On SQLite one statement does both (one writing transaction at a time, so nothing changes in
    between). On PostgreSQL the facts are read in a second statement: a ``FOR UPDATE`` that waited
    for another posting returns the account's new row, but subqueries of the same statement
    would still see the rows as they were when it began. Both are compiled once per number of
    accounts (:mod:`reserve.ledger.prepared`)."""
    ids = prepared.padded(sorted(set(account_ids)))
    on = connection.ops.adapt_datefield_value(day)
    if connection.vendor != "postgresql":
        locked = prepared.instances(
            ("ledger: locked accounts with day facts", len(ids)),
            lambda on, *ids: _day_facts(_locked(*ids), on),
            [on, *ids],
        )
        return {account.pk: account for account in locked}
    accounts = {
        account.pk: account
        for account in prepared.instances(("ledger: locked accounts", len(ids)), _locked, ids)
    }
    facts = prepared.rows(
        ("ledger: day facts", len(ids)),
        lambda on, *ids: (
            _day_facts(Account.objects.filter(pk__in=ids), on).order_by().values_list("pk", *_FACTS)
        ),
        [on, *ids],
    )
    for pk, *values in facts:
        for name, value in zip(_FACTS, values, strict=True):
            setattr(accounts[pk], name, value)
    return accounts


def _ensure_history_stays_non_negative(account: Account, day: dt.date, amount: int) -> None:
    """A backdated outflow must not make the account negative on any day since its date: the
    lowest closing on or after the day, and the closing before it when the day has no row yet
    (read with the account's lock, :func:`_lock_accounts`)."""
    closings = [c for c in (account.day_closing, account.lowest_after) if c is not None]
    if not closings:
        return  # nothing recorded on or after the day: the balance check covers it
    if account.day_closing is None:
        closings.append(account.closing_before or 0)
    if min(closings) + amount < 0:
        raise LedgerError(
            _(
                "On %(day)s and later, %(account)s would fall below zero; a backdated outflow cannot take units the account did not hold then."
            )
            % {"day": day.isoformat(), "account": account}
        )


#: SQLite: the stored text of amounts in [0, 10**18) and in [-10**18, 0) begins with one of
#: these 62 characters; the 18 that follow are the amount (or 10**18 + the amount).
_SQLITE_SMALL = encode_sqlite(0)[:62]
_SQLITE_SMALL_NEGATIVE = encode_sqlite(-(10**18))[:62]


class _ClosingPlus(AmountPlus):
    """``AmountPlus`` that on SQLite adds natively when the stored amount, the units and the
    result are all within [-10**18, 10**18) (every BTC amount; the exact ``AMOUNT_ADD``, a
    Python call per row, otherwise): a backdated entry rewrites every later day's closing."""

    def as_sqlite(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if params or not -(10**18) <= self.units < 10**18:
            return super().as_sqlite(compiler, connection, **extra_context)
        digits = f"CAST(substr({column}, 63) AS INTEGER)"
        total = (
            f"(CASE substr({column}, 1, 62) WHEN '{_SQLITE_SMALL}' THEN {digits} "
            f"WHEN '{_SQLITE_SMALL_NEGATIVE}' THEN {digits} - {10**18} END + {self.units:d})"
        )
        sql = (
            f"CASE WHEN {total} BETWEEN 0 AND {10**18 - 1} THEN '{_SQLITE_SMALL}' || printf('%%018d', {total}) "
            f"WHEN {total} BETWEEN {-(10**18)} AND -1 THEN '{_SQLITE_SMALL_NEGATIVE}' || printf('%%018d', {total} + {10**18}) "
            f"ELSE AMOUNT_ADD({column}, %s) END"
        )
        return sql, (str(self.units),)


def _record_days(lines: Sequence[Line], day: dt.date, writes: _Writes) -> None:
    """Add each line's amount to its account's row for ``day`` (one upsert for every account,
    from the facts read under the account lock) and to every later closing balance: a constant
    number of statements however far back the entry is dated."""
    rows = []
    for line in lines:
        account = line.account
        if account.day_closing is not None:
            delta, closing = account.day_delta + line.amount, account.day_closing + line.amount
        else:
            delta, closing = line.amount, (account.closing_before or 0) + line.amount
        rows.append(AccountDay(account=account, day=day, delta=delta, closing=closing))
    writes.insert(rows, upsert=("account", "day"))
    for line in lines:
        if line.account.lowest_after is not None:
            # A backdated entry moves every later closing balance of this account, in one
            # statement whose result nothing reads (on PostgreSQL it travels with the last one).
            query = AccountDay.objects.filter(account=line.account, day__gt=day).query.chain(UpdateQuery)
            query.add_update_values({"closing": _ClosingPlus("closing", line.amount)})
            writes.add(*query.get_compiler(connection.alias).as_sql())


#: How many lots each query reads while consuming, in turn (the last repeats): most postings
#: take one or two lots, so the first read is small; one that takes many reads larger batches.
#: A posting reads about the lots it takes, never the account's whole list.
LOT_BATCHES = (2, 8, 64)


def _consume_lots(
    account: Account, amount: int, prefer: list[int], forbidden: frozenset[str]
) -> list[_Piece]:
    """Take ``amount`` out of the account's lots: preferred lots first, then oldest first.
    Lots under a restriction the reason forbids are never taken. The lots' new ``remaining`` is
    set on the returned pieces' lots; the caller writes them (:func:`_write_lots`).

    FIFO runs in the database, a bounded batch at a time, with forbidden restrictions excluded
    in SQL; the restricted units are looked at only when the others do not cover the amount."""
    pieces: list[_Piece] = []
    taken: dict[int, Lot] = {}
    needed = amount
    excluded = tuple(sorted(forbidden))

    def takable(account_id: int) -> models.QuerySet:
        lots = Lot.objects.filter(account_id=account_id, remaining__gt=0)
        return lots.exclude(restriction__in=excluded) if excluded else lots

    def take(lot: Lot) -> None:
        nonlocal needed
        units = min(lot.remaining, needed)
        lot.remaining -= units
        taken[lot.pk] = lot
        pieces.append(_Piece(lot=lot, amount=units))
        needed -= units

    if prefer:
        ids = prepared.padded(prefer)
        preferred = {
            lot.pk: lot
            for lot in prepared.instances(
                ("ledger: preferred lots", excluded, len(ids)),
                lambda account_id, *ids: takable(account_id).filter(pk__in=ids),
                [account.pk, *ids],
            )
        }
        for lot_id in prefer:
            if needed == 0:
                break
            if lot_id in preferred:
                take(preferred[lot_id])
    last_id, round_ = 0, 0
    while needed:
        size = LOT_BATCHES[min(round_, len(LOT_BATCHES) - 1)]
        batch = prepared.instances(
            ("ledger: oldest lots", excluded, size),
            lambda account_id, after, size=size: (
                takable(account_id).filter(pk__gt=after).order_by("id")[:size]
            ),
            [account.pk, last_id],
        )
        for lot in batch:
            if needed == 0:
                break
            if lot.pk not in taken:  # a preferred lot taken above is empty now
                take(lot)
        if len(batch) < size:
            break
        last_id, round_ = batch[-1].pk, round_ + 1
    if needed:
        blocked = sorted(
            set(
                Lot.objects.filter(account=account, remaining__gt=0, restriction__in=forbidden)
                .order_by()
                .values_list("restriction", flat=True)
                .distinct()
            )
        )
        if blocked:
            raise LedgerError(
                _("Units in %(account)s under restriction %(restriction)s can never be moved this way.")
                % {"account": account, "restriction": ", ".join(blocked)}
            )
        raise LedgerError(
            _("Lots of account %(account)s do not cover the amount; run verify_ledger.")
            % {"account": account}
        )
    return pieces


def _open_lots(
    line: Line, posting: Posting, pool: list[_Piece], origin: Origin | None, opens_lots: bool
) -> list[Lot]:
    """The lots an inflow opens (unsaved): what the entry took out of other fund accounts, then a
    root lot naming ``origin`` for the rest.

    The pieces the line receives open one lot per (root, restriction, origin), not one per lot
    taken: a transfer that gathers forty fragments of one seized item opens one lot, so lots do
    not fragment further with every hop (issue #16). Units under different restrictions never
    share a lot. The lots come in the order of their first piece (FIFO carries on as taken). A
    merged lot's ``parent`` is the lot its first piece came from; the entry's lot movements
    (``opened_by.entry``) name every lot taken."""
    lots: dict[tuple, Lot] = {}
    needed = line.amount
    while needed and pool:
        piece = pool[0]
        take = min(piece.amount, needed)
        source = piece.lot
        root_id = source.root_id or source.pk
        restriction = source.restriction or line.restriction
        key = (
            root_id,
            restriction,
            source.origin_kind,
            source.origin_label,
            source.origin_content_type_id,
            source.origin_object_id,
        )
        lot = lots.get(key)
        if lot is None:
            lot = lots[key] = Lot(
                account=line.account,
                opened_by=posting,
                parent=source,
                root_id=root_id,
                origin_kind=source.origin_kind,
                origin_label=source.origin_label,
                origin_content_type_id=source.origin_content_type_id,
                origin_object_id=source.origin_object_id,
                restriction=restriction,
                amount=0,
                remaining=0,
                opened_at=posting.effective_at,
            )
        lot.amount += take
        lot.remaining += take
        piece.amount -= take
        needed -= take
        if piece.amount == 0:
            pool.pop(0)
    if needed == 0:
        return list(lots.values())
    if origin is None or not opens_lots:
        raise LedgerError(
            _("Units entering %(account)s must come from another fund account or name their origin.")
            % {"account": line.account}
        )
    document = origin.document
    return [
        *lots.values(),
        Lot(
            account=line.account,
            opened_by=posting,
            origin_kind=origin.kind,
            origin_label=origin.label[:255],
            origin_content_type=ContentType.objects.get_for_model(document) if document is not None else None,
            origin_object_id=str(document.pk) if document is not None else "",
            restriction=origin.restriction or line.restriction,
            amount=needed,
            remaining=needed,
            opened_at=posting.effective_at,
        ),
    ]


def _write_lots(movements: list[LotMovement], opened: list[Lot], writes: _Writes) -> None:
    """What the entry did to the lots, a statement a kind: the taken lots' ``remaining`` (not
    in their history), the movements, the opened lots and their history rows. Nothing here is
    read back (an opened lot's id is not needed until a later entry takes it), so on
    PostgreSQL all of it travels with the entry's last statement."""
    if movements:
        writes.amounts(Lot, "remaining", {movement.lot.pk: movement.lot.remaining for movement in movements})
        writes.insert(movements)
    if opened:
        writes.insert(opened)
        _insert_lot_history(sorted({lot.opened_by_id for lot in opened}), writes)


def _insert_lot_history(posting_ids: list[int], writes: _Writes) -> None:
    """The "created" history rows of the lots these (new) postings opened, copied from the
    lots in the database, as ``bulk_history_create`` writes them: now, no user (the entry
    names who posted), no change reason."""
    insert, date_field = _lot_history_insert(connection.vendor)
    writes.add(
        f"{insert} IN ({', '.join(['%s'] * len(posting_ids))})",
        [date_field.get_db_prep_save(timezone.now(), connection), *posting_ids],
    )


@functools.cache
def _lot_history_insert(vendor: str) -> tuple[str, models.Field]:
    """``INSERT INTO <lot history> (...) SELECT ... FROM <lot> WHERE opened_by_id`` (the ``IN``
    list follows) and the history date's field, whose value is the one parameter before it.
    Built once: reading ``Lot.history`` builds a manager each time."""
    quote = connection.ops.quote_name
    tracked = {field.column for field in Lot._meta.concrete_fields}
    history = Lot.history.model
    stamp = {"history_type": "'+'", "history_change_reason": "NULL", "history_user_id": "NULL"}
    columns, selected = [], []
    for history_field in history._meta.concrete_fields:
        if history_field.column in tracked:
            selected.append(quote(history_field.column))
        elif history_field.column == "history_date":
            selected.append("%s")
        elif history_field.column in stamp:
            selected.append(stamp[history_field.column])
        elif history_field.primary_key:
            continue  # history_id: the table's own sequence
        else:
            raise ImproperlyConfigured(f"{history.__name__}.{history_field.name} is not filled by the ledger")
        columns.append(quote(history_field.column))
    insert = (
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - the model's own tables
        f"SELECT {', '.join(selected)} FROM {quote(Lot._meta.db_table)} WHERE {quote('opened_by_id')}"
    )
    return insert, history._meta.get_field("history_date")


@retry_on_conflict
def post_entry(
    *,
    reason: str,
    lines: Sequence[Line],
    actor=None,
    effective_at: dt.datetime | None = None,
    memo: str = "",
    source: models.Model | None = None,
    origin: Origin | None = None,
    idempotency_key: str | None = None,
    take_lots_first: Sequence[Lot] = (),
) -> JournalEntry:
    """Post a balanced entry. Raises :class:`LedgerError` and writes nothing if a rule fails.

    ``take_lots_first``: lots an outflow takes before the oldest ones (units of one seized item
    leave in that item's lots, not in another case's that came in earlier).

    With an ``idempotency_key`` already used by an entry with the same postings, that entry is
    returned and nothing new is written; with different postings, the call is refused.
    """
    prefer: dict[int, list[int]] = defaultdict(list)
    for lot in take_lots_first:
        prefer[lot.account_id].append(lot.pk)
    try:
        return _post_once(
            reason=reason,
            lines=lines,
            actor=actor,
            effective_at=effective_at,
            memo=memo,
            source=source,
            origin=origin,
            idempotency_key=idempotency_key,
            prefer=prefer,
        )
    except IntegrityError:
        # Two calls with one idempotency key raced; the loser answers with the winner's entry.
        if not idempotency_key or not JournalEntry.objects.filter(idempotency_key=idempotency_key).exists():
            raise
        return _post_once(
            reason=reason,
            lines=lines,
            actor=actor,
            effective_at=effective_at,
            memo=memo,
            source=source,
            origin=origin,
            idempotency_key=idempotency_key,
            prefer=prefer,
        )


def _post_once(
    *, reason, lines, actor, effective_at, memo, source, origin, idempotency_key, prefer=None
) -> JournalEntry:
    return _post(
        reason=reason,
        lines=lines,
        actor=actor,
        effective_at=effective_at,
        memo=memo,
        source=source,
        origin=origin,
        idempotency_key=idempotency_key,
        reverses=None,
        plan=_Plan(prefer_lots=dict(prefer or {})),
    )


@retry_on_conflict
def reverse_entry(
    *,
    entry: JournalEntry,
    actor=None,
    memo: str = "",
    effective_at: dt.datetime | None = None,
    source: models.Model | None = None,
    idempotency_key: str | None = None,
) -> JournalEntry:
    """Post the exact opposite of ``entry``; lots come back to where they were taken from."""
    if entry.reverses_id is not None:
        raise LedgerError(
            _("Entry %(number)s is itself a reversal; post a new entry instead.") % {"number": entry.number}
        )
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise LedgerError(_("Entry %(number)s has already been reversed.") % {"number": entry.number})
    postings = list(entry.postings.select_related("account__asset", "account__wallet"))
    plan = _Plan()
    for posting in postings:
        if posting.amount > 0:
            plan.prefer_lots[posting.account_id] = list(posting.opened_lots.values_list("id", flat=True))
        else:
            plan.restore_pieces[posting.account_id] = [
                _Piece(lot=m.lot, amount=m.amount) for m in posting.lot_movements.select_related("lot")
            ]
    lines = [Line(account=p.account, amount=-p.amount) for p in postings]
    return _post(
        reason=REVERSAL.code,
        lines=lines,
        actor=actor,
        effective_at=effective_at,
        memo=memo or _("Reversal of %(number)s") % {"number": entry.number},
        source=source or entry.source,
        origin=None,
        idempotency_key=idempotency_key,
        reverses=entry,
        plan=plan,
    )


def _same_entry(entry: JournalEntry, *, reason: str, lines: Sequence[Line], source, reverses) -> bool:
    """Whether a retried call asks for exactly ``entry`` again (same reason, source, reversal
    target and postings); the date may differ, as a retry happens later."""
    if entry.reason != reason or entry.reverses_id != (reverses.pk if reverses is not None else None):
        return False
    if source is not None:
        same_source = entry.source_content_type_id == ContentType.objects.get_for_model(
            source
        ).pk and entry.source_object_id == str(source.pk)
    else:
        same_source = entry.source_content_type_id is None
    stored = sorted(entry.postings.values_list("account_id", "amount"))
    return same_source and stored == sorted((line.account.pk, line.amount) for line in lines)


def _post(
    *, reason, lines, actor, effective_at, memo, source, origin, idempotency_key, reverses, plan: _Plan
) -> JournalEntry:
    try:
        reason_rule = get_reason(reason)
    except UnknownReason:
        raise LedgerError(_("Unknown posting reason %(reason)s.") % {"reason": reason})
    request_id = executing_request_id()
    needs_approval = reason_rule.requires_approval
    if reverses is not None:
        needs_approval = get_reason(reverses.reason).requires_approval
    if needs_approval and request_id is None:
        raise LedgerError(
            _("Entries for “%(reason)s” are posted only by an approved request, through the approval engine.")
            % {"reason": reason_rule.label}
        )
    _validate_lines(lines)
    if reason_rule.forbidden_restrictions:
        plan.forbidden_restrictions = reason_rule.forbidden_restrictions
    now = timezone.now()
    effective_at = effective_at or now
    if timezone.is_naive(effective_at):
        raise LedgerError(_("The entry date must carry a time zone."))
    if effective_at > now + FUTURE_TOLERANCE:
        raise LedgerError(_("An entry cannot be dated in the future."))
    if idempotency_key:
        existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if _same_entry(existing, reason=reason, lines=lines, source=source, reverses=reverses):
                return existing
            raise LedgerError(_("This idempotency key was already used for a different entry."))

    postgresql = connection.vendor == "postgresql"
    day = local_day(effective_at)
    # The transaction is the posting's own: no atomic block around it, and autocommit on (with
    # it off, the caller's transaction is still open after the block).
    own_transaction = not connection.in_atomic_block and connection.get_autocommit()
    with transaction.atomic():
        entry_id = _hold_year(day.year) if postgresql else None
        accounts = _lock_accounts([line.account.pk for line in lines], day)
        closed_through = next(iter(accounts.values())).closed_through
        _refuse_closed_period(day, divmod(closed_through, 100) if closed_through is not None else None)
        lines = [
            Line(account=accounts[line.account.pk], amount=line.amount, restriction=line.restriction)
            for line in lines
        ]
        for line in lines:
            account = line.account
            new_balance = account.balance + line.amount
            if new_balance < 0 and not account.may_go_negative:
                raise LedgerError(
                    _("Insufficient balance in %(account)s: %(balance)s available, %(amount)s requested.")
                    % {
                        "account": account,
                        "balance": account.asset.format(account.balance),
                        "amount": account.asset.format(-line.amount),
                    }
                )
            if line.amount < 0 and not account.may_go_negative:
                _ensure_history_stays_non_negative(account, day, line.amount)

        entry = JournalEntry(
            pk=entry_id,
            year=day.year,
            effective_at=effective_at,
            posted_at=now,
            posted_by=actor if actor is not None and actor.is_authenticated else None,
            reason=reason,
            memo=memo,
            reverses=reverses,
            idempotency_key=idempotency_key or None,
            request_id=request_id,
        )
        if source is not None:
            entry.source_content_type = ContentType.objects.get_for_model(source)
            entry.source_object_id = str(source.pk)
        if not postgresql:
            _number_and_save(entry)

        for line in lines:
            line.account.balance += line.amount
        postings = [
            Posting(
                entry=entry,
                line=index,
                account=line.account,
                amount=line.amount,
                balance_after=line.account.balance,
                effective_at=effective_at,
            )
            for index, line in enumerate(lines, start=1)
        ]
        _insert_returning_ids(postings, order_by="line")
        writes = _Writes()
        writes.amounts(Account, "balance", {line.account.pk: line.account.balance for line in lines})
        _record_days(lines, day, writes)

        movements: list[LotMovement] = []
        pools: dict[int, list[_Piece]] = defaultdict(list)
        for line, posting in zip(lines, postings, strict=True):
            if line.amount < 0 and not line.account.may_go_negative:
                pieces = _consume_lots(
                    line.account,
                    -line.amount,
                    plan.prefer_lots.get(line.account.pk, []),
                    plan.forbidden_restrictions,
                )
                movements += [LotMovement(lot=p.lot, posting=posting, amount=p.amount) for p in pieces]
                pools[line.account.asset_id].extend(pieces)
        opened: list[Lot] = []
        for line, posting in zip(lines, postings, strict=True):
            if line.amount > 0 and not line.account.may_go_negative:
                # Units come from what this entry actually took out of other fund accounts (so
                # restrictions travel with them); only a reversal of an outflow, which took
                # nothing, gives back the lots the original entry consumed.
                pool = pools[line.account.asset_id]
                if not pool:
                    pool = plan.restore_pieces.get(line.account.pk) or pool
                opened += _open_lots(line, posting, pool, origin, reason_rule.opens_lots)
        _write_lots(movements, opened, writes)

        event = audit_event_row(
            action="reserve.entry.posted",
            actor=actor,
            subject=entry,
            data={
                "number": entry.number,
                "reason": reason,
                "reverses": reverses.number if reverses is not None else None,
                "postings": [
                    {"account": str(line.account), "amount": line.account.asset.format(line.amount)}
                    for line in lines
                ],
            },
        )
        if postgresql:
            # Nothing runs in the transaction after this statement.
            _number_and_insert_postgresql(entry, event, after=writes.pending, commit=own_transaction)
        else:
            _insert_returning_ids([event])
    return entry


@transaction.atomic
def close_period(*, year: int, month: int, actor, request=None) -> Period:
    """Close a calendar month: entries dated in it (or before it) are refused from now on.
    ``request`` is the approved period-close request, named in the audit row."""
    # Postings dated in this year hold this row (FOR KEY SHARE on PostgreSQL, see _hold_year)
    # before they check the periods: FOR UPDATE here waits for those in flight and makes the
    # next ones wait, so no posting slips into the month while it closes.
    JournalSequence.objects.bulk_create([JournalSequence(year=year)], ignore_conflicts=True)
    JournalSequence.objects.select_for_update().get(year=year)
    period, _created = Period.objects.get_or_create(year=year, month=month)
    period.closed_at = timezone.now()
    period.closed_by = actor
    period._history_user = actor
    period.save()
    record_event(
        action="reserve.period.closed",
        actor=actor,
        subject=period,
        data={"request": request.pk} if request is not None else {},
    )
    return period
