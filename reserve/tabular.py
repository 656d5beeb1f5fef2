"""Reading an uploaded spreadsheet (CSV or XLSX) into rows of text, safely and in constant memory.

Generic on purpose: intake imports seized items with it, mining its daily output lines. The
caller declares its :class:`Column` s; :func:`read_table` checks the file and yields one
:class:`Row` per non-blank line, every value the cell's exact text.

What is checked, before anything is parsed:

* the kind is decided by the bytes, never by the name: an XLSX is a ZIP holding the OOXML parts
  (``[Content_Types].xml`` and ``xl/workbook.xml``); a CSV is UTF-8 text (a BOM is tolerated)
  without NUL or other control bytes; anything else (a PDF, a program, an old ``.xls``) is
  refused;
* the upload's size, the number of rows and the number of columns are limited (:class:`Limits`);
* an XLSX's ZIP directory is read with :mod:`zipfile` *before* openpyxl opens it: the total
  uncompressed size and each entry's compression ratio are judged from the directory alone, so
  a zip bomb is refused without decompressing a byte of it (and :mod:`zipfile` never inflates an
  entry beyond the size its directory declares, so a lying directory cannot get past this);
* the sheet's declared dimension is checked before its rows are read, and rows are counted as
  they stream (a sheet may omit or understate its dimension).

The sheet is then read with ``openpyxl`` in ``read_only`` mode (rows are streamed and never
kept; XML through defusedxml). What does grow with the file is bounded by the limits: the
upload's bytes (``max_bytes``); for an XLSX:

* the workbook's shared-string table (every distinct text of the file: each txid, address,
  amount written as text), which openpyxl 3.1 reads whole into a list when it opens the
  workbook, even in ``read_only`` mode (``reader/excel.py`` ``read_strings`` →
  ``reader/strings.py``; the sheet reader indexes that list): about 90 bytes a distinct
  64-character txid or short amount, 1.8× the part's XML for such a sheet, at most ~3.3× for a
  table of tiny texts. The part is found as openpyxl finds it (its content type in
  ``[Content_Types].xml``) and refused past ``max_shared_strings_bytes``;
* about 80 bytes a row that openpyxl's streaming parser leaves behind (each cleared ``<row>``
  element stays attached to ``<sheetData>``), bounded by ``max_rows``.

Cells are text: a number stored as a floating-point value is refused with a
message asking for text (``0.1`` is not exact in binary, and amounts are never floats); whole
numbers are written out in digits; formulas are refused (their cached value may be stale).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

CSV = "csv"
XLSX = "xlsx"

_OOXML_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
_FOREIGN = (
    (b"%PDF-", "PDF"),
    (b"MZ", "Windows program"),
    (b"\x7fELF", "ELF program"),
    (b"\xd0\xcf\x11\xe0", "old Office (.xls) file"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    """How much an upload may hold. ``max_rows`` counts data rows (the header excluded)."""

    max_bytes: int = 8 * 1024 * 1024
    max_rows: int = 10_000
    max_columns: int = 30
    max_cell_chars: int = 500
    #: XLSX only: the sum of the entries' declared uncompressed sizes, and the highest ratio
    #: uncompressed ÷ compressed of any entry (real sheets compress 5–20×).
    max_uncompressed_bytes: int = 32 * 1024 * 1024
    max_compression_ratio: int = 100
    max_zip_entries: int = 200
    #: XLSX only: the uncompressed size of the shared-string part, which openpyxl holds whole
    #: in memory (about 1.8× these bytes for txids and amounts, at most ~3.3×).
    max_shared_strings_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class Column:
    """A column the caller expects. ``name`` is the key of :attr:`Row.values`; the header may
    spell it as the name, the (translated) ``label`` or any (translated) alias, in any case and
    with spaces, hyphens or underscores alike."""

    name: str
    label: object
    aliases: tuple = ()
    required: bool = True

    def spellings(self) -> set[str]:
        return spellings_in_every_language(self.name, self.label, *self.aliases)


def spellings_in_every_language(*texts) -> set[str]:
    """The normalized spellings of ``texts`` (lazy translations) in every language of the site:
    a file headed in Kazakh is read the same by a clerk whose screens are in Russian."""
    spelled = {normalize_header(str(text)) for text in texts}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            spelled.update(normalize_header(str(text)) for text in texts)
    return spelled


@dataclass(frozen=True)
class RowError:
    """A refusal of one row (``column`` is a :attr:`Column.name`, or ``""`` for the whole row)."""

    row: int
    column: str
    message: str


@dataclass
class Row:
    """One data row: ``number`` is the line or sheet row number the clerk sees (the header is
    row 1), ``values`` the stripped text of every declared column ("" when blank or absent),
    ``errors`` the cells that could not be read as text."""

    number: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)


class TabularError(Exception):
    """The whole file is refused; the message is translated and safe to show."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def normalize_header(text: str) -> str:
    return re.sub(r"[\s_\-]+", "_", (text or "").strip().casefold()).strip("_")


def read_upload(upload, *, limits: Limits) -> bytes:
    """The bytes of an uploaded file (Django ``UploadedFile``, file object or bytes), read in
    chunks and refused as soon as they pass ``limits.max_bytes``."""
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
        if len(data) > limits.max_bytes:
            raise _too_large(limits)
        return data
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks, size = [], 0
    source = upload.chunks(64 * 1024) if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b"")
    for chunk in source:
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limits: Limits) -> TabularError:
    return TabularError(
        _("The file is larger than the limit of %(limit)s bytes.") % {"limit": limits.max_bytes}, "too_large"
    )


def sniff(data: bytes) -> str:
    """``"xlsx"`` or ``"csv"`` from the content alone, or a :class:`TabularError`."""
    if not data or not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise TabularError(_("The file is empty."), "empty")
    if data.startswith(b"PK\x03\x04"):
        return XLSX
    for magic, _what in _FOREIGN:
        if data.startswith(magic):
            raise _unsupported()
    if b"\x00" in data:
        raise TabularError(
            _("The file holds NUL bytes: it is not a CSV text file. Save it as CSV (UTF-8) or XLSX."),
            "binary",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TabularError(
            _("The file is not UTF-8 text. Save it as CSV (UTF-8) or XLSX."), "encoding"
        ) from None
    if _CONTROL.search(text):
        raise _unsupported()
    return CSV


def _unsupported() -> TabularError:
    return TabularError(
        _(
            "Only CSV (UTF-8) and XLSX spreadsheets are accepted (checked by the file's content, not its name)."
        ),
        "unsupported",
    )


def read_table(data: bytes, columns: Sequence[Column], *, limits: Limits | None = None) -> Iterator[Row]:
    """Check ``data`` and yield its rows. File-level refusals (kind, size, header, too many rows
    or columns, a zip bomb) raise :class:`TabularError`, possibly after some rows were yielded
    (a sheet longer than its declared dimension): callers keep nothing until the end."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise _too_large(limits)
    kind = sniff(data)
    raw = _csv_rows(data, limits) if kind == CSV else _xlsx_rows(data, limits)
    yield from _rows(raw, columns, limits)


def _rows(raw: Iterator[tuple[int, list]], columns: Sequence[Column], limits: Limits) -> Iterator[Row]:
    header_number, header = next(raw, (0, None))
    if header is None:
        raise TabularError(_("The file is empty."), "empty")
    positions = _map_header(header, columns)
    count = 0
    for number, cells in raw:
        if len(cells) > limits.max_columns:
            raise _too_many_columns(limits)
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        count += 1
        if count > limits.max_rows:
            raise _too_many_rows(limits)
        row = Row(number=number, values={})
        for column in columns:
            index = positions.get(column.name)
            cell = cells[index] if index is not None and index < len(cells) else None
            row.values[column.name] = _text(cell, column, row, limits)
        yield row
    if count == 0:
        raise TabularError(_("The file has a header but no rows."), "no_rows")


def _map_header(header: list, columns: Sequence[Column]) -> dict[str, int]:
    spellings = {column.name: column.spellings() for column in columns}
    positions: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(header):
        title = normalize_header(str(cell) if cell is not None else "")
        if not title:
            continue
        matches = [name for name, spelled in spellings.items() if title in spelled]
        if not matches:
            unknown.append(str(cell).strip())
            continue
        if matches[0] in positions:
            raise TabularError(
                _("Column “%(column)s” appears twice in the header.") % {"column": str(cell).strip()},
                "duplicate_column",
            )
        positions[matches[0]] = index
    if unknown:
        raise TabularError(
            _("Unknown columns in the header: %(columns)s. Expected: %(expected)s.")
            % {"columns": ", ".join(unknown), "expected": ", ".join(c.name for c in columns)},
            "unknown_column",
        )
    missing = [c.name for c in columns if c.required and c.name not in positions]
    if missing:
        raise TabularError(
            _("Missing columns in the header: %(columns)s.") % {"columns": ", ".join(missing)},
            "missing_column",
        )
    return positions


def _text(cell: object, column: Column, row: Row, limits: Limits) -> str:
    def refuse(message: str) -> str:
        row.errors.append(RowError(row.number, column.name, message))
        return ""

    if cell is None:
        return ""
    if isinstance(cell, bool):
        return refuse(_("A true/false cell is not accepted here; write the value as text."))
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return refuse(
            _(
                "The cell holds a floating-point number, which is not exact; format the column as "
                "Text and write the value as text (for example 0.5), or write a whole number."
            )
        )
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat()
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    if isinstance(cell, _Formula):
        return refuse(_("The cell holds a formula; paste its value as text instead."))
    text = str(cell).strip()
    if len(text) > limits.max_cell_chars:
        return refuse(_("The cell is longer than %(limit)s characters.") % {"limit": limits.max_cell_chars})
    if _CONTROL.search(text):
        return refuse(_("The cell holds control characters."))
    return text


def _too_many_rows(limits: Limits) -> TabularError:
    return TabularError(
        _("The file has more than %(limit)s rows; split it into smaller files.") % {"limit": limits.max_rows},
        "too_many_rows",
    )


def _too_many_columns(limits: Limits) -> TabularError:
    return TabularError(
        _("The file has more than %(limit)s columns.") % {"limit": limits.max_columns}, "too_many_columns"
    )


# CSV


def _csv_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    text = data.decode("utf-8-sig")
    end = text.find("\n")
    first_line = text[: end if end >= 0 else len(text)]
    # Spreadsheets set to a Russian or Kazakh locale save CSV with semicolons.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            if len(cells) > limits.max_columns:
                raise _too_many_columns(limits)
            yield reader.line_num, cells
    except csv.Error as exc:
        raise TabularError(
            _("The CSV file is malformed near line %(line)s: %(error)s")
            % {"line": reader.line_num, "error": exc},
            "malformed",
        ) from None


# XLSX


class _Formula(str):
    pass


def check_xlsx_container(data: bytes, limits: Limits) -> None:
    """Refuse an XLSX whose ZIP directory announces too much, from the directory alone."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _unsupported() from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise _bomb()
        names = {entry.filename for entry in entries}
        if not all(part in names for part in _OOXML_PARTS):
            raise _unsupported()
        _check_shared_strings(archive, limits)
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > limits.max_uncompressed_bytes or total > limits.max_uncompressed_bytes:
                raise _bomb()
            if entry.file_size > 1024 * 1024 and entry.file_size > limits.max_compression_ratio * max(
                entry.compress_size, 1
            ):
                raise _bomb()


_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_MAX_CONTENT_TYPES_BYTES = 256 * 1024


def _check_shared_strings(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a shared-string part past ``limits.max_shared_strings_bytes`` (openpyxl reads it
    whole), found as openpyxl finds it: the ``Override`` of its content type."""
    from defusedxml.ElementTree import fromstring

    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > _MAX_CONTENT_TYPES_BYTES:
        raise _unsupported()
    try:
        types = fromstring(archive.read(info))
    except Exception:
        raise _unsupported() from None
    for override in types.iter(f"{_CONTENT_TYPES_NS}Override"):
        if override.get("ContentType") != _SHARED_STRINGS:
            continue
        try:
            part = archive.getinfo((override.get("PartName") or "")[1:])
        except KeyError:
            continue  # openpyxl would fail to open it: refused as malformed later
        if part.file_size > limits.max_shared_strings_bytes:
            raise TabularError(
                _(
                    "The spreadsheet's table of texts is larger than the limit of %(limit)s bytes; "
                    "split the file into smaller ones."
                )
                % {"limit": limits.max_shared_strings_bytes},
                "too_many_strings",
            )


def _bomb() -> TabularError:
    return TabularError(
        _("The spreadsheet unpacks to far more than its size (a compressed bomb?) and is refused."),
        "zip_bomb",
    )


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    check_xlsx_container(data, limits)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        # openpyxl raises many kinds of errors on a broken package; none is worth more detail.
        raise TabularError(
            _("The XLSX file cannot be read; save it again from the spreadsheet."), "malformed"
        )
    try:
        if not workbook.worksheets:
            raise TabularError(_("The file is empty."), "empty")
        sheet = workbook.worksheets[0]
        _check_dimension(sheet, limits)
        # openpyxl stops at the declared dimension; rows past it would be dropped silently, so
        # every row is read and counted here instead.
        sheet.reset_dimensions()
        number, lines = 0, 0
        try:
            for cells in sheet.iter_rows():
                lines += 1
                if lines > 2 * limits.max_rows + 1:
                    raise _too_many_rows(limits)
                number = next((c.row for c in cells if getattr(c, "row", None)), number + 1)
                values = [_xlsx_value(c) for c in cells]
                while values and values[-1] is None:
                    values.pop()
                yield number, values
        except TabularError:
            raise
        except Exception:
            raise TabularError(
                _("The XLSX file cannot be read; save it again from the spreadsheet."), "malformed"
            ) from None
    finally:
        workbook.close()


def _check_dimension(sheet, limits: Limits) -> None:
    if sheet.max_row is not None and sheet.max_row > limits.max_rows + 1:
        raise _too_many_rows(limits)
    if sheet.max_column is not None and sheet.max_column > limits.max_columns:
        raise _too_many_columns(limits)


def _xlsx_value(cell) -> object:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return _Formula(value)
    return value


# What an import reports back (both apps' imports build on these)


@dataclass
class PreviewRow:
    number: int
    values: dict[str, str]
    errors: list[RowError]


@dataclass
class ImportReport:
    """What an import found: ``ok`` when the file was read and every line accepted. An app's
    import adds its own summary fields in a subclass; at most :attr:`max_errors` refusals are
    kept (all are counted)."""

    max_errors: ClassVar[int] = 500

    sha256: str
    rows: int = 0
    preview: list[PreviewRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    file_error: str = ""
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.file_error and self.error_count == 0 and self.rows > 0

    def refuse(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)


_Report = TypeVar("_Report", bound=ImportReport)


def open_upload(
    upload, *, limits: Limits, report_class: type[_Report], expect_sha256: str | None = None
) -> tuple[bytes | None, _Report]:
    """The upload's bytes (bounded by ``limits``) and a new report holding their SHA-256; or
    None and a report with its ``file_error`` when the file cannot be read or, with
    ``expect_sha256`` (the preview's), when it is not the file previewed."""
    try:
        data = read_upload(upload, limits=limits)
    except TabularError as exc:
        return None, report_class(sha256="", file_error=exc.message)
    report = report_class(sha256=hashlib.sha256(data).hexdigest())
    if expect_sha256 is not None and expect_sha256 != report.sha256:
        report.file_error = _(
            "This file is not the one previewed (its SHA-256 differs); preview it before importing it."
        )
        return None, report
    return data, report
