"""Holdings as of a date: the per-day closing balances against a scan of all postings.

    make bench            # or: .venv/bin/python bench/holdings_as_of.py --postings 1000000

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) with N postings
spread over 20 accounts and two years, then times ``account_balances_as_of`` (one index seek
per account in AccountDay plus the day's postings) against the naive answer (sum every posting
up to the date), checks both give the same numbers, and prints the ratio measured in this run.
"""

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    setup_throwaway_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from reserve.amounts import ExactSum
    from reserve.ledger.selectors import account_balances_as_of, balances
    from reserve.models import Account, AccountDay, Asset, JournalEntry, Posting, Wallet

    asset = Asset.objects.create(symbol="BTC", name="Bitcoin", network="bitcoin", decimals=8)
    wallets = [
        Wallet.objects.create(code=f"w{i}", name=f"W{i}", kind="cold_multisig", network="bitcoin")
        for i in range(5)
    ]
    accounts = [
        Account.objects.create(wallet=w, category=c, asset=asset)
        for w in wallets
        for c in ("custody:pending", "reserve:forfeited", "reserve:mined", "restricted")
    ]
    tz = timezone.get_current_timezone()
    start = dt.datetime(2025, 1, 1, 9, 0, tzinfo=tz)
    days = 730
    rng = random.Random(7)
    print(f"building {args.postings:,} postings over {days} days on {connection.vendor} ...", flush=True)
    t0 = time.perf_counter()
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            number="2025-000001", year=2025, sequence=1, effective_at=start, posted_at=start, reason="bench"
        )
        per_day: dict[tuple[int, dt.date], int] = {}
        batch = []
        for i in range(args.postings):
            account = accounts[i % len(accounts)]
            moment = start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))
            amount = rng.randint(1, 10**6)
            batch.append(
                Posting(
                    entry=entry,
                    line=i + 1,
                    account=account,
                    amount=amount,
                    balance_after=0,
                    effective_at=moment,
                )
            )
            key = (account.pk, timezone.localtime(moment, tz).date())
            per_day[key] = per_day.get(key, 0) + amount
            if len(batch) == 20_000:
                Posting.objects.bulk_create(batch)
                batch = []
        Posting.objects.bulk_create(batch)
        rows, running = [], {}
        for (account_id, day), delta in sorted(per_day.items()):
            running[account_id] = running.get(account_id, 0) + delta
            rows.append(AccountDay(account_id=account_id, day=day, delta=delta, closing=running[account_id]))
        AccountDay.objects.bulk_create(rows, batch_size=20_000)
    print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    as_of = dt.date(2026, 6, 30)
    end = timezone.make_aware(dt.datetime.combine(as_of, dt.time.max), tz)

    def fast():
        return {a.pk: units for a, units in account_balances_as_of(as_of, accounts=balances())}

    def naive():
        return dict(
            Posting.objects.filter(effective_at__lte=end)
            .order_by()
            .values("account")
            .annotate(s=ExactSum("amount"))
            .values_list("account", "s")
        )

    def timed(fn):
        best = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
        return result, best

    fast_result, fast_s = timed(fast)
    naive_result, naive_s = timed(naive)
    same = all(fast_result.get(k, 0) == v for k, v in naive_result.items())
    print(
        f"holdings as of {as_of}: day balances {fast_s * 1000:.1f} ms, full scan {naive_s * 1000:.1f} ms, "
        f"ratio {naive_s / fast_s:.1f}x faster, results equal: {same}"
    )
    if not same:
        sys.exit("results differ")
    # Project ÷ baseline (lower is better): holdings as of a date never slower than the full scan.
    print(f"bench: holdings_as_of db={connection.vendor} ratio={fast_s / naive_s:.2f} target=1.0")


if __name__ == "__main__":
    main()
