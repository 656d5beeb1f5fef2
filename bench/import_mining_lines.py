"""Spreadsheet import of mining daily lines, verification included, against plain ORM ``create()``.

    make bench            # or: .venv/bin/python bench/import_mining_lines.py --sites 20

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set), registers
``--sites`` sites through the services (a fleet each) and opens one draft report per site for
365 days of 2024 (the shipped epochs have start times until 2025-01-12; the April 2024 halving
falls inside). One XLSX per site is written with openpyxl (outside the timings). Then, in one
run:

- the project, per site: ``preview_lines`` (the file read and every line checked, the
  verification of its days computed, nothing written), ``import_lines`` of the same file (read
  and checked again, then ``record_daily_lines``: bulk insert of the lines and their history
  rows, one audit event) and ``verify_report`` of the stored report: what a clerk's preview +
  confirm + the verification screen cost;
- the baseline: ``DailyLine.objects.create()`` of the same rows into as many other reports, in
  one transaction, each with its history row (simple-history writes it on save), no checks, no
  file, no audit and no verification.

Runs with DEBUG off (``DJANGO_DEBUG=0`` unless set). Prints the peak traced memory (tracemalloc)
of one site's preview + import.

Ends with ``bench: import_mining_lines db=DB ratio=R target=3`` (R = project ÷ baseline; lower
is better).
"""

import argparse
import datetime as dt
import io
import os
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TARGET = 3
HEADER = [
    "day",
    "average_hashrate_hs",
    "uptime_percent",
    "energy_mwh",
    "curtailment_mwh",
    "btc_gross",
    "pool_fees",
    "btc_net",
    "payout_txids",
    "energy_cost_kzt",
]
FIRST_DAY = dt.date(2024, 1, 1)


#: Expected sats of each day at its hashrate (filled in by ``main``, outside the timings).
EXPECTED: list[int] = []


def figures(site_index: int, day_index: int) -> dict:
    """One day's figures: about 95 PH/s, a gross output within ±2% of the expected one (so
    the verification finds every day in the 5% tolerance), a 2% pool fee, one payout txid."""
    gross = EXPECTED[day_index] * (1000 + (site_index * 7 + day_index * 13) % 41 - 20) // 1000
    fees = gross // 50
    return {
        "day": FIRST_DAY + dt.timedelta(days=day_index),
        "average_hashrate_hs": Decimal(95 * 10**15 + day_index * 10**12),
        "uptime_percent": Decimal("97.25"),
        "energy_mwh": Decimal("75.5"),
        "curtailment_mwh": Decimal("1.25"),
        "btc_gross": gross,
        "pool_fees": fees,
        "btc_net": gross - fees,
        "payout_txids": f"{site_index:032x}{day_index:032x}",
        "energy_cost_kzt": Decimal("1510000.00"),
    }


def btc(sats: int) -> str:
    return f"{sats // 10**8}.{sats % 10**8:08d}"


def xlsx(site_index: int, days: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for i in range(days):
        f = figures(site_index, i)
        sheet.append(
            [
                f["day"].isoformat(),
                str(f["average_hashrate_hs"]),
                str(f["uptime_percent"]),
                str(f["energy_mwh"]),
                str(f["curtailment_mwh"]),
                btc(f["btc_gross"]),
                btc(f["pool_fees"]),
                btc(f["btc_net"]),
                f["payout_txids"],
                str(f["energy_cost_kzt"]),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--profile", action="store_true", help="print the project's top functions (cProfile)")
    args, _unknown = parser.parse_known_args()  # make bench passes every script the same BENCH_ARGS

    os.environ.setdefault("DJANGO_DEBUG", "0")
    setup_throwaway_django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from mining import services
    from mining.imports import import_lines, preview_lines
    from mining.models import DailyLine
    from mining.selectors import verify_report
    from reserve.addresses import normalize_address
    from reserve.models import Wallet

    stamp = int(time.time())
    clerk = get_user_model().objects.create_user(username=f"bench-miner-{stamp}", password=None)
    address = normalize_address("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    last_day = FIRST_DAY + dt.timedelta(days=args.days - 1)

    def new_report(name: str):
        # One wallet a site: register_site refuses a wallet that keeps another site's output.
        wallet = Wallet.objects.create(code=name, name=name, kind="cold_multisig", network="bitcoin")
        site = services.register_site(
            name=name,
            region="Pavlodar",
            operator="Bench Mining LLP",
            licence_number=name,
            licence_date=dt.date(2020, 1, 1),
            energy_source="coal",
            power_capacity_mw=Decimal("10"),
            commissioned_on=dt.date(2020, 6, 1),
            pool_name="Bench Pool",
            payout_scheme="fpps",
            payout_address=address,
            custody_wallet=wallet,
            tolerance_percent=Decimal("5"),
            actor=clerk,
        )
        services.add_fleet(
            site=site,
            machine_model="Antminer S19",
            count=1_000,
            nominal_hashrate_ths=Decimal("100"),
            efficiency_j_per_th=Decimal("30"),
            actor=clerk,
        )
        return services.open_report(site=site, period_start=FIRST_DAY, period_end=last_day, actor=clerk)

    from mining.expected import bitcoin_epochs, expected_output

    epochs = bitcoin_epochs()
    EXPECTED.extend(
        expected_output(
            day=FIRST_DAY + dt.timedelta(days=d),
            hashrate_hs=Decimal(95 * 10**15 + d * 10**12),
            fees_per_block_sats=0,
            tz="Asia/Almaty",
            epochs=epochs,
        ).expected_sats
        for d in range(args.days)
    )
    reports = [new_report(f"bench-{stamp}-{i}") for i in range(args.sites)]
    baseline_reports = [new_report(f"bench-{stamp}-base-{i}") for i in range(args.sites)]
    files = [xlsx(i, args.days) for i in range(args.sites)]
    lines = args.sites * args.days
    print(
        f"{args.sites} sites × {args.days} days = {lines:,} lines in {args.sites} XLSX files "
        f"({sum(map(len, files)):,} bytes); on {connection.vendor}",
        flush=True,
    )

    start = time.perf_counter()
    with transaction.atomic():
        for i, report in enumerate(baseline_reports):
            for d in range(args.days):
                f = figures(i, d)
                DailyLine.objects.create(report=report, site_id=report.site_id, **f)
    base_s = time.perf_counter() - start
    print(f"plain ORM create() of {lines:,} lines with their history rows: {base_s:.2f} s (baseline)")

    # One site's preview + import under tracemalloc (the other sites run untraced, timed).
    tracemalloc.start()
    try:
        previewed = preview_lines(report=reports[0], upload=files[0], actor=clerk)
        imported = import_lines(
            report=reports[0], upload=files[0], actor=clerk, expect_sha256=previewed.sha256
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert imported.applied, (imported.file_error, imported.errors[:3])
    with transaction.atomic():  # timed again below with the others: remove it
        first = reports[0]
        DailyLine.history.filter(report_id=first.pk).delete()
        DailyLine.objects.filter(report=first).delete()

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    preview_s = import_s = verify_s = 0.0
    out_of_tolerance = 0
    for report, data in zip(reports, files, strict=True):
        t0 = time.perf_counter()
        previewed = preview_lines(report=report, upload=data, actor=clerk)
        t1 = time.perf_counter()
        imported = import_lines(report=report, upload=data, actor=clerk, expect_sha256=previewed.sha256)
        t2 = time.perf_counter()
        verification = verify_report(report)
        t3 = time.perf_counter()
        assert previewed.ok and imported.applied, (imported.file_error, imported.errors[:3])
        assert len(verification.days) == args.days and verification.total.expected_sats, verification.days[0]
        assert verification.total == previewed.verification.total
        out_of_tolerance += sum(1 for day in verification.days if day.figures.exceeds_tolerance)
        preview_s += t1 - t0
        import_s += t2 - t1
        verify_s += t3 - t2
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    project_s = preview_s + import_s + verify_s
    print(
        f"project: preview {preview_s:.2f} s + import {import_s:.2f} s + verify_report {verify_s:.2f} s "
        f"= {project_s:.2f} s ({lines / project_s:,.0f} lines/s; {out_of_tolerance:,} days out of tolerance)"
    )
    print(f"peak traced memory of one site's preview + import ({args.days} lines): {peak / 2**20:.1f} MiB")
    ratio = project_s / base_s
    print(f"bench: import_mining_lines db={connection.vendor} ratio={ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
