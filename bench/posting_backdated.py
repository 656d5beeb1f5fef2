"""A backdated entry against the same entry dated today: constant statements per line.

    make bench            # or: .venv/bin/python bench/posting_backdated.py --days 365

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) through the
ledger's own services: one account funded ``days`` + 30 days ago and a small transfer on each
of the last ``days`` days (one AccountDay row per day). Then times a transfer dated today (the
baseline) against the same transfer backdated ``days`` days, which must move every later
day's closing balance, the two alternated (a shared machine's load then weighs on both
alike), and prints the ratio of the medians and the queries each one ran.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    setup_throwaway_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reserve.ledger.services import Line, Origin, post_entry

    asset, source, target, external = two_wallet_ledger()
    now = timezone.now()
    print(f"building {args.days} days of postings on {connection.vendor} ...", flush=True)
    t0 = time.perf_counter()
    post_entry(
        reason="bench.inflow",
        lines=[Line(external, -(10**12)), Line(source, 10**12)],
        origin=Origin(kind="bench", label="Opening balance"),
        effective_at=now - dt.timedelta(days=args.days + 30),
    )
    for back in range(args.days, 0, -1):
        post_entry(
            reason="bench.move",
            lines=[Line(source, -1), Line(target, 1)],
            effective_at=now - dt.timedelta(days=back),
        )
    print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    def one(back_days: int) -> tuple[float, int]:
        connection.queries_log.clear()  # the log keeps 9,000 queries; the build filled it
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            post_entry(
                reason="bench.move",
                lines=[Line(source, -1), Line(target, 1)],
                effective_at=timezone.now() - dt.timedelta(days=back_days),
            )
            elapsed = time.perf_counter() - t
        return elapsed, len(ctx.captured_queries)

    # Alternated, so that both see the same load on a shared machine.
    today, back = [], []
    for _ in range(args.repeat):
        today.append(one(0))
        back.append(one(args.days))
    today_s, today_q = statistics.median(s for s, _q in today), today[-1][1]
    back_s, back_q = statistics.median(s for s, _q in back), back[-1][1]
    ratio = back_s / today_s
    print(f"entry dated today: {today_s * 1000:.2f} ms, {today_q} queries (baseline)")
    print(f"entry backdated {args.days} days: {back_s * 1000:.2f} ms, {back_q} queries")
    print(f"bench: posting_backdated db={connection.vendor} ratio={ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
