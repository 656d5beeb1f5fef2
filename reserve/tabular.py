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
* an XLSX's ZIP directory is read with :mod:`zipfile` before any part is parsed: the total
  uncompressed size and each entry's compression ratio are judged from the directory alone, so
  a zip bomb is refused without decompressing a byte of it (and :mod:`zipfile` never inflates an
  entry beyond the size its directory declares, so a lying directory cannot get past this);
* the sheet's declared dimension is checked before its rows are read, and rows are counted as
  they stream (a sheet may omit or understate its dimension).

An XLSX is read by this module's own streaming reader (``_xlsx_rows``), not by openpyxl's
``load_workbook``: the parts come out of the ZIP as streams and go through defusedxml's
``iterparse`` (no DTD, no entity), and each element is detached from its parent as soon as it has
been read, so nothing accumulates however long the sheet is. The first worksheet is the one
Excel shows first (the order of ``<sheets>`` in the workbook, through its relationships); the
workbook's date system (``date1904``) and its date-formatted cell styles (``styles.xml``) decide
which numbers are dates; the shared-string table (every distinct text of a file saved by Excel)
is copied once into a temporary file with an index of fixed 8-byte offsets and read back by
index, so memory does not grow with it either (openpyxl would hold it whole). The values are
those openpyxl gave (ints, floats, dates and times, booleans, texts, error texts such as
``#N/A``, formulas marked as such), read with openpyxl's public helpers (``from_excel``,
``is_date_format``, ``BUILTIN_FORMATS``, ``coordinate_to_tuple``); openpyxl remains the library
that writes XLSX files. Anything malformed (XML, ZIP, a missing part, a bad number or index) is
refused as such.

What grows with the file is the upload's bytes (``max_bytes``) and nothing else: the reader
holds one chunk of XML and one row (at most ``max_columns`` values: a row with a value past
them is refused, its header too, as a CSV line is); the temporary files of shared strings are
bounded by ``max_shared_strings_bytes``.

Cells are text: a number stored as a floating-point value is refused with a
message asking for text (``0.1`` is not exact in binary, and amounts are never floats); whole
numbers are written out in digits; formulas are refused (their cached value may be stale).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import os
import posixpath
import re
import struct
import tempfile
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
    #: XLSX only: the uncompressed size of the shared-string part. It is copied to a temporary
    #: file (its texts in UTF-8 and 8 bytes a string), so this bounds the disk, not the memory.
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
#
# The parts are streamed with defusedxml's ``iterparse`` (no DTD, no entities): ``_elements``
# yields the elements of interest at their end and then detaches them from their parent, so a
# part of any length is read holding one cell (or one shared string, one style) at a time.

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_WORKBOOKS = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
)
_STYLES = "xl/styles.xml"  # where openpyxl (and every spreadsheet program) puts it
_MAX_CONTENT_TYPES_BYTES = 256 * 1024
_MAX_RELATIONSHIPS_BYTES = 1024 * 1024

_SHEET_DATA, _ROW, _CELL = f"{_MAIN_NS}sheetData", f"{_MAIN_NS}row", f"{_MAIN_NS}c"
_VALUE, _FORMULA, _INLINE = f"{_MAIN_NS}v", f"{_MAIN_NS}f", f"{_MAIN_NS}is"
_TEXT, _RUN, _STRING_ITEM = f"{_MAIN_NS}t", f"{_MAIN_NS}r", f"{_MAIN_NS}si"
_DIMENSION = f"{_MAIN_NS}dimension"

#: Flags of a cell style whose number format shows a date or time (and a duration).
_DATE, _DURATION = 1, 2


class _Formula(str):
    pass


@dataclass(frozen=True)
class _Parts:
    """Where the workbook and its shared-string table are, as ``[Content_Types].xml`` says."""

    workbook: str
    shared_strings: str | None


def check_xlsx_container(data: bytes, limits: Limits) -> None:
    """Refuse an XLSX whose ZIP directory announces too much, from the directory alone."""
    with _open_zip(data) as archive:
        _check_container(archive, limits)


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _unsupported() from None


def _check_container(archive: zipfile.ZipFile, limits: Limits) -> _Parts:
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise _bomb()
    names = {entry.filename for entry in entries}
    if not all(part in names for part in _OOXML_PARTS):
        raise _unsupported()
    parts = _content_types(archive, limits)
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > limits.max_uncompressed_bytes or total > limits.max_uncompressed_bytes:
            raise _bomb()
        if entry.file_size > 1024 * 1024 and entry.file_size > limits.max_compression_ratio * max(
            entry.compress_size, 1
        ):
            raise _bomb()
    return parts


def _content_types(archive: zipfile.ZipFile, limits: Limits) -> _Parts:
    """The workbook and shared-string parts, found as openpyxl finds them (the first
    ``Override`` of their content type); a shared-string part past
    ``limits.max_shared_strings_bytes`` is refused."""
    from defusedxml.ElementTree import fromstring

    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > _MAX_CONTENT_TYPES_BYTES:
        raise _unsupported()
    try:
        types = fromstring(archive.read(info), forbid_dtd=True)
    except Exception:
        raise _unsupported() from None
    workbook = shared_strings = None
    for override in types.iter(f"{_CONTENT_TYPES_NS}Override"):
        kind, name = override.get("ContentType"), (override.get("PartName") or "")[1:]
        if kind in _WORKBOOKS and workbook is None:
            workbook = name
        elif kind == _SHARED_STRINGS and shared_strings is None:
            shared_strings = name
    if shared_strings is not None:
        try:
            size = archive.getinfo(shared_strings).file_size
        except KeyError:
            size = 0  # refused as malformed when the strings are read
        if size > limits.max_shared_strings_bytes:
            raise TabularError(
                _(
                    "The spreadsheet's table of texts is larger than the limit of %(limit)s bytes; "
                    "split the file into smaller ones."
                )
                % {"limit": limits.max_shared_strings_bytes},
                "too_many_strings",
            )
    return _Parts(workbook=workbook or "xl/workbook.xml", shared_strings=shared_strings)


def _bomb() -> TabularError:
    return TabularError(
        _("The spreadsheet unpacks to far more than its size (a compressed bomb?) and is refused."),
        "zip_bomb",
    )


def _malformed() -> TabularError:
    return TabularError(_("The XLSX file cannot be read; save it again from the spreadsheet."), "malformed")


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    with _open_zip(data) as archive, contextlib.ExitStack() as files:
        parts = _check_container(archive, limits)
        try:
            sheet, epoch = _first_sheet(archive, parts)
            if sheet is None:
                raise TabularError(_("The file is empty."), "empty")
            styles = _date_styles(archive)
            strings = _SharedStrings(archive, parts.shared_strings, files)
            value_of = _CellValues(styles=styles, strings=strings, epoch=epoch)
            yield from _sheet_rows(archive, sheet, limits, value_of)
        except TabularError:
            raise
        except Exception:
            # A broken package fails in many ways (XML, ZIP, numbers, indexes, a DTD or an
            # entity that defusedxml refuses); none is worth more detail to the clerk.
            raise _malformed() from None


def _elements(archive: zipfile.ZipFile, name: str, depth: int):
    """The elements of the part ``name`` down to ``depth`` (the root's is 0), each at its end,
    as ``(depth, element, parent)``; deeper elements (a cell's value) are read through their
    ancestor. Once the caller has seen an element it is detached from its parent, so nothing
    accumulates under the root."""
    from defusedxml.ElementTree import iterparse

    with archive.open(name) as source:
        open_elements = []
        for event, element in iterparse(_SmallReads(source), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                open_elements.append(element)
                continue
            open_elements.pop()
            level = len(open_elements)
            if 0 < level <= depth:
                parent = open_elements[-1]
                yield level, element, parent
                parent.remove(element)


class _SmallReads:
    """A stream read at most :attr:`size` bytes at a time. ``iterparse`` reads 16 KiB and builds
    the elements of the whole chunk before handing out the first: a reading peak of ~0.4 MiB
    for a sheet of short texts, varying by ±0.05 MiB with the chunks; ~0.2 MiB and steady with
    4 KiB."""

    size = 4096

    def __init__(self, source):
        self._source = source

    def read(self, size: int = -1) -> bytes:
        return self._source.read(self.size if size < 0 else min(size, self.size))


def _first_sheet(archive: zipfile.ZipFile, parts: _Parts) -> tuple[str | None, dt.datetime]:
    """The first worksheet in the workbook's order (``<sheets>``, through the workbook's
    relationships; chartsheets and missing parts skipped, as openpyxl does) and the date
    system's epoch (``workbookPr date1904``)."""
    from defusedxml.ElementTree import fromstring
    from openpyxl.packaging.relationship import get_rels_path
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

    rels_name = get_rels_path(parts.workbook)
    if archive.getinfo(rels_name).file_size > _MAX_RELATIONSHIPS_BYTES:
        raise _malformed()
    folder = posixpath.dirname(posixpath.dirname(rels_name))
    relationships = {}
    for relationship in fromstring(archive.read(rels_name), forbid_dtd=True).iter(_RELATIONSHIP):
        target = relationship.get("Target") or ""
        if relationship.get("TargetMode") != "External":
            target = (
                target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            )
        relationships[relationship.get("Id")] = (relationship.get("Type") or "", target)

    names = set(archive.namelist())
    epoch = WINDOWS_EPOCH
    for depth, element, parent in _elements(archive, parts.workbook, depth=2):
        if depth == 1 and element.tag == f"{_MAIN_NS}workbookPr":
            if element.get("date1904") not in (None, "", "false", "f", "0"):
                epoch = CALENDAR_MAC_1904
        elif depth == 2 and element.tag == f"{_MAIN_NS}sheet" and parent.tag == f"{_MAIN_NS}sheets":
            if not element.get(_RELATIONSHIP_ID):
                continue
            kind, target = relationships[element.get(_RELATIONSHIP_ID)]
            if target in names and "chartsheet" not in kind:
                return target, epoch
    return None, epoch


def _date_styles(archive: zipfile.ZipFile) -> bytearray:
    """For each cell style (index into ``cellXfs``), whether its number format shows a date or
    time (:data:`_DATE`) or a duration (also :data:`_DURATION`), decided by openpyxl's rules."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    flags = bytearray()
    if _STYLES not in archive.namelist():
        return flags
    custom: dict[int, str] = {}
    for depth, element, parent in _elements(archive, _STYLES, depth=2):
        if depth != 2:
            continue
        if element.tag == f"{_MAIN_NS}numFmt" and parent.tag == f"{_MAIN_NS}numFmts":
            custom[int(element.get("numFmtId"))] = element.get("formatCode")
        elif element.tag == f"{_MAIN_NS}xf" and parent.tag == f"{_MAIN_NS}cellXfs":
            number_format = int(element.get("numFmtId") or 0)
            code = custom[number_format] if number_format in custom else BUILTIN_FORMATS.get(number_format)
            flags.append(
                (_DATE if is_date_format(code) else 0) | (_DURATION if is_timedelta_format(code) else 0)
            )
    return flags


def _text_of(element) -> str:
    """The text of a string item (``<si>`` or ``<is>``): its ``<t>``, then its rich-text runs'
    ``<t>`` (phonetic runs, ``<rPh>``, left out), as openpyxl's ``Text.content``."""
    texts = [t.text or "" for t in element.iterfind(_TEXT)]
    texts.extend(t.text or "" for run in element.iterfind(_RUN) for t in run.iterfind(_TEXT))
    return "".join(texts)


class _SharedStrings:
    """The workbook's shared-string table, copied once into two temporary files: the strings in
    UTF-8, one after another, and their start offsets (8 bytes each, then the end), so the
    ``index``-th string is read back with two small reads and memory does not grow with the table.
    The files are anonymous: closed with ``files`` (the reader's end, or the generator's), and
    gone with the process in any case."""

    _OFFSET = struct.Struct("<Q")
    _PAIR = struct.Struct("<QQ")

    def __init__(self, archive: zipfile.ZipFile, name: str | None, files: contextlib.ExitStack):
        self.count = 0
        if name is None:
            return
        # Closed by ``files`` (an ExitStack, which ruff does not follow).
        self._texts = files.enter_context(tempfile.TemporaryFile(prefix="reserve-xlsx-strings-"))  # noqa: SIM115
        self._offsets = files.enter_context(tempfile.TemporaryFile(prefix="reserve-xlsx-offsets-"))  # noqa: SIM115
        position = 0
        for depth, element, _parent in _elements(archive, name, depth=1):
            if depth == 1 and element.tag == _STRING_ITEM:
                # openpyxl's handling of the escaped underscore (reader/strings.py)
                text = _text_of(element).replace("x005F_", "").encode("utf-8")
                self._offsets.write(self._OFFSET.pack(position))
                self._texts.write(text)
                position += len(text)
                self.count += 1
        self._offsets.write(self._OFFSET.pack(position))
        self._texts.flush()
        self._offsets.flush()

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < self.count:
            raise _malformed()
        start, end = self._PAIR.unpack(_read_at(self._offsets, self._PAIR.size, index * self._OFFSET.size))
        return _read_at(self._texts, end - start, start).decode("utf-8")


def _read_at(handle, size: int, offset: int) -> bytes:
    """``size`` bytes of a file at ``offset``: one ``pread`` where there is one (2.4 times as fast
    as seeking and reading through the buffered file)."""
    if hasattr(os, "pread"):
        return os.pread(handle.fileno(), size, offset)
    handle.seek(offset)
    return handle.read(size)


def _sheet_rows(
    archive: zipfile.ZipFile,
    name: str,
    limits: Limits,
    value_of: _CellValues,
) -> Iterator[tuple[int, list]]:
    """The sheet's rows as ``(number, values)``, as openpyxl's read-only sheet gave them: a
    missing row is yielded empty, a cell's position is its reference (or the one after the
    previous cell), gaps are None and trailing empty cells are dropped."""
    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

    expected = 1  # the next row due (openpyxl's counter): a row numbered before it is skipped
    number = lines = 0
    row_element, row_index, column = None, 0, 0
    values: dict[int, object] = {}
    first_cell_row = None
    started = False

    def emit(cells: list) -> tuple[int, list]:
        nonlocal lines
        lines += 1
        if lines > 2 * limits.max_rows + 1:
            raise _too_many_rows(limits)
        return number, cells

    for depth, element, parent in _elements(archive, name, depth=3):
        if depth == 3 and element.tag == _CELL and parent.tag == _ROW:
            if row_element is not parent:
                row_element, row_index, column = parent, _row_index(parent, row_index), 0
            reference = element.get("r")
            if reference:
                cell_row, column = coordinate_to_tuple(reference)
            else:
                cell_row, column = row_index, column + 1
            first_cell_row = first_cell_row or cell_row
            value = value_of(element)
            if value is not None:
                if column > limits.max_columns:
                    raise _too_many_columns(limits)
                values[column] = value
        elif depth == 2 and element.tag == _ROW and parent.tag == _SHEET_DATA:
            started = True
            if row_element is not element:
                row_index = _row_index(element, row_index)
            if row_index >= expected:
                while expected < row_index:
                    number += 1
                    yield emit([])
                    expected += 1
                number = first_cell_row or number + 1
                yield emit([values.get(c) for c in range(1, max(values, default=0) + 1)])
                expected += 1
            row_element, column, values, first_cell_row = None, 0, {}, None
        elif depth == 1 and element.tag == _DIMENSION and not started:
            _min_column, _min_row, max_column, max_row = range_boundaries(element.get("ref"))
            if max_row is not None and max_row > limits.max_rows + 1:
                raise _too_many_rows(limits)
            if max_column is not None and max_column > limits.max_columns:
                raise _too_many_columns(limits)
        elif depth == 1 and element.tag == _SHEET_DATA:
            started = True


def _row_index(row, previous: int) -> int:
    """A ``<row>``'s number: its ``r`` (openpyxl accepts "3.0"), else the one after ``previous``."""
    reference = row.get("r")
    if reference is None:
        return previous + 1
    try:
        return int(reference)
    except ValueError:
        number = float(reference)
        if not number.is_integer():
            raise
        return int(number)


class _CellValues:
    """A cell's value as openpyxl reads it (``worksheet/_reader.py`` ``parse_cell``): a formula
    (:class:`_Formula`, whatever its cached value), an int or float, a date or time (a number
    whose style shows one, in the workbook's date system), a string, a bool; an error cell is
    its text (``#N/A``)."""

    def __init__(self, *, styles: bytearray, strings: _SharedStrings, epoch: dt.datetime):
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        self._from_excel, self._from_iso = from_excel, from_ISO8601
        self._styles, self._strings, self._epoch = styles, strings, epoch

    def __call__(self, cell) -> object:
        kind = cell.get("t", "n")
        formula = cell.find(_FORMULA)
        if formula is not None:
            return _Formula("=" + (formula.text or ""))
        if kind == "inlineStr":
            text = cell.find(_INLINE)
            return None if text is None else _text_of(text)
        value = cell.findtext(_VALUE) or None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if "." in value or "E" in value or "e" in value else int(value)
            style = int(cell.get("s") or 0)
            flags = self._styles[style] if style < len(self._styles) else 0
            if flags & _DATE:
                try:
                    return self._from_excel(number, self._epoch, timedelta=bool(flags & _DURATION))
                except (OverflowError, ValueError):
                    return "#VALUE!"  # openpyxl's reading of a date outside the calendar
            return number
        if kind == "s":
            return self._strings[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return self._from_iso(value)
        return value  # "str" (a formula's text result), "e" (an error) and anything else: as written


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
