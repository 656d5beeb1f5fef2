"""Spreadsheet import of seized items against plain ORM ``create()`` of the same rows.

    make bench            # or: .venv/bin/python bench/import_seized_items.py --rows 10000

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) with a court order,
an asset and a custody wallet, writes an XLSX of ``--rows`` seized items (distinct txids) with
openpyxl, then times, in one run:

- the project: ``preview_items`` (every line checked by ``check_item``, nothing written) and
  then ``import_items`` of the same file (checked again and registered through
  ``register_items``, 500 lines per bulk insert): what a clerk's preview + confirm costs;
- the baseline: ``SeizedItem.objects.create()`` of the same rows (other txids) in one
  transaction, each with its history row (simple-history writes it on save), no checks, no
  audit or custody-chain rows.

Runs with DEBUG off (``DJANGO_DEBUG=0`` unless set), as in production. With
``--shared-strings`` the timed file has its texts in a shared-string table, as Excel saves it
(openpyxl writes inline strings; the bench moves them). It also prints the peak traced memory
(tracemalloc) of a preview of ``--small`` lines and of ``--rows`` lines, for both kinds of
file, their ratio and the growth per line, which should be about nothing: the rows stream, 500
at a time; the sheet is read by ``reserve.tabular``'s streaming reader (each parsed element
detached once read, the shared-string table in a temporary file); and the outputs seen in the
file (to name a duplicate's first row) are kept in a temporary on-disk SQLite database, outside
Python's heap (its page cache is capped at 256 KiB).

Profile (``--profile``): most of the import is Django compiling the bulk inserts (the item,
its history row, its audit event, its first custody event and that event's journal row: five
rows per line against two for the baseline) and reading the sheet's XML; the checks
themselves (amount, address, txid) and the one look-up of registered outputs per 500 lines are
a small part. The duplicate look-ups repeat the partial unique index's condition
(``txid <> ''``), without which SQLite's planner scans the table.

Ends with ``bench: import_seized_items db=DB ratio=R target=3`` (R = preview + import ÷
baseline; lower is better).
"""

import argparse
import datetime as dt
import io
import os
import re
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TARGET = 3


def xlsx(rows: int, *, offset: int, address: str, shared_strings: bool = False) -> bytes:
    """The file as openpyxl writes it (inline strings) or, with ``shared_strings``, every text
    moved into a shared-string table as Excel saves it."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(
        ["asset", "claimed_amount", "source_kind", "source_address", "txid", "vout", "custody_wallet"]
    )
    for i in range(offset, offset + rows):
        sheet.append(
            [
                "BTC",
                f"0.{i % 10**8:08d}" if i % 10**8 else "1",
                "address",
                address,
                f"{i:064x}",
                0,
                "bench-cold",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return with_shared_strings(buffer.getvalue()) if shared_strings else buffer.getvalue()


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t(?: [^>]*)?>(.*?)</t></is></c>')
_KIND = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_RELATION = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def with_shared_strings(data: bytes) -> bytes:
    """An openpyxl-written XLSX with its inline strings moved into ``xl/sharedStrings.xml``
    (openpyxl 3.1 writes inline strings even in its normal mode; Excel writes shared ones)."""
    strings: dict[bytes, int] = {}

    def shared(match: re.Match) -> bytes:
        index = strings.setdefault(match[3], len(strings))
        return b'<c %st="s"%s><v>%d</v></c>' % (match[1], match[2], index)

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/"):
                content = _INLINE.sub(shared, content)
            elif entry.filename == "[Content_Types].xml":
                override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>' % _KIND
                content = content.replace(b"</Types>", override + b"</Types>")
            elif entry.filename == "xl/_rels/workbook.xml.rels":
                relation = b'<Relationship Id="rIdStrings" Type="%s" Target="sharedStrings.xml"/>' % _RELATION
                content = content.replace(b"</Relationships>", relation + b"</Relationships>")
            target.writestr(entry.filename, content)
        main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        items = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
        target.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>'
            % (main, len(strings), len(strings), items),
        )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true", help="print the import's top functions (cProfile)")
    parser.add_argument(
        "--shared-strings",
        action="store_true",
        help="time a file whose texts are in a shared-string table, as Excel saves it (default: inline strings)",
    )
    args, _unknown = parser.parse_known_args()  # make bench passes every script the same BENCH_ARGS

    # With DEBUG on, Django keeps the last 9,000 queries of the connection: memory that grows
    # with the file for a reason that production does not have.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    setup_throwaway_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from intake import services
    from intake.imports import import_items, preview_items
    from intake.models import OrderKind, SeizedItem, SourceKind
    from reserve.addresses import normalize_address
    from reserve.models import Asset, Wallet

    settings.INTAKE_IMPORT_MAX_ROWS = max(args.rows, args.small)
    stamp = int(time.time())
    clerk = get_user_model().objects.create_user(username=f"bench-clerk-{stamp}", password=None)
    asset = Asset.objects.filter(symbol="BTC").first() or Asset.objects.create(
        symbol="BTC", name="Bitcoin", network="bitcoin", decimals=8
    )
    wallet = Wallet.objects.filter(code="bench-cold").first() or Wallet.objects.create(
        code="bench-cold", name="Bench cold", kind="cold_multisig", network="bitcoin"
    )
    court = services.register_court(name="Bench court", region="Astana", code=f"bench-{stamp}", actor=clerk)
    case = services.open_case(
        court=court,
        number=f"B-{stamp}",
        investigating_authority="Bench",
        opened_on=dt.date(2026, 1, 1),
        actor=clerk,
    )
    order = services.record_order(
        case=case, kind=OrderKind.ARREST, number="B-1", issued_on=dt.date(2026, 1, 2), actor=clerk
    )
    address = normalize_address("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")

    # Distinct txids per run and per use, so a rerun on the same PostgreSQL database works too.
    base = stamp * 10**7
    data = xlsx(args.rows, offset=base, address=address, shared_strings=args.shared_strings)
    kind = "shared strings" if args.shared_strings else "inline strings"
    print(
        f"XLSX of {args.rows:,} seized items ({kind}): {len(data):,} bytes; on {connection.vendor}",
        flush=True,
    )

    def baseline() -> float:
        start = time.perf_counter()
        with transaction.atomic():
            for i in range(base + 5 * 10**6, base + 5 * 10**6 + args.rows):
                SeizedItem.objects.create(
                    order=order,
                    asset=asset,
                    claimed_amount=i % 10**8 or 10**8,
                    source_kind=SourceKind.ADDRESS,
                    source_address=address,
                    txid=f"{i:064x}",
                    vout=0,
                    custody_wallet=wallet,
                )
        return time.perf_counter() - start

    base_s = baseline()
    print(f"plain ORM create() of {args.rows:,} items with their history rows: {base_s:.2f} s (baseline)")

    start = time.perf_counter()
    previewed = preview_items(order=order, upload=data, actor=clerk)
    preview_s = time.perf_counter() - start
    assert previewed.ok, (previewed.file_error, previewed.errors[:3])
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    imported = import_items(order=order, upload=data, actor=clerk, expect_sha256=previewed.sha256)
    import_s = time.perf_counter() - start
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    assert imported.applied, (imported.file_error, imported.errors[:3])
    print(f"preview: {preview_s:.2f} s; import: {import_s:.2f} s ({args.rows / import_s:,.0f} lines/s)")

    def peak(rows: int, offset: int, shared_strings: bool) -> int:
        sample = xlsx(rows, offset=offset, address=address, shared_strings=shared_strings)
        tracemalloc.start()
        try:
            report = preview_items(order=order, upload=sample, actor=clerk)
            _current, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert report.ok, (report.file_error, report.errors[:3])
        return top  # the file, written before tracing starts and never copied, is not counted

    for shared_strings in (False, True):
        small = peak(args.small, base + 8 * 10**6, shared_strings)
        large = peak(args.rows, base + 8 * 10**6, shared_strings)
        per_line = (large - small) / (args.rows - args.small) if args.rows != args.small else 0.0
        print(
            f"peak traced memory of a preview, {'shared' if shared_strings else 'inline'} strings (the file's "
            f"bytes not counted): {args.small:,} lines {small / 2**20:.2f} MiB, {args.rows:,} lines "
            f"{large / 2**20:.2f} MiB, ratio {large / small:.2f} ({per_line:.0f} bytes a line more)"
        )
    ratio = (preview_s + import_s) / base_s
    print(f"bench: import_seized_items db={connection.vendor} ratio={ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
