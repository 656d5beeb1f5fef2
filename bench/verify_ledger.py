"""Whole-ledger verification against a raw scan of the postings, and its peak memory.

    make bench            # or: .venv/bin/python bench/verify_ledger.py --postings 1000000

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set): a prefix through
the ledger's own services (inflows, moves and reversals of ETH in 2024), then N postings of BTC
in 2025-2026 written with bulk_create as the services would write them: two-line entries over
100 wallets (a fifth inflows opening a root lot, the rest moves that take 3 to 9 lots FIFO and
open one child lot per original lot among them, as the ledger does), the lot movements, the
accounts' balances, the day rows and the year's sequence. ``verify_ledger`` must find it
consistent.

Then times ``verify_ledger`` against the baseline, a plain cursor over every postings row
(``SELECT * FROM reserve_posting``, fetched in chunks and dropped, no decoding), best of
``--repeat``; it also prints an exact ``SUM(amount) GROUP BY account_id`` for reference. Peak
memory is measured in a fresh process that only runs ``verify_ledger``: its peak resident size
(VmHWM) after it minus the resident size just before it (C buffers of the drivers included); the tracemalloc
peak (Python objects only) of a second run is printed too.
"""

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TIME_TARGET = 3.0
MEMORY_TARGET_MIB = 150
BATCH = 5_000


def _status_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MiB. (Not ru_maxrss:
    across fork and exec it keeps the parent's peak, so in a child it reads the bench's build.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory() -> None:
    """In a fresh process: the growth of the resident set while verify_ledger runs."""
    setup_throwaway_django()
    from django.db import connection

    from reserve.ledger.verification import verify_ledger

    connection.ensure_connection()
    before = _status_mib("VmRSS")
    report = verify_ledger()
    rss_delta = _status_mib("VmHWM") - before
    tracemalloc.start()
    verify_ledger()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"ok": report.ok, "rss_delta_mib": rss_delta, "tracemalloc_peak_mib": peak / 2**20}))


def build_prefix() -> None:
    """A few ETH entries through the services: inflows, moves and reversals, all in 2024."""
    from django.utils import timezone

    from reserve.ledger.reasons import register_reason
    from reserve.ledger.services import Line, Origin, get_account, post_entry, reverse_entry
    from reserve.models import Asset, Wallet

    register_reason("bench.inflow", "Bench inflow", opens_lots=True, requires_approval=False)
    register_reason("bench.move", "Bench move", requires_approval=False)
    eth = Asset.objects.create(symbol="ETH", name="Ether", network="ethereum", decimals=18)
    wallets = [
        Wallet.objects.create(code=f"e{i}", name=f"E{i}", kind="cold_multisig", network="ethereum")
        for i in range(3)
    ]
    held = [get_account(wallet=w, category="reserve:forfeited", asset=eth) for w in wallets]
    external = get_account(wallet=None, category="external", asset=eth)
    moment = dt.datetime(2024, 3, 1, 10, 0, tzinfo=timezone.get_current_timezone())
    for i in range(20):
        when = moment + dt.timedelta(days=i)
        units = (i + 1) * 10**18
        post_entry(
            reason="bench.inflow",
            lines=[Line(external, -units), Line(held[i % 3], units)],
            origin=Origin(kind="bench", label=f"Court order {i}"),
            effective_at=when,
        )
        move = post_entry(
            reason="bench.move",
            lines=[Line(held[i % 3], -(units // 3)), Line(held[(i + 1) % 3], units // 3)],
            effective_at=when,
        )
        if i % 4 == 0:
            reverse_entry(entry=move, effective_at=when)


def build_bulk(postings: int, seed: int) -> None:
    """``postings`` BTC postings (two per entry) with their lots, movements, days and balances."""
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from reserve.models import (
        Account,
        AccountDay,
        Asset,
        JournalEntry,
        JournalSequence,
        Lot,
        LotMovement,
        Posting,
        Wallet,
    )

    rng = random.Random(seed)
    tz = timezone.get_current_timezone()
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin", network="bitcoin", decimals=8)
    wallets = Wallet.objects.bulk_create(
        [Wallet(code=f"w{i}", name=f"W{i}", kind="cold_multisig", network="bitcoin") for i in range(100)]
    )
    categories = ("custody:pending", "reserve:forfeited", "reserve:mined", "restricted")
    Account.objects.bulk_create(
        [Account(wallet=w, category=c, asset=btc) for w in wallets for c in categories]
        + [Account(wallet=None, category="external", asset=btc)]
    )
    held = list(Account.objects.filter(asset=btc).exclude(category="external").values_list("id", flat=True))
    external = Account.objects.get(asset=btc, category="external").pk
    next_entry = (JournalEntry.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    next_posting = (Posting.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    next_lot = (Lot.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    next_movement = (LotMovement.objects.aggregate(m=Max("id"))["m"] or 0) + 1

    balance = dict.fromkeys([*held, external], 0)
    fifo: dict[int, deque] = {a: deque() for a in held}  # open lots: [id, amount, remaining, root, row]
    per_day: dict[tuple[int, dt.date], int] = {}
    sequences: dict[int, int] = {}
    entries, rows, lots, movements = [], [], [], []
    start = dt.datetime(2025, 1, 1, 9, 0, tzinfo=tz)
    span = dt.timedelta(days=730)
    total_entries = postings // 2

    def flush(final: bool = False) -> None:
        JournalEntry.objects.bulk_create(entries)
        Posting.objects.bulk_create(rows)
        if final:
            lots.extend(lot[4] for queue in fifo.values() for lot in queue)
        Lot.objects.bulk_create(lots)
        LotMovement.objects.bulk_create(movements)
        for batch in (entries, rows, lots, movements):
            batch.clear()

    def open_lot(account, posting_id, amount, moment, root, parent) -> None:
        nonlocal next_lot
        row = Lot(
            id=next_lot,
            account_id=account,
            opened_by_id=posting_id,
            parent_id=parent,
            root_id=root,
            origin_kind="bench",
            origin_label=f"Court order {root or next_lot}",
            amount=amount,
            remaining=None,
            opened_at=moment,
        )
        fifo[account].append([next_lot, amount, amount, root or next_lot, row])
        next_lot += 1

    print(f"building {total_entries * 2:,} postings and their lots ...", flush=True)
    with transaction.atomic():
        for i in range(total_entries):
            moment = start + span * i / total_entries
            year = moment.astimezone(tz).year
            sequences[year] = sequences.get(year, 0) + 1
            entry_id = next_entry
            next_entry += 1
            entries.append(
                JournalEntry(
                    id=entry_id,
                    number=f"{year}-{sequences[year]:06d}",
                    year=year,
                    sequence=sequences[year],
                    effective_at=moment,
                    posted_at=moment,
                    reason="bench.move",
                )
            )
            source = rng.choice(held)
            if rng.random() < 0.2 or not fifo[source]:
                # An inflow: the outside world pays in, a root lot opens.
                destination, source, amount, pieces = source, external, rng.randint(10**6, 10**9), None
            else:
                destination = rng.choice(held)
                while destination == source:
                    destination = rng.choice(held)
                pieces = []
                for lot in list(fifo[source])[: rng.randint(3, 9)]:
                    pieces.append([lot, lot[2]])
                pieces[-1][1] = rng.randint(1, pieces[-1][0][2])
                amount = sum(take for _, take in pieces)
            out_id, in_id = next_posting, next_posting + 1
            next_posting += 2
            for line, (account, units, posting_id) in enumerate(
                ((source, -amount, out_id), (destination, amount, in_id)), start=1
            ):
                balance[account] += units
                rows.append(
                    Posting(
                        id=posting_id,
                        entry_id=entry_id,
                        line=line,
                        account_id=account,
                        amount=units,
                        balance_after=balance[account],
                        effective_at=moment,
                    )
                )
                key = (account, moment.astimezone(tz).date())
                per_day[key] = per_day.get(key, 0) + units
            if pieces is None:
                open_lot(destination, in_id, amount, moment, None, None)
            else:
                arriving: dict[int, list[int]] = {}  # root: [units, the first piece's lot]
                for lot, take in pieces:
                    lot[2] -= take
                    movements.append(
                        LotMovement(id=next_movement, lot_id=lot[0], posting_id=out_id, amount=take)
                    )
                    next_movement += 1
                    if lot[2] == 0:
                        fifo[source].popleft()
                        lot[4].remaining = 0
                        lots.append(lot[4])
                    arriving.setdefault(lot[3], [0, lot[0]])[0] += take
                # As the ledger does: one lot per original lot the entry brings in.
                for root, (units, parent) in arriving.items():
                    open_lot(destination, in_id, units, moment, root, parent)
            if len(rows) >= BATCH:
                flush()
        # Lots still open are written with what remains of them.
        for queue in fifo.values():
            for lot in queue:
                lot[4].remaining = lot[2]
        flush(final=True)
        for account, units in balance.items():
            Account.objects.filter(pk=account).update(balance=units)
        days, running = [], {}
        for (account, day), delta in sorted(per_day.items()):
            running[account] = running.get(account, 0) + delta
            days.append(AccountDay(account_id=account, day=day, delta=delta, closing=running[account]))
        AccountDay.objects.bulk_create(days, batch_size=BATCH)
        JournalSequence.objects.bulk_create(
            [JournalSequence(year=year, last_number=n) for year, n in sequences.items()]
        )


def main() -> None:
    # Production settings: no query log (DEBUG keeps every query's SQL in memory).
    os.environ.setdefault("DJANGO_DEBUG", "0")
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--measure-memory", action="store_true", help=argparse.SUPPRESS)
    args, _unknown = parser.parse_known_args()
    if args.measure_memory:
        measure_memory()
        return

    setup_throwaway_django()
    from django.db import connection

    from reserve.amounts import ExactSum
    from reserve.ledger.verification import verify_ledger
    from reserve.models import Lot, LotMovement, Posting

    t0 = time.perf_counter()
    build_prefix()
    build_bulk(args.postings, args.seed)
    print(
        f"built {Posting.objects.count():,} postings, {Lot.objects.count():,} lots, "
        f"{LotMovement.objects.count():,} lot movements on {connection.vendor} "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    def raw_scan() -> None:
        table = connection.ops.quote_name(Posting._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - the model's own table
            while cursor.fetchmany(10_000):
                pass

    def grouped_sum() -> None:
        list(
            Posting.objects.order_by()
            .values("account")
            .annotate(s=ExactSum("amount"))
            .values_list("account", "s")
        )

    def timed(fn):
        best, result = None, None
        for _ in range(args.repeat):
            t = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
        return result, best

    _, scan_s = timed(raw_scan)
    _, sum_s = timed(grouped_sum)
    report, verify_s = timed(verify_ledger)
    for check in report.checks:
        print(f"  {'OK  ' if check.ok else 'FAIL'} {check.name} ({check.checked:,} checked)")
    if not report.ok:
        sys.exit(f"the bench ledger is not consistent: {report.problems[:5]}")
    print(f"baseline, plain cursor over all postings rows: {scan_s:.2f} s")
    print(
        f"for reference, exact SUM(amount) GROUP BY account: {sum_s:.2f} s (ratio to it {verify_s / sum_s:.2f})"
    )
    print(f"verify_ledger: {verify_s:.2f} s")

    child = subprocess.run(
        [sys.executable, __file__, "--measure-memory"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    memory = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"verify_ledger memory (fresh process): peak resident - resident before = {memory['rss_delta_mib']:.1f} MiB, "
        f"tracemalloc peak {memory['tracemalloc_peak_mib']:.1f} MiB"
    )
    print(f"bench: verify_ledger db={connection.vendor} ratio={verify_s / scan_s:.2f} target={TIME_TARGET}")
    print(
        f"bench: verify_ledger_memory db={connection.vendor} ratio={memory['rss_delta_mib']:.1f} "
        f"target={MEMORY_TARGET_MIB}"
    )


if __name__ == "__main__":
    main()
