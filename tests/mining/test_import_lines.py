"""Spreadsheet import of daily lines (mining.imports) and the bulk service behind it."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from mining import services
from mining.imports import import_lines, preview_lines
from mining.models import DailyLine, OutputReport, ReportState
from reserve.models import AuditEvent
from tests.mining.conftest import line_figures

pytestmark = pytest.mark.django_db

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


def file_row(day=dt.date(2019, 1, 14), **overrides):
    row = {
        "day": day.isoformat(),
        "average_hashrate_hs": "50000000000000000",
        "uptime_percent": "98.5",
        "energy_mwh": "120",
        "curtailment_mwh": "3.5",
        "btc_gross": "2.16",
        "pool_fees": "0.0432",
        "btc_net": "2.1168",
        "payout_txids": f"{'ab' * 32}, {'cd' * 32}",
        "energy_cost_kzt": "2400000.00",
    }
    return row | overrides


def csv_bytes(rows) -> bytes:
    lines = [",".join(HEADER)]
    lines += [",".join(f'"{row[name]}"' for name in HEADER) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        sheet.append([row[name] for name in HEADER])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def week(**overrides):
    return [file_row(dt.date(2019, 1, 14) + dt.timedelta(days=i), **overrides) for i in range(7)]


@pytest.mark.parametrize("encode", [csv_bytes, xlsx_bytes])
def test_a_file_is_previewed_then_imported(report, mining_clerk, encode):
    data = encode(week())
    previewed = preview_lines(report=report, upload=data, actor=mining_clerk)
    assert previewed.ok, previewed.errors
    assert previewed.rows == 7 and not DailyLine.objects.exists()
    verification = previewed.verification
    assert len(verification.days) == 7 and verification.missing_days == ()
    assert verification.total.btc_gross == 7 * 216_000_000
    assert verification.total.expected_sats is not None

    imported = import_lines(report=report, upload=data, actor=mining_clerk, expect_sha256=previewed.sha256)
    assert imported.applied
    lines = list(report.lines.order_by("day"))
    assert [line.day.day for line in lines] == list(range(14, 21))
    assert lines[0].btc_gross == 216_000_000 and lines[0].pool_fees == 4_320_000
    assert lines[0].btc_net == 211_680_000
    assert lines[0].payout_txids == f"{'ab' * 32}\n{'cd' * 32}"
    assert lines[0].history.count() == 1
    assert lines[0].history.first().history_user == mining_clerk
    event = AuditEvent.objects.get(action="mining.lines.recorded")
    assert event.data["lines"] == 7 and event.data["import_sha256"] == previewed.sha256
    # The preview's verification is the one of the report once imported.
    from mining.selectors import verify_report

    assert verify_report(report).total == verification.total


def test_a_file_other_than_the_previewed_one_is_refused(report, mining_clerk):
    previewed = preview_lines(report=report, upload=csv_bytes(week()), actor=mining_clerk)
    other = csv_bytes(week(energy_mwh="121"))
    imported = import_lines(report=report, upload=other, actor=mining_clerk, expect_sha256=previewed.sha256)
    assert not imported.applied and "SHA-256" in imported.file_error
    assert not DailyLine.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"uptime_percent": "100.01"}, "uptime_percent"),
        ({"average_hashrate_hs": "-1"}, "average_hashrate_hs"),
        ({"energy_mwh": "-0.1"}, "energy_mwh"),
        ({"curtailment_mwh": "-2"}, "curtailment_mwh"),
        ({"btc_net": "2.1168001"}, "btc_net"),
        ({"btc_net": "2.16000001", "pool_fees": "0"}, "btc_net"),
        ({"btc_gross": "-2.16"}, "btc_gross"),
        ({"btc_gross": "2.160000001"}, "btc_gross"),
        ({"average_hashrate_hs": str(154 * 10**15 + 1)}, "average_hashrate_hs"),
        ({"day": "2019-01-21"}, "day"),
        ({"day": "21.01.2019"}, "day"),
        ({"day": ""}, "day"),
        ({"payout_txids": "not-a-txid"}, "payout_txids"),
        ({"energy_cost_kzt": "abc"}, "energy_cost_kzt"),
    ],
)
def test_a_bad_row_is_refused_by_column_and_nothing_is_imported(report, mining_clerk, overrides, column):
    rows = week()
    rows[3] = rows[3] | overrides
    data = csv_bytes(rows)
    previewed = preview_lines(report=report, upload=data, actor=mining_clerk)
    assert not previewed.ok
    assert [(e.row, e.column) for e in previewed.errors] == [(5, column)]
    assert previewed.verification is None
    imported = import_lines(report=report, upload=data, actor=mining_clerk)
    assert not imported.applied
    assert [(e.row, e.column) for e in imported.errors] == [(5, column)]
    assert not DailyLine.objects.exists() and not AuditEvent.objects.filter(action="mining.lines.recorded")


def test_a_day_not_over_and_a_report_not_in_draft_are_refused(site, fleet, report, mining_clerk):
    today = services.site_today(site)
    current = services.open_report(site=site, period_start=today, period_end=today, actor=mining_clerk)
    refused = import_lines(report=current, upload=csv_bytes([file_row(today)]), actor=mining_clerk)
    assert [(e.row, e.column) for e in refused.errors] == [(2, "day")]
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)
    refused = import_lines(report=report, upload=csv_bytes(week()), actor=mining_clerk)
    assert not refused.applied and refused.error_count == 7
    assert {e.column for e in refused.errors} == {""}  # the report, not a column
    assert not DailyLine.objects.exists()


def test_a_day_twice_in_the_file_is_refused_on_its_second_row(report, mining_clerk):
    rows = [*week(), file_row(dt.date(2019, 1, 16))]
    result = import_lines(report=report, upload=csv_bytes(rows), actor=mining_clerk)
    assert not result.applied
    assert [(e.row, e.column) for e in result.errors] == [(9, "day")]
    assert "row 4" in result.errors[0].message
    assert not DailyLine.objects.exists()


def test_a_day_already_reported_is_refused(report, mining_clerk):
    services.record_daily_line(report=report, actor=mining_clerk, **line_figures(day=dt.date(2019, 1, 17)))
    result = preview_lines(report=report, upload=xlsx_bytes(week()), actor=mining_clerk)
    assert [(e.row, e.column) for e in result.errors] == [(5, "day")]
    result = import_lines(report=report, upload=xlsx_bytes(week()), actor=mining_clerk)
    assert not result.applied and DailyLine.objects.count() == 1


def test_a_renamed_pdf_is_refused_as_a_whole(report, mining_clerk):
    result = preview_lines(report=report, upload=b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", actor=mining_clerk)
    assert result.file_error and not result.ok and result.rows == 0
    assert not import_lines(report=report, upload=b"%PDF-1.7\n", actor=mining_clerk).applied


def test_errors_are_in_the_clerks_language(report, mining_clerk):
    from django.utils import translation

    rows = week()
    rows[0] = rows[0] | {"uptime_percent": "101"}
    with translation.override("ru"):
        result = preview_lines(report=report, upload=csv_bytes(rows), actor=mining_clerk)
        russian = result.errors[0].message
    with translation.override("en"):
        english = preview_lines(report=report, upload=csv_bytes(rows), actor=mining_clerk).errors[0].message
    assert english == "Uptime is at most 100%."
    assert russian  # translated where the catalogue has it; never empty


# The bulk service ------------------------------------------------------------------------

REFUSALS = [
    {"uptime_percent": Decimal("100.01")},
    {"uptime_percent": Decimal("-1")},
    {"average_hashrate_hs": Decimal("-1")},
    {"energy_mwh": Decimal("-0.1")},
    {"curtailment_mwh": Decimal("-2")},
    {"btc_net": 216_000_001, "pool_fees": 0},
    {"btc_net": 211_680_001},
    {"average_hashrate_hs": Decimal(154 * 10**15 + 1)},
    {"day": dt.date(2019, 1, 21)},
    {"payout_txids": ["not-a-txid"]},
    {"energy_cost_kzt": 1.5},
]


@pytest.mark.parametrize("overrides", REFUSALS)
def test_bulk_and_single_refuse_identically(report, mining_clerk, overrides):
    with pytest.raises(ValidationError) as single:
        services.record_daily_line(report=report, actor=mining_clerk, **line_figures(**overrides))
    with pytest.raises(services.LinesRefused) as bulk:
        services.record_daily_lines(
            report=report,
            rows=[line_figures(day=dt.date(2019, 1, 14)), line_figures(**overrides)],
            actor=mining_clerk,
        )
    assert list(bulk.value.by_line) == [1]
    refused = bulk.value.by_line[1]
    assert refused.message_dict == single.value.message_dict
    assert [e.code for e in refused.error_dict[next(iter(refused.error_dict))]] == [
        e.code for e in single.value.error_dict[next(iter(single.value.error_dict))]
    ]
    assert not DailyLine.objects.exists()


def test_bulk_and_single_record_identical_lines(site, fleet, mining_clerk):
    first = services.open_report(
        site=site, period_start=dt.date(2019, 1, 14), period_end=dt.date(2019, 1, 16), actor=mining_clerk
    )
    second = services.open_report(
        site=site, period_start=dt.date(2019, 1, 17), period_end=dt.date(2019, 1, 19), actor=mining_clerk
    )
    for i in range(3):
        services.record_daily_line(
            report=first, actor=mining_clerk, **line_figures(day=dt.date(2019, 1, 14 + i), energy_mwh=100 + i)
        )
    services.record_daily_lines(
        report=second,
        rows=[line_figures(day=dt.date(2019, 1, 17 + i), energy_mwh=100 + i) for i in range(3)],
        actor=mining_clerk,
    )
    fields = [f.name for f in DailyLine._meta.fields if f.name not in {"id", "report", "day", "recorded_at"}]

    def shape(report):
        return [
            (
                {name: getattr(line, name) for name in fields},
                line.history.count(),
                line.history.first().history_type,
            )
            for line in report.lines.order_by("day")
        ]

    assert shape(first) == shape(second)


def shape_of(queries, count: int) -> tuple[int, int]:
    """(queries other than the bulk INSERTs, INSERT batches beyond what the backend's batch size
    forces). The INSERTs come in batches of at most 500 rows, fewer on SQLite (999 parameters
    a statement): 100 lines are 2 batches there, 1 on PostgreSQL."""
    fields = [f for f in DailyLine._meta.concrete_fields if not f.primary_key]
    batch = min(500, connection.ops.bulk_batch_size(fields, [None] * count) or 500)
    batches = -(-count // batch)
    inserts = sum(1 for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT"))
    return len(queries) - inserts, inserts - 2 * batches


def test_bulk_queries_do_not_grow_with_the_lines(site, fleet, mining_clerk):
    def run(start: dt.date, count: int) -> tuple[int, int]:
        report = services.open_report(
            site=site, period_start=start, period_end=start + dt.timedelta(days=count - 1), actor=mining_clerk
        )
        rows = [line_figures(day=start + dt.timedelta(days=i), payout_txids=[]) for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            services.record_daily_lines(report=report, rows=rows, actor=mining_clerk)
        assert report.lines.count() == count
        return shape_of(queries, count)

    assert run(dt.date(2019, 2, 1), 10) == run(dt.date(2019, 3, 1), 100)


def test_import_queries_do_not_grow_with_the_lines(site, fleet, mining_clerk):
    def run(start: dt.date, count: int) -> tuple[int, int]:
        report = services.open_report(
            site=site, period_start=start, period_end=start + dt.timedelta(days=count - 1), actor=mining_clerk
        )
        data = csv_bytes([file_row(start + dt.timedelta(days=i), payout_txids="") for i in range(count)])
        with CaptureQueriesContext(connection) as previewing:
            assert preview_lines(report=report, upload=data, actor=mining_clerk).ok
        with CaptureQueriesContext(connection) as importing:
            assert import_lines(report=report, upload=data, actor=mining_clerk).applied
        return len(previewing), shape_of(importing, count)

    assert run(dt.date(2019, 2, 1), 10) == run(dt.date(2019, 3, 1), 100)


def test_verify_report_queries_do_not_grow_with_the_days(site, fleet, mining_clerk):
    from mining.selectors import verify_report

    def run(start: dt.date, count: int) -> int:
        report = services.open_report(
            site=site, period_start=start, period_end=start + dt.timedelta(days=count - 1), actor=mining_clerk
        )
        rows = [line_figures(day=start + dt.timedelta(days=i), payout_txids=[]) for i in range(count)]
        services.record_daily_lines(report=report, rows=rows, actor=mining_clerk)
        report = OutputReport.objects.get(pk=report.pk)
        with CaptureQueriesContext(connection) as queries:
            assert len(verify_report(report).days) == count
        return len(queries)

    assert run(dt.date(2019, 2, 1), 10) == run(dt.date(2019, 3, 1), 100)
