"""A valuation snapshot of many balances against one plain SQL ``INSERT ... SELECT`` of its lines.

    make bench            # or: .venv/bin/python bench/valuation_refresh.py --balances 100000 --assets 200

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) with N non-zero
balances (wallets × held categories × assets), each account's closing balance in an AccountDay
row of the day before the valuation, one manual quote per asset and a USD/KZT official rate;
then times ``value_holdings`` (a new instant each repeat: balances as of the instant, the price
of each asset, the rate in force, the snapshot with its prices, lines and audit event) against
one ``INSERT INTO reserve_snapshotline ... SELECT ... FROM reserve_account JOIN ...`` of the same
lines into a snapshot row made for it, and prints the ratio measured in this run.

What the baseline computes: each account's units from its latest AccountDay before the day
(the row value_holdings reads) and its asset's quote. On PostgreSQL the values are computed in
SQL, ``round(units × 10^-decimals × price, 2)`` and the same × rate for KZT (``round`` of a
numeric rounds half away from zero, not half-even: the closest plain-SQL equivalent). On SQLite
exact decimals are text (reserve/amounts.py), so there is no exact arithmetic in plain SQL: the
baseline copies the units and the price text into the value columns without computing them.
"""

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TARGET = 1.5
CATEGORIES = ("custody:pending", "reserve:forfeited", "reserve:mined", "restricted")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--balances", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args, _unknown = parser.parse_known_args()

    setup_throwaway_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from reserve.models import (
        Account,
        AccountDay,
        Asset,
        OfficialRate,
        PriceSource,
        Quote,
        SnapshotLine,
        ValuationSnapshot,
        Wallet,
    )
    from reserve.pricing.services import MANUAL, NBK
    from reserve.valuations.services import value_holdings

    tz = timezone.get_current_timezone()
    start = dt.datetime(2026, 6, 15, 12, 0, tzinfo=tz)  # a Monday, noon in Almaty
    day_before = start.date() - dt.timedelta(days=1)
    rng = random.Random(7)
    n_assets = args.assets
    n_wallets = -(-args.balances // (n_assets * len(CATEGORIES)))
    print(
        f"building {args.balances:,} balances ({n_wallets} wallets × {len(CATEGORIES)} categories × "
        f"{n_assets} assets) on {connection.vendor} ...",
        flush=True,
    )
    t0 = time.perf_counter()
    with transaction.atomic():
        assets = Asset.objects.bulk_create(
            [
                Asset(
                    symbol=f"A{i:04d}",
                    name=f"Asset {i}",
                    network="ethereum",
                    decimals=(0, 2, 6, 8, 18)[i % 5],
                )
                for i in range(n_assets)
            ]
        )
        wallets = Wallet.objects.bulk_create(
            [
                Wallet(code=f"w{i:05d}", name=f"W{i}", kind="cold_multisig", network="ethereum")
                for i in range(n_wallets)
            ]
        )
        units = {}
        batch = []
        for asset in assets:
            for wallet in wallets:
                for category in CATEGORIES:
                    if len(units) + len(batch) >= args.balances:
                        break
                    amount = rng.randint(1, 10 ** (asset.decimals + 4))
                    batch.append(Account(wallet=wallet, category=category, asset=asset, balance=amount))
            created = Account.objects.bulk_create(batch, batch_size=5_000)
            units.update({a.pk: a.balance for a in created})
            batch = []
        AccountDay.objects.bulk_create(
            (
                AccountDay(account_id=pk, day=day_before, delta=amount, closing=amount)
                for pk, amount in units.items()
            ),
            batch_size=5_000,
        )
        manual = PriceSource.objects.get(code=MANUAL)
        quoted_at = start - dt.timedelta(minutes=1)
        Quote.objects.bulk_create(
            [
                Quote(
                    asset=asset,
                    price=Decimal(f"{rng.randint(0, 99_999)}.{rng.randint(1, 99_999_999):08d}"),
                    source=manual,
                    fetched_at=quoted_at,
                    market_time=quoted_at,
                    note="bench",
                )
                for asset in assets
            ]
        )
        rate = OfficialRate.objects.create(
            currency="USD",
            quant=1,
            rate=Decimal("512.37"),
            rate_per_unit=Decimal("512.37"),
            day=day_before - dt.timedelta(days=1),
            applies_from=day_before,
            source=PriceSource.objects.get(code=NBK),
            fetched_at=quoted_at,
        )
    print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    instants = iter(start + dt.timedelta(minutes=i) for i in range(10_000))

    def project() -> ValuationSnapshot:
        return value_holdings(at=next(instants), trigger="bench")

    if connection.vendor == "postgresql":
        scale = "('1e-' || asset.decimals)::numeric"  # exact (power() keeps 16 decimals)
        value_usd = f"round(day.closing * {scale} * quote.price, 2)"
        value_kzt = f"round(day.closing * {scale} * quote.price * %s, 2)"
        params_rate = [rate.rate_per_unit]
    else:
        value_usd = value_kzt = "quote.price"
        params_rate = []
    insert_sql = f"""
        INSERT INTO reserve_snapshotline (snapshot_id, asset_id, wallet_id, category, units, value_usd, value_kzt)
        SELECT %s, account.asset_id, account.wallet_id, account.category, day.closing, {value_usd}, {value_kzt}
        FROM reserve_account account
        JOIN reserve_asset asset ON asset.id = account.asset_id
        JOIN reserve_accountday day ON day.account_id = account.id AND day.day = (
            SELECT max(d.day) FROM reserve_accountday d WHERE d.account_id = account.id AND d.day < %s
        )
        JOIN reserve_quote quote ON quote.asset_id = account.asset_id AND quote.fetched_at <= %s
        WHERE account.wallet_id IS NOT NULL AND account.category IN ({", ".join(["%s"] * len(CATEGORIES))})
    """

    def baseline() -> ValuationSnapshot:
        at = next(instants)
        with transaction.atomic():
            snapshot = ValuationSnapshot.objects.create(
                taken_at=at, created_at=at, reserve_usd=0, custody_usd=0, trigger="baseline"
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    insert_sql,
                    [snapshot.pk, *params_rate, timezone.localtime(at, tz).date(), at, *CATEGORIES],
                )
        return snapshot

    def timed(fn) -> tuple[float, ValuationSnapshot]:
        samples, snapshot = [], None
        for _ in range(args.repeat):
            t = time.perf_counter()
            snapshot = fn()
            samples.append(time.perf_counter() - t)
        return statistics.median(samples), snapshot

    base_s, base_snapshot = timed(baseline)
    project_s, project_snapshot = timed(project)
    counts = {
        s.trigger: SnapshotLine.objects.filter(snapshot=s).count() for s in (base_snapshot, project_snapshot)
    }
    print(f"lines per snapshot: {counts}; unpriced: {project_snapshot.unpriced}")
    if counts["bench"] != args.balances or counts["baseline"] != args.balances:
        sys.exit("line counts differ from the balances built")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT count(*) FROM reserve_snapshotline p JOIN reserve_snapshotline b
                   ON b.snapshot_id = %s AND p.snapshot_id = %s AND b.asset_id = p.asset_id
                   AND b.wallet_id = p.wallet_id AND b.category = p.category
                   WHERE b.units = p.units AND b.value_usd = p.value_usd AND b.value_kzt = p.value_kzt""",
                [base_snapshot.pk, project_snapshot.pk],
            )
            print(f"lines equal to the baseline's (units, USD, KZT): {cursor.fetchone()[0]:,}")
    print(f"plain SQL INSERT ... SELECT of the lines: {base_s * 1000:.0f} ms (baseline)")
    print(f"value_holdings: {project_s * 1000:.0f} ms")
    print(f"bench: valuation_refresh db={connection.vendor} ratio={project_s / base_s:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
