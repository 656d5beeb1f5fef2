"""Postings to disjoint accounts in parallel: do they wait on each other? (PostgreSQL only.)

    DATABASE_URL=postgres://... .venv/bin/python bench/posting_parallel_lockwait.py --postings 150

Each worker (a process with its own connection) posts ``--postings`` two-line entries between
its own two accounts. Measured in one run:

- throughput with 1 and with 4 workers, for fully-checked ``post_entry`` and for the baseline,
  plain ORM ``create()`` of the same entry and postings; the project's gain from 1 to 4 workers
  should be at least the baseline's (``posting_parallel_gain``: baseline gain ÷ project gain);
- while 4 workers post, a sampler reads ``pg_stat_activity`` every few milliseconds: the share
  of samples in which some worker waits on a lock (``wait_event_type = 'Lock'``) is
  ``posting_parallel_lockwait`` (target under 0.1). Only the year's entry counter is shared, and
  it is taken in the last statement of each posting.

On 2 cores the throughput gain is bounded by the machine; the lock-wait share is the figure that
shows whether a bigger database server would scale.
"""

import argparse
import multiprocessing
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

WORKERS = 4
LOCKWAIT_TARGET = 0.1
GAIN_TARGET = 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=150, help="postings per worker and run")
    args, _unknown = parser.parse_known_args()  # make bench passes every script the same BENCH_ARGS

    setup_throwaway_django()
    from django.db import connection, connections, transaction
    from django.db.models import Max
    from django.utils import timezone

    if connection.vendor != "postgresql":
        print("posting_parallel_lockwait: skipped, needs PostgreSQL (set DATABASE_URL=postgres://...)")
        return

    from reserve.ledger.reasons import register_reason
    from reserve.ledger.services import Line, Origin, get_account, post_entry
    from reserve.models import Asset, JournalEntry, Posting, Wallet

    register_reason("bench.inflow", "Bench inflow", opens_lots=True, requires_approval=False)
    register_reason("bench.move", "Bench move", requires_approval=False)
    asset = Asset.objects.filter(symbol="BPAR").first() or Asset.objects.create(
        symbol="BPAR", name="Bench parallel", network="bitcoin", decimals=8
    )
    external = get_account(wallet=None, category="external", asset=asset)
    stamp = int(time.time())
    pairs = []
    for index in range(WORKERS):
        wallet = Wallet.objects.create(
            code=f"par-{stamp}-{index}", name=f"Parallel {index}", kind="cold_multisig", network="bitcoin"
        )
        source = get_account(wallet=wallet, category="reserve:forfeited", asset=asset)
        target = get_account(wallet=wallet, category="reserve:mined", asset=asset)
        post_entry(
            reason="bench.inflow",
            lines=[Line(external, -(10**12)), Line(source, 10**12)],
            origin=Origin(kind="bench", label=f"Opening balance {index}"),
        )
        pairs.append((source, target))
    # The baseline's entries take a year of their own, new in each run (numbers are unique).
    baseline_year = (
        JournalEntry.objects.filter(year__lt=2000).aggregate(Max("year"))["year__max"] or 1899
    ) + 1

    def project(index: int) -> None:
        source, target = pairs[index]
        post_entry(reason="bench.move", lines=[Line(source, -1), Line(target, 1)])

    counters = [0] * WORKERS
    runs = [0]  # the parent counts its runs; each forked worker numbers its own block in it

    def baseline(index: int) -> None:
        source, target = pairs[index]
        counters[index] += 1  # each worker process numbers its own block
        number = runs[0] * 10**7 + index * 10**6 + counters[index]
        now = timezone.now()
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                number=f"{baseline_year}-{number:09d}",
                year=baseline_year,
                sequence=number,
                effective_at=now,
                posted_at=now,
                reason="bench",
            )
            Posting.objects.create(
                entry=entry, line=1, account=source, amount=-1, balance_after=0, effective_at=now
            )
            Posting.objects.create(
                entry=entry, line=2, account=target, amount=1, balance_after=0, effective_at=now
            )

    def run(work, workers: int, sample: bool = False) -> tuple[float, float | None]:
        """Entries per second with ``workers`` processes (threads would share one interpreter
        lock; the posting's own checks are Python work); with ``sample``, the lock-wait share."""
        context = multiprocessing.get_context("fork")
        runs[0] += 1
        start = context.Barrier(workers + 1)
        failures = context.Queue()
        done = threading.Event()
        samples = {"all": 0, "waiting": 0}

        def worker(index: int) -> None:
            connections.close_all()  # the parent's connection is not the child's
            try:
                start.wait()
                for _ in range(args.postings):
                    work(index)
            except BaseException as exc:  # noqa: BLE001 - reported by the parent, the figures would lie
                failures.put(repr(exc))
            finally:
                connections.close_all()

        def sampler() -> None:
            try:
                with connection.cursor() as cursor:
                    while not done.is_set():
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                        )
                        samples["all"] += 1
                        samples["waiting"] += cursor.fetchone()[0] > 0
                        time.sleep(0.002)
            finally:
                connections.close_all()

        connections.close_all()
        processes = [context.Process(target=worker, args=(i,)) for i in range(workers)]
        for process in processes:
            process.start()
        watcher = threading.Thread(target=sampler) if sample else None
        start.wait()
        started = time.perf_counter()
        if watcher is not None:
            watcher.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        done.set()
        if watcher is not None:
            watcher.join()
        if not failures.empty():
            raise SystemExit(f"a worker failed: {failures.get()}")
        share = samples["waiting"] / samples["all"] if samples["all"] else None
        return workers * args.postings / elapsed, share

    run(project, 1)  # warm-up: connections, caches, the year's counter row
    base_1, _ = run(baseline, 1)
    base_4, _ = run(baseline, WORKERS)
    project_1, _ = run(project, 1)
    project_4, share = run(project, WORKERS, sample=True)
    base_gain = base_4 / base_1
    project_gain = project_4 / project_1
    print(
        f"plain ORM create(): {base_1:.0f} entries/s with 1 worker, {base_4:.0f} with {WORKERS} (gain {base_gain:.2f}x)"
    )
    print(
        f"post_entry, fully checked: {project_1:.0f} entries/s with 1 worker, {project_4:.0f} with {WORKERS} "
        f"(gain {project_gain:.2f}x)"
    )
    print(f"lock waiters seen in {share:.1%} of samples while {WORKERS} workers posted")
    print(
        f"bench: posting_parallel_gain db=postgresql ratio={base_gain / project_gain:.2f} target={GAIN_TARGET}"
    )
    print(f"bench: posting_parallel_lockwait db=postgresql ratio={share:.3f} target={LOCKWAIT_TARGET}")


if __name__ == "__main__":
    main()
