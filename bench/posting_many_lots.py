"""Posting cost as the ledger grows: an account holding many open lots in a large ledger against
an account on an empty ledger, in the same run.

    make bench                      # 200,000 postings, 25,000 open lots (a few minutes)
    .venv/bin/python bench/posting_many_lots.py --postings 1000000 --lots 25000

Builds (bulk, consistent rows: entries, postings, lots, day balances) an account whose balance
sits in ``--lots`` open lots, inside a ledger of ``--postings`` postings, then times a fully
checked ``post_entry`` that moves one unit out of it (FIFO over its open lots: the partial index
``lot_open_fifo`` lets it read only the lot it takes) against the same posting between two fresh
accounts. Then prints the open lots each account holds, before and after one entry moves the
fresh target's whole balance (``--repeat`` fragments of one lot) back: the units one entry brings
in open one lot per original lot, restriction and origin (issue #16), so fragments gather.
Ends with ``bench: posting_many_lots db=DB ratio=R target=1.2`` (R = big ÷ empty).
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django, two_wallet_ledger  # noqa: E402

TARGET = 1.2
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=200_000)
    parser.add_argument("--lots", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=100)
    args, _unknown = parser.parse_known_args()  # make bench passes every script the same BENCH_ARGS

    setup_throwaway_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from reserve.ledger.services import Line, Origin, get_account, post_entry
    from reserve.models import Account, AccountDay, JournalEntry, Lot, Posting, Wallet

    asset, big, big_target, external = two_wallet_ledger()
    started = time.perf_counter()
    opened = timezone.now() - dt.timedelta(days=400)
    day = timezone.localtime(opened).date()
    year = 1990 + int(time.time()) % 9  # bulk entries take a past year of their own
    entries_needed = args.postings // 2
    print(
        f"building {args.postings:,} postings and {args.lots:,} open lots on {connection.vendor} ...",
        flush=True,
    )
    sequence = 0
    with transaction.atomic():
        for start in range(0, entries_needed, BATCH):
            count = min(BATCH, entries_needed - start)
            entries = JournalEntry.objects.bulk_create(
                [
                    JournalEntry(
                        number=f"{year}-{sequence + i + 1:07d}",
                        year=year,
                        sequence=sequence + i + 1,
                        effective_at=opened,
                        posted_at=opened,
                        reason="bench.inflow",
                    )
                    for i in range(count)
                ]
            )
            sequence += count
            postings = Posting.objects.bulk_create(
                [
                    posting
                    for entry in entries
                    for posting in (
                        Posting(
                            entry=entry,
                            line=1,
                            account=external,
                            amount=-1,
                            balance_after=0,
                            effective_at=opened,
                        ),
                        Posting(
                            entry=entry, line=2, account=big, amount=1, balance_after=0, effective_at=opened
                        ),
                    )
                ]
            )
            lots_left = args.lots - start
            if lots_left > 0:
                Lot.objects.bulk_create(
                    [
                        Lot(
                            account=big,
                            opened_by=posting,
                            origin_kind="bench",
                            origin_label="Bench lot",
                            amount=1,
                            remaining=1,
                            opened_at=opened,
                        )
                        for posting in postings[1::2][:lots_left]
                    ]
                )
        held = min(args.lots, entries_needed)
        # Every posting moved one unit in; only the first ``held`` entries opened lots that
        # still hold it (the rest went out again, in the ledger's eyes: not modelled here).
        Account.objects.filter(pk=big.pk).update(balance=held)
        Account.objects.filter(pk=external.pk).update(balance=-held)
        AccountDay.objects.create(account=big, day=day, delta=held, closing=held)
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)

    fresh_wallets = [
        Wallet.objects.create(
            code=f"fresh-{year}-{i}", name=f"Fresh {i}", kind="cold_multisig", network="bitcoin"
        )
        for i in range(2)
    ]
    small = get_account(wallet=fresh_wallets[0], category="reserve:forfeited", asset=asset)
    small_target = get_account(wallet=fresh_wallets[1], category="reserve:forfeited", asset=asset)
    post_entry(
        reason="bench.inflow",
        lines=[Line(external, -(10**6)), Line(small, 10**6)],
        origin=Origin(kind="bench", label="Opening balance"),
    )

    def timed(source, target) -> float:
        samples = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            post_entry(reason="bench.move", lines=[Line(source, -1), Line(target, 1)])
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    empty_s = timed(small, small_target)
    big_s = timed(big, big_target)
    open_lots = Lot.objects.filter(account=big, remaining__gt=0).count()
    print(f"post_entry on a fresh account: {empty_s * 1000:.2f} ms (baseline)")
    print(
        f"post_entry on an account with {open_lots:,} open lots, {Posting.objects.count():,} postings: {big_s * 1000:.2f} ms"
    )

    accounts = {"big": big, "big target": big_target, "fresh": small, "fresh target": small_target}

    def open_lot_counts() -> str:
        return ", ".join(
            f"{name} {Lot.objects.filter(account=account, remaining__gt=0).count():,}"
            for name, account in accounts.items()
        )

    print(f"open lots per account after the timed postings: {open_lot_counts()}")
    small_target.refresh_from_db()
    post_entry(
        reason="bench.move",
        lines=[Line(small_target, -small_target.balance), Line(small, small_target.balance)],
    )
    print(
        f"open lots per account after moving the fresh target's balance back in one entry: {open_lot_counts()}"
    )
    print(f"bench: posting_many_lots db={connection.vendor} ratio={big_s / empty_s:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
