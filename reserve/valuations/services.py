"""Valuation snapshots: the holdings at an instant, valued in USD and KZT, with the prices and
the official rate used.

Rounding rule (the one place values are rounded): the value of a line is its units ÷ 10^decimals
× the USD price, rounded to the cent (0.01) half-even; its KZT value is the same unrounded USD
value × the USD/KZT official rate in force, rounded to the tiyn (0.01) half-even. Totals are the
sums of the rounded lines, so a report adds up to its total. Prices and rates are never rounded.

A snapshot is made once per instant: a second refresh of the same instant returns the snapshot
already made and writes nothing. Reserve (forfeited, mined, restricted) and units held for
cases (``custody:pending``) are totalled apart: the latter are not state property.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from reserve.audit import record_event
from reserve.ledger.selectors import account_balance_rows_as_of
from reserve.models import (
    HELD_CATEGORIES,
    RESERVE_CATEGORIES,
    Account,
    Asset,
    SnapshotLine,
    SnapshotPrice,
    ValuationSnapshot,
)
from reserve.pricing import median
from reserve.pricing.services import Priced, prices_at, rate_in_force

CENT = Decimal("0.01")
#: Snapshot lines written per INSERT where there is no COPY (7 parameters a line).
LINE_BATCH = 1000
LINE_FIELDS = ("snapshot", "asset", "wallet", "category", "units", "value_usd", "value_kzt")


def slot(at: dt.datetime | None = None) -> dt.datetime:
    """The instant a scheduled refresh values: ``at`` floored to the VALUATION_SLOT_MINUTES grid,
    so that the same refresh run twice values the same instant."""
    at = at or timezone.now()
    minutes = settings.VALUATION_SLOT_MINUTES
    floored = at.replace(second=0, microsecond=0)
    return floored - dt.timedelta(minutes=floored.minute % minutes)


def usd_value(units: int, decimals: int, price: Decimal) -> Decimal:
    """Unrounded: units in smallest units at ``price`` per whole unit."""
    return Decimal(units).scaleb(-decimals) * price


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def value_holdings(
    *,
    at: dt.datetime | None = None,
    trigger: str = "schedule",
    actor=None,
    quotes_until: dt.datetime | None = None,
) -> ValuationSnapshot:
    """The snapshot of the instant ``at`` (default: the current slot), made if missing.
    ``quotes_until``: a scheduled refresh values its slot with the quotes it fetched for it, a
    moment after the slot began."""
    at = at or slot()
    existing = ValuationSnapshot.objects.filter(taken_at=at).first()
    if existing is not None:
        return existing
    # Plain rows (asset_id, wallet_id, category, units): no model instance per account, and the
    # assets read once below rather than joined to every account.
    holdings = [
        row
        for row in account_balance_rows_as_of(
            at,
            Account.objects.filter(wallet__isnull=False, category__in=HELD_CATEGORIES),
            "asset_id",
            "wallet_id",
            "category",
        )
        if row[3]
    ]
    assets = Asset.objects.in_bulk({asset_id for asset_id, _wallet_id, _category, _units in holdings})
    prices: dict[int, Priced] = prices_at(assets.values(), at, fetched_until=quotes_until)
    rate = rate_in_force("USD", at)
    usd_kzt = rate.rate_per_unit if rate is not None else None
    totals: dict[str, Decimal] = defaultdict(Decimal)
    kzt_totals: dict[str, Decimal] = defaultdict(Decimal)
    reserve_categories = set(RESERVE_CATEGORIES)
    by_asset = {pk: (assets[pk].decimals, priced.price) for pk, priced in prices.items()}
    lines = []
    for asset_id, wallet_id, category, units in holdings:
        decimals, price = by_asset[asset_id]
        value, value_kzt = value_units(units, decimals, price, usd_kzt)
        group = "reserve" if category in reserve_categories else "custody"
        if value is not None:
            totals[group] += value
            if value_kzt is not None:
                kzt_totals[group] += value_kzt
        lines.append((asset_id, wallet_id, category, units, value, value_kzt))
    unpriced = [
        {"asset": assets[pk].symbol, "reason": priced.unpriced_reason}
        for pk, priced in sorted(prices.items(), key=lambda item: assets[item[0]].symbol)
        if priced.price is None
    ]
    if usd_kzt is None and holdings:
        unpriced.append({"asset": "KZT", "reason": "no official USD/KZT rate in force"})
    try:
        with transaction.atomic():
            snapshot = ValuationSnapshot.objects.create(
                taken_at=at,
                created_at=timezone.now(),
                usd_kzt=usd_kzt,
                usd_kzt_rate=rate,
                reserve_usd=totals["reserve"],
                reserve_kzt=kzt_totals["reserve"] if usd_kzt is not None else None,
                custody_usd=totals["custody"],
                custody_kzt=kzt_totals["custody"] if usd_kzt is not None else None,
                unpriced=unpriced,
                trigger=trigger,
            )
            SnapshotPrice.objects.bulk_create(
                [
                    SnapshotPrice(
                        snapshot=snapshot,
                        asset=assets[pk],
                        price=priced.price,
                        quotes=[_quote_ref(q) for q in priced.used],
                        rejected=[{**_quote_ref(q), "reason": reason} for q, reason in priced.rejected],
                        unpriced_reason=priced.unpriced_reason if priced.price is None else "",
                    )
                    for pk, priced in prices.items()
                ]
            )
            _insert_lines(snapshot, lines)
            record_event(
                action="reserve.valuation.snapshot",
                actor=actor,
                subject=snapshot,
                data={
                    "taken_at": at.isoformat(),
                    "reserve_usd": str(snapshot.reserve_usd),
                    "custody_usd": str(snapshot.custody_usd),
                    "usd_kzt": str(usd_kzt) if usd_kzt is not None else None,
                    "unpriced": unpriced,
                    "trigger": trigger,
                },
            )
    except IntegrityError:
        # The same instant valued by a concurrent run: its snapshot stands.
        return ValuationSnapshot.objects.get(taken_at=at)
    return snapshot


def _insert_lines(snapshot: ValuationSnapshot, lines) -> None:
    """The snapshot's lines, ``(asset_id, wallet_id, category, units, value_usd, value_kzt)``
    tuples, each value converted by its model field (the rows ``bulk_create`` wrote), without a
    model instance per line: on PostgreSQL one ``COPY``, elsewhere multi-row INSERTs of
    LINE_BATCH rows."""
    connection = connections[router.db_for_write(SnapshotLine)]
    fields = [SnapshotLine._meta.get_field(name) for name in LINE_FIELDS]
    units_field, usd_field, kzt_field = fields[4:]
    rows = [
        (
            snapshot.pk,
            asset_id,
            wallet_id,
            category,
            units_field.get_db_prep_save(units, connection),
            usd_field.get_db_prep_save(value, connection),
            kzt_field.get_db_prep_save(value_kzt, connection),
        )
        for asset_id, wallet_id, category, units, value, value_kzt in lines
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(SnapshotLine._meta.db_table)
    # The model's own table and columns; every value is a parameter (or a COPY row).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), LINE_BATCH):
            batch = rows[start : start + LINE_BATCH]
            values = ", ".join([row_sql] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}",  # noqa: S608
                [value for row in batch for value in row],
            )


def _quote_ref(quote) -> dict:
    return {
        "id": quote.pk,
        "source": quote.source.code,
        "price": str(quote.price),
        "fetched_at": quote.fetched_at.isoformat(),
        "market_time": quote.market_time.isoformat() if quote.market_time else None,
        "manual": quote.manual,
    }


def value_units(
    units: int, decimals: int, price: Decimal | None, usd_kzt: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """USD and KZT values of ``units`` by the rounding rule of a snapshot line; None where the
    price (or, for KZT, the rate) is missing."""
    if price is None:
        return None, None
    raw = usd_value(units, decimals, price)
    return to_cent(raw), (to_cent(raw * usd_kzt) if usd_kzt is not None else None)


def value_of_units(asset: Asset, units: int, currency: str) -> tuple[Decimal, str] | None:
    """The engine's valuer (registered in ``ReserveConfig.ready``): ``units`` of ``asset`` at the
    latest snapshot's market price, to the cent, and the source named; None when no snapshot
    priced it from a market source.

    Only market quotes count here: a price a clerk typed in must not choose which approvers a
    request needs (it could pick the smaller quorum). With only manual prices the value is
    unknown, and a value-bounded policy treats it as unbounded: the strictest tier applies."""
    if currency != "USD":
        return None
    for price in (
        SnapshotPrice.objects.filter(asset=asset, price__isnull=False)
        .select_related("snapshot")
        .order_by("-snapshot__taken_at")[:1]
    ):
        market = [q for q in price.quotes if not q.get("manual")]
        if not market:
            return None
        unit_price = median.median(Decimal(q["price"]) for q in market)
        sources = ", ".join(sorted({q["source"] for q in market}))
        when = timezone.localtime(price.snapshot.taken_at).strftime("%Y-%m-%d %H:%M")
        return to_cent(
            usd_value(units, asset.decimals, unit_price)
        ), f"snapshot {when}, {unit_price} USD ({sources})"
    return None
