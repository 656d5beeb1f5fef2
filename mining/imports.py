"""Spreadsheet import of daily lines (CSV or XLSX) into one draft output report.

The clerk picks the report on the screen; the file holds its days, one line per local day,
with the columns of :data:`COLUMNS` (header names or their translated labels, in any order and
case). Units: the hashrate in **H/s** (as the daily line stores it), energy in MWh, the
outputs and fees in **BTC** as exact decimal text (``0.02160000``; stored as satoshis), the
energy cost in KZT, payout transaction ids separated by spaces or commas.

The rules are :func:`mining.services.check_daily_line`'s, the one set the admin's add form
uses too; this module only reads the file and turns text into values (dates, amounts).

* :func:`preview_lines` checks every line and writes nothing at all (no transaction to roll
  back): the clerk sees each refusal (row, column, message in their language) and, for the
  file's days, the verification against the expected output (:func:`mining.selectors.verify_lines`).
* :func:`import_lines` reads and checks the same again and records every line with
  :func:`mining.services.record_daily_lines` (bulk, one transaction), or none if any is refused.
  With ``expect_sha256`` (the preview's), a file with other content is refused as a whole.

The file is bounded by :func:`limits` (a report's lines are at most a few hundred); its rows
are held as values for the bulk insert.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mining.models import OutputReport
from mining.selectors import ReportVerification, verify_lines
from mining.services import LinesRefused, check_daily_lines, record_daily_lines
from reserve.amounts import AmountError, parse_amount
from reserve.tabular import (
    Column,
    ImportReport,
    Limits,
    PreviewRow,
    RowError,
    TabularError,
    open_upload,
    read_table,
)

SATS_DECIMALS = 8
COLUMNS = (
    Column("day", gettext_lazy("day")),
    Column("average_hashrate_hs", gettext_lazy("average hashrate (H/s)"), (gettext_lazy("hashrate"),)),
    Column("uptime_percent", gettext_lazy("uptime (%)"), (gettext_lazy("uptime"),)),
    Column("energy_mwh", gettext_lazy("energy (MWh)")),
    Column("curtailment_mwh", gettext_lazy("curtailment (MWh)")),
    Column("btc_gross", gettext_lazy("gross output (BTC)")),
    Column("pool_fees", gettext_lazy("pool fees (BTC)")),
    Column("btc_net", gettext_lazy("net output (BTC)")),
    Column("payout_txids", gettext_lazy("payout transaction ids"), required=False),
    Column("energy_cost_kzt", gettext_lazy("energy cost (KZT)")),
)
AMOUNT_COLUMNS = ("btc_gross", "pool_fees", "btc_net")
PREVIEW_ROWS = 400
MAX_ERRORS = 500
_TXID_SEPARATORS = re.compile(r"[\s,;]+")


def limits() -> Limits:
    return Limits(
        max_bytes=int(getattr(settings, "MINING_IMPORT_MAX_BYTES", 2 * 1024 * 1024)),
        max_rows=int(getattr(settings, "MINING_IMPORT_MAX_ROWS", 1_000)),
        max_columns=len(COLUMNS) + 5,
    )


@dataclass
class LineImportReport(ImportReport):
    """What an import found: ``ok`` when the file was read and every line accepted."""

    max_errors: ClassVar[int] = MAX_ERRORS

    verification: ReportVerification | None = None


def preview_lines(*, report: OutputReport, upload, actor) -> LineImportReport:
    """Check every line of the file against ``report`` and its site; store nothing."""
    return _run(report=report, upload=upload, actor=actor, apply=False)


def import_lines(
    *, report: OutputReport, upload, actor, expect_sha256: str | None = None
) -> LineImportReport:
    """Record every line of the file in ``report``, or none if any line is refused."""
    return _run(report=report, upload=upload, actor=actor, apply=True, expect_sha256=expect_sha256)


def _run(
    *, report: OutputReport, upload, actor, apply: bool, expect_sha256: str | None = None
) -> LineImportReport:
    bounds = limits()
    data, result = open_upload(
        upload, limits=bounds, report_class=LineImportReport, expect_sha256=expect_sha256
    )
    if data is None:
        return result
    try:
        parsed = _parse(read_table(data, COLUMNS, limits=bounds), result)
    except TabularError as exc:
        result.file_error = exc.message
        return result
    numbers = [number for number, _values in parsed]
    lines = [values for _number, values in parsed]
    if not lines:
        return result
    report = OutputReport.objects.select_related("site").get(pk=report.pk)
    if not apply or result.error_count:
        accepted, refused = check_daily_lines(report=report, rows=lines, row_numbers=numbers)
        _refusals(result, numbers, refused)
        if not apply and not result.error_count:
            result.verification = verify_lines(report, accepted)
        return result
    try:
        record_daily_lines(
            report=report,
            rows=lines,
            actor=actor,
            row_numbers=numbers,
            source={"import_sha256": result.sha256},
        )
    except LinesRefused as exc:
        _refusals(result, numbers, exc.by_line)
    except ValidationError as exc:
        result.file_error = " ".join(exc.messages)
    else:
        result.applied = True
    return result


def _refusals(result: LineImportReport, numbers: list[int], refused: dict[int, ValidationError]) -> None:
    by_number = {row.number: row for row in result.preview}
    for index, exc in sorted(refused.items()):
        number = numbers[index]
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        for name, messages in by_field.items():
            for message in messages:
                error = RowError(number, name if name in _COLUMN_NAMES else "", message)
                result.refuse(error)
                if number in by_number:
                    by_number[number].errors.append(error)


_COLUMN_NAMES = {column.name for column in COLUMNS}


def _parse(rows, result: LineImportReport) -> list[tuple[int, dict]]:
    """Each row's values as the services take them (a date, satoshis, a list of txids), or
    its refusals; the figures themselves are judged by the services."""
    parsed = []
    for row in rows:
        result.rows += 1
        errors = list(row.errors)
        values = row.values
        line: dict = {}
        if not errors:
            line, errors = _line(row.number, values)
        for error in errors:
            result.refuse(error)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview.append(PreviewRow(row.number, values, list(errors)))
        if not errors:
            parsed.append((row.number, line))
    return parsed


def _line(number: int, values: dict[str, str]) -> tuple[dict, list[RowError]]:
    errors = []
    line: dict = {name: values[name] for name in _COLUMN_NAMES}
    try:
        line["day"] = dt.date.fromisoformat(values["day"]) if values["day"] else None
    except ValueError:
        line["day"] = None
        errors.append(RowError(number, "day", _("Write the day as YYYY-MM-DD (for example 2024-03-31).")))
    else:
        if line["day"] is None:
            errors.append(RowError(number, "day", _("This field is required.")))
    for name in AMOUNT_COLUMNS:
        try:
            line[name] = parse_amount(values[name], SATS_DECIMALS, allow_zero=True)
        except AmountError as exc:
            errors.append(
                RowError(number, name, _("%(error)s Write BTC as text, for example 0.0216.") % {"error": exc})
            )
    line["payout_txids"] = [t for t in _TXID_SEPARATORS.split(values["payout_txids"]) if t]
    return line, errors
