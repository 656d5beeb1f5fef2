"""Reads of the ledger. Amounts are ints of smallest units; format with ``asset.format``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from reserve.amounts import AmountField, ExactSum
from reserve.models import (
    HELD_CATEGORIES,
    Account,
    AccountDay,
    Asset,
    Category,
    JournalEntry,
    Lot,
    LotMovement,
    Posting,
    Wallet,
)


@dataclass(frozen=True)
class Holding:
    asset: Asset
    category: str
    units: int

    @property
    def amount(self) -> str:
        return self.asset.format(self.units)


@dataclass(frozen=True)
class LotView:
    lot: Lot
    category: str
    origin_kind: str
    origin_label: str
    restriction: str
    remaining: int
    root_lot_id: int


def balances(*, wallet: Wallet | None = None, asset: Asset | None = None) -> QuerySet[Account]:
    qs = Account.objects.select_related("asset", "wallet").exclude(category=Category.EXTERNAL)
    if wallet is not None:
        qs = qs.filter(wallet=wallet)
    if asset is not None:
        qs = qs.filter(asset=asset)
    return qs.order_by("asset__symbol", "wallet__code", "category")


#: Columns of a balance row (:func:`balance_rows`).
BALANCE_ROW = ("id", "wallet__code", "category", "asset__symbol", "asset__decimals", "balance")


def balance_rows() -> QuerySet[Account]:
    """The fund's accounts (counterparties left out) as ``.values()`` rows of :data:`BALANCE_ROW`:
    one query a page for the API's balance list, no model instances. Unordered: the caller
    orders (the API by ``id``, a unique key, for keyset pages)."""
    return Account.objects.exclude(category=Category.EXTERNAL).order_by().values(*BALANCE_ROW)


def _as_of_bounds(as_of: dt.datetime | dt.date | None) -> tuple[dt.date, dt.datetime]:
    tz = timezone.get_current_timezone()
    if as_of is None:
        as_of = timezone.now()
    if isinstance(as_of, dt.datetime):
        if timezone.is_naive(as_of):
            as_of = timezone.make_aware(as_of, tz)
        return timezone.localtime(as_of, tz).date(), as_of
    end = timezone.make_aware(dt.datetime.combine(as_of, dt.time.max), tz)
    return as_of, end


def account_balances_as_of(
    as_of: dt.datetime | dt.date | None = None, *, accounts: QuerySet[Account] | None = None
) -> list[tuple[Account, int]]:
    """Balance of each account at ``as_of`` (a date means the end of that Almaty day).

    One query: each account's closing balance of the last day before ``as_of``'s day
    (an index seek in ``AccountDay``) plus that day's postings up to ``as_of``. The cost does
    not grow with the number of postings on earlier days.
    """
    qs = _with_balance_as_of(as_of, accounts if accounts is not None else balances())
    return [(a, (a.opening or 0) + (a.intraday or 0)) for a in qs]


def account_balance_rows_as_of(
    as_of: dt.datetime | dt.date | None, accounts: QuerySet[Account], *fields: str
) -> list[tuple]:
    """:func:`account_balances_as_of` as plain rows, no model instances: the ``fields`` of each
    account (in the queryset's order) followed by its balance, e.g. ``(id, asset_id, units)``."""
    rows = _with_balance_as_of(as_of, accounts).values_list(*fields, "opening", "intraday")
    return [(*row[:-2], (row[-2] or 0) + (row[-1] or 0)) for row in rows]


def _with_balance_as_of(as_of: dt.datetime | dt.date | None, qs: QuerySet[Account]) -> QuerySet[Account]:
    """``qs`` annotated with ``opening`` (the closing balance of the last day before ``as_of``'s
    day) and ``intraday`` (that day's postings up to ``as_of``); either may be None."""
    day, moment = _as_of_bounds(as_of)
    tz = timezone.get_current_timezone()
    day_start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    before = (
        AccountDay.objects.filter(account=OuterRef("pk"), day__lt=day).order_by("-day").values("closing")[:1]
    )
    intraday = (
        Posting.objects.filter(account=OuterRef("pk"), effective_at__gte=day_start, effective_at__lte=moment)
        .order_by()
        .values("account")
        .annotate(total=ExactSum("amount"))
        .values("total")
    )
    return qs.annotate(
        opening=Subquery(before, output_field=AmountField()),
        intraday=Subquery(intraday, output_field=AmountField()),
    )


def holdings_as_of(
    as_of: dt.datetime | dt.date | None = None, *, categories=HELD_CATEGORIES
) -> list[Holding]:
    """Units held by asset and legal category at ``as_of``; zero rows are left out."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    assets: dict[int, Asset] = {}
    for account, units in account_balances_as_of(as_of, accounts=balances().filter(category__in=categories)):
        totals[(account.asset_id, account.category)] += units
        assets[account.asset_id] = account.asset
    return [
        Holding(asset=assets[asset_id], category=category, units=units)
        for (asset_id, category), units in sorted(
            totals.items(), key=lambda kv: (assets[kv[0][0]].symbol, kv[0][1])
        )
        if units != 0
    ]


def lots_for(wallet: Wallet, asset: Asset) -> list[LotView]:
    """Where each unit of ``asset`` now in ``wallet`` came from: open lots, oldest first."""
    lots = (
        Lot.objects.filter(account__wallet=wallet, account__asset=asset, remaining__gt=0)
        .select_related("account")
        .order_by("id")
    )
    return [
        LotView(
            lot=lot,
            category=lot.account.category,
            origin_kind=lot.origin_kind,
            origin_label=lot.origin_label,
            restriction=lot.restriction,
            remaining=lot.remaining,
            root_lot_id=lot.root_id or lot.pk,
        )
        for lot in lots
    ]


def lots_taken_into(lot: Lot) -> QuerySet[Lot]:
    """The lots ``lot``'s units were taken from, oldest first; none for a root lot. One transfer
    may gather units of several lots of one original lot into one (issue #16); ``lot.parent``
    names the first.

    Which taken units went into which opened lot is not stored: it is replayed from the entry's
    postings and lot movements exactly as the posting allotted them (:func:`_sources_in_entry`)."""
    if lot.root_id is None:
        return Lot.objects.none()
    entry_id, reverses_id = (
        Posting.objects.filter(pk=lot.opened_by_id).values_list("entry_id", "entry__reverses_id").get()
    )
    sources = _sources_in_entry(entry_id, reverses_id).get(lot.pk, set())
    return Lot.objects.filter(pk__in=sources).order_by("id")


def _sources_in_entry(entry_id: int, reverses_id: int | None) -> dict[int, set[int]]:
    """{lot opened by the entry: the lots its units were taken from}, replaying the posting
    (``reserve.ledger.services._post``): per asset, the units the entry's outflows took (in
    posting line order, each in the order it took its lots) fill its inflows in line order; an
    inflow that finds nothing taken (the reversal of an outflow) takes back what the reversed
    entry's outflow from the same account took. A piece goes to the inflow's lot of the same
    original lot and restriction; an unrestricted piece takes the inflow's restriction, read
    from the lots themselves (the one whose amount its restricted pieces do not fill)."""

    def movements_of(entry: int) -> dict[int, list[list]]:
        pieces: dict[int, list[list]] = defaultdict(list)
        for posting_id, source_id, root_id, restriction, units in (
            LotMovement.objects.filter(posting__entry_id=entry)
            .order_by("id")
            .values_list("posting_id", "lot_id", "lot__root_id", "lot__restriction", "amount")
        ):
            pieces[posting_id].append([source_id, root_id or source_id, restriction, units])
        return pieces

    postings = list(
        Posting.objects.filter(entry_id=entry_id)
        .order_by("line")
        .values_list("pk", "account_id", "account__asset_id", "amount")
    )
    taken = movements_of(entry_id)
    opened: dict[int, list[Lot]] = defaultdict(list)
    for opened_lot in Lot.objects.filter(opened_by__entry_id=entry_id, root_id__isnull=False).order_by("id"):
        opened[opened_lot.opened_by_id].append(opened_lot)
    pools: dict[int, list[list]] = defaultdict(list)
    for posting_id, _account_id, asset_id, amount in postings:
        if amount < 0:
            pools[asset_id].extend(taken[posting_id])
    restore: dict[int, list[list]] = {}
    if reverses_id is not None:
        reversed_pieces = movements_of(reverses_id)
        for posting_id, account_id in Posting.objects.filter(entry_id=reverses_id, amount__lt=0).values_list(
            "pk", "account_id"
        ):
            restore[account_id] = reversed_pieces[posting_id]
    sources: dict[int, set[int]] = defaultdict(set)
    for posting_id, account_id, asset_id, amount in postings:
        lots = opened.get(posting_id)
        if amount <= 0 or not lots:
            continue
        pool = pools[asset_id] or restore.get(account_id, [])
        needed, pieces = amount, []
        while needed and pool:
            source_id, root_id, restriction, units = pool[0]
            share = min(units, needed)
            pieces.append((source_id, root_id, restriction, share))
            needed -= share
            pool[0][3] -= share
            if pool[0][3] == 0:
                pool.pop(0)
        by_key = {(lot.root_id, lot.restriction): lot for lot in lots}
        unfilled = {lot.pk: lot.amount for lot in lots}
        for _source, root_id, restriction, share in pieces:
            if restriction and (root_id, restriction) in by_key:
                unfilled[by_key[root_id, restriction].pk] -= share
        for source_id, root_id, restriction, _share in pieces:
            if restriction:
                destination = by_key.get((root_id, restriction))
            else:
                destination = next(
                    (lot for lot in lots if lot.root_id == root_id and unfilled[lot.pk] > 0), None
                )
            if destination is not None:
                sources[destination.pk].add(source_id)
    return sources


#: Columns of an open-lot row (:func:`open_lot_rows`).
LOT_ROW = (
    "id",
    "root_id",
    "account__category",
    "origin_kind",
    "origin_label",
    "restriction",
    "opened_at",
    "remaining",
)


def open_lot_rows(wallet: Wallet, asset: Asset) -> QuerySet[Lot]:
    """The open lots of ``asset`` in ``wallet`` as ``.values()`` rows of :data:`LOT_ROW`, oldest
    (lowest id) first: what :func:`lots_for` lists, as a queryset a keyset page reads one page of
    (through the partial index ``lot_open_fifo``). ``root_id`` is None for a root lot."""
    return (
        Lot.objects.filter(account__wallet=wallet, account__asset=asset, remaining__gt=0)
        .order_by("id")
        .values(*LOT_ROW)
    )


def entries_for_source(source) -> QuerySet[JournalEntry]:
    from django.contrib.contenttypes.models import ContentType

    return JournalEntry.objects.filter(
        source_content_type=ContentType.objects.get_for_model(source), source_object_id=str(source.pk)
    ).prefetch_related("postings__account__asset")
