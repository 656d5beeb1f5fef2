"""A fully-checked posting on an empty ledger against plain ORM ``create()`` of the same rows.

    make bench            # or: .venv/bin/python bench/posting_empty.py --repeat 200

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set), funds one account
through the ledger's own services, then times ``post_entry`` of a two-line transfer (rules,
locks, lots, day balances, audit) against creating the same entry and two postings with the
ORM (entries and postings are insert-only, their own history: no history rows), and prints the ratio.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django, two_wallet_ledger  # noqa: E402

TARGET = 2.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    setup_throwaway_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from reserve.ledger.services import Line, Origin, post_entry
    from reserve.models import JournalEntry, Posting

    asset, source, target, external = two_wallet_ledger()
    post_entry(
        reason="bench.inflow",
        lines=[Line(external, -(10**12)), Line(source, 10**12)],
        origin=Origin(kind="bench", label="Opening balance"),
    )

    def project(_i: int) -> None:
        post_entry(reason="bench.move", lines=[Line(source, -1), Line(target, 1)])

    def baseline(i: int) -> None:
        now = timezone.now()
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                number=f"1999-{i:06d}", year=1999, sequence=i, effective_at=now, posted_at=now, reason="bench"
            )
            Posting.objects.create(
                entry=entry, line=1, account=source, amount=-1, balance_after=0, effective_at=now
            )
            Posting.objects.create(
                entry=entry, line=2, account=target, amount=1, balance_after=0, effective_at=now
            )

    # Alternated, so a change in the machine's load does not fall on one side only.
    base_samples, project_samples = [], []
    for i in range(1, args.repeat + 1):
        for fn, samples in ((baseline, base_samples), (project, project_samples)):
            t = time.perf_counter()
            fn(i)
            samples.append(time.perf_counter() - t)
    base_s = statistics.median(base_samples)
    project_s = statistics.median(project_samples)
    ratio = project_s / base_s
    print(
        f"plain ORM create() of entry + 2 postings (insert-only: no history rows): {base_s * 1000:.2f} ms (baseline)"
    )
    print(f"post_entry, fully checked: {project_s * 1000:.2f} ms")
    print(f"bench: posting_empty db={connection.vendor} ratio={ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
