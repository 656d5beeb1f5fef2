"""Spreadsheet import of seized items (CSV or XLSX) under one court order.

A clerk imports the items of one seizure record at a time: the court order is chosen on the
screen (the file does not repeat case and order numbers on every line, which would invite a
line filed under the wrong case). One line per item, with the columns of :data:`COLUMNS`
(header names or their translated labels, in any order and case).

Every line is checked by :func:`intake.services.check_item`, the rules of the service the
admin's add form uses (:func:`~intake.services.register_item`); there is no second set of
checks here. Besides, a transaction output named twice in the file is reported on its second
line (the service would only find the first line's row).

* :func:`preview_items` only checks (no write at all): the clerk sees each refusal (row,
  column, message in their language) and nothing is stored.
* :func:`import_items` checks the same and registers the lines through
  :func:`intake.services.register_items`, :data:`CHUNK_ROWS` lines at a time, in one
  transaction kept only if *every* line was accepted: a file with one bad line imports nothing.

Memory stays flat with the size of the file: rows stream from :mod:`reserve.tabular` and are
held :data:`CHUNK_ROWS` at a time, and the report keeps the first :data:`PREVIEW_ROWS` lines,
the first :data:`MAX_ERRORS` refusals and totals per asset. The outputs already seen (to name a
duplicate's first row) are kept in a temporary on-disk SQLite database (:class:`_SeenOutputs`)
with a small page cache, not in a Python set; assets and wallets looked up are cached up to
:data:`MAX_CACHED_NAMES` names each. An XLSX's sheet and shared-string table are streamed too
(:mod:`reserve.tabular`).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from intake import services
from intake.models import CourtOrder, SourceKind
from reserve.audit import record_event
from reserve.models import Asset, Wallet
from reserve.tabular import (
    Column,
    Limits,
    PreviewRow,
    Row,
    RowError,
    TabularError,
    normalize_header,
    open_upload,
    read_table,
    spellings_in_every_language,
)
from reserve.tabular import ImportReport as BaseImportReport

COLUMNS = (
    Column("asset", gettext_lazy("asset")),
    Column("claimed_amount", gettext_lazy("claimed amount"), (gettext_lazy("amount"),)),
    Column("source_kind", gettext_lazy("source")),
    Column("source_address", gettext_lazy("source address"), required=False),
    Column("exchange_account", gettext_lazy("exchange account"), required=False),
    Column("txid", gettext_lazy("transaction id"), required=False),
    Column("vout", gettext_lazy("output index"), required=False),
    Column("custody_wallet", gettext_lazy("custody wallet"), (gettext_lazy("wallet"),)),
    Column("restriction", gettext_lazy("restriction"), required=False),
)
PREVIEW_ROWS = 100
#: Lines checked (and registered) together: one look-up of registered outputs and a few bulk
#: inserts per chunk.
CHUNK_ROWS = 500
MAX_ERRORS = 500
#: Assets (by symbol) and wallets (by code) remembered per import; past that a name is looked up
#: again on every line, so a file of many distinct (unknown) names does not grow the cache.
MAX_CACHED_NAMES = 256


def limits() -> Limits:
    max_rows = int(getattr(settings, "INTAKE_IMPORT_MAX_ROWS", 10_000))
    return Limits(
        max_bytes=int(getattr(settings, "INTAKE_IMPORT_MAX_BYTES", 8 * 1024 * 1024)),
        max_rows=max_rows,
        max_columns=len(COLUMNS) + 5,
        # An XLSX's shared texts (copied to a temporary file, not held): a line names at most a
        # few distinct ones (txid, address, amount, account), ~250 bytes of XML; twice that,
        # 4 MiB at least.
        max_shared_strings_bytes=max(4 * 1024 * 1024, 512 * max_rows),
    )


@dataclass
class ImportReport(BaseImportReport):
    """What an import found: ``ok`` when the file was read and every line accepted."""

    max_errors: ClassVar[int] = MAX_ERRORS

    totals: dict[str, str] = field(default_factory=dict)


def preview_items(*, order: CourtOrder, upload, actor) -> ImportReport:
    """Validate every line through the services and store nothing."""
    return _run(order=order, upload=upload, actor=actor, apply=False)


def import_items(*, order: CourtOrder, upload, actor, expect_sha256: str | None = None) -> ImportReport:
    """Register every line's item, or none of them if any line is refused. With
    ``expect_sha256`` (the preview's), a file with other content is refused as a whole."""
    return _run(order=order, upload=upload, actor=actor, apply=True, expect_sha256=expect_sha256)


def _run(*, order: CourtOrder, upload, actor, apply: bool, expect_sha256: str | None = None) -> ImportReport:
    bounds = limits()
    data, report = open_upload(upload, limits=bounds, report_class=ImportReport, expect_sha256=expect_sha256)
    if data is None:
        return report
    rows = read_table(data, COLUMNS, limits=bounds)
    try:
        if not apply:
            _check_rows(order=order, rows=rows, actor=actor, report=report, register=False)
            return report
        with transaction.atomic():
            _check_rows(order=order, rows=rows, actor=actor, report=report, register=True)
            if report.ok:
                record_event(
                    action="intake.items.imported",
                    actor=actor,
                    subject=order,
                    data={"sha256": report.sha256, "rows": report.rows, "totals": report.totals},
                )
                report.applied = True
            else:
                transaction.set_rollback(True)
    except TabularError as exc:
        report.file_error = exc.message
        report.applied = False
    return report


class _Lookups:
    """Assets by symbol and wallets by code, each fetched once per import."""

    def __init__(self) -> None:
        self.assets: dict[str, Asset | None] = {}
        self.wallets: dict[str, Wallet | None] = {}

    def asset(self, symbol: str) -> Asset | None:
        key = symbol.upper()
        if key in self.assets:
            return self.assets[key]
        asset = Asset.objects.filter(symbol__iexact=key).first()
        if len(self.assets) < MAX_CACHED_NAMES:
            self.assets[key] = asset
        return asset

    def wallet(self, code: str) -> Wallet | None:
        if code in self.wallets:
            return self.wallets[code]
        wallet = Wallet.objects.filter(code=code).first()
        if len(self.wallets) < MAX_CACHED_NAMES:
            self.wallets[code] = wallet
        return wallet


class _SeenOutputs:
    """The outputs named so far in the file, each with the row that first named it, in a
    temporary on-disk SQLite database (a unique key, a page cache of :data:`_CACHE_KIB`): the
    process's memory does not grow with the file's lines. The file is removed on :meth:`close`.
    """

    _CACHE_KIB = 256

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="intake-import-", suffix=".sqlite3")
        os.close(handle)
        try:
            self._db = sqlite3.connect(self._path, isolation_level=None)
            self._db.execute(f"PRAGMA cache_size = -{self._CACHE_KIB}")
            # A scratch database, thrown away at the end: no journal, no syncs to disk.
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute(
                "CREATE TABLE seen (output BLOB PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID"
            )
            self._db.execute("BEGIN")
        except BaseException:
            os.unlink(self._path)
            raise

    def first_row(self, key: bytes, row: int) -> int | None:
        """The row that already named ``key``, or None after remembering ``row`` for it."""
        found = self._db.execute("SELECT row FROM seen WHERE output = ?", (key,)).fetchone()
        if found is not None:
            return found[0]
        self._db.execute("INSERT INTO seen (output, row) VALUES (?, ?)", (key, row))
        return None

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            os.unlink(self._path)


def _source_kinds() -> dict[str, str]:
    """Every spelling of a source kind (its code, its label in any language) → the code."""
    return {
        spelled: value
        for value, label in SourceKind.choices
        for spelled in spellings_in_every_language(value, label)
    }


@dataclass
class _Line:
    row: Row
    errors: list[RowError]
    #: The keyword arguments of the line's item for the services (None when already refused).
    item: dict | None = None


def _check_rows(*, order: CourtOrder, rows, actor, report: ImportReport, register: bool) -> None:
    """Check every line (and, with ``register``, register them while no line is refused),
    :data:`CHUNK_ROWS` at a time."""
    lookups = _Lookups()
    source_kinds = _source_kinds()
    seen = _SeenOutputs()
    units_by_asset: dict[Asset, int] = {}
    chunk: list[_Line] = []
    try:
        for row in rows:
            report.rows += 1
            line = _Line(row, list(row.errors))
            if not line.errors:
                line.item = _prepare_line(
                    row=row, lookups=lookups, source_kinds=source_kinds, seen=seen, line=line
                )
            chunk.append(line)
            if len(chunk) == CHUNK_ROWS:
                _check_chunk(
                    order=order,
                    chunk=chunk,
                    actor=actor,
                    report=report,
                    units=units_by_asset,
                    register=register,
                )
                chunk = []
    finally:
        seen.close()
    _check_chunk(
        order=order, chunk=chunk, actor=actor, report=report, units=units_by_asset, register=register
    )
    report.totals = {asset.symbol: asset.format(units) for asset, units in units_by_asset.items()}


def _check_chunk(
    *, order: CourtOrder, chunk: list[_Line], actor, report: ImportReport, units, register: bool
) -> None:
    lines = [line for line in chunk if line.item is not None]
    items = [line.item for line in lines]
    # Once a line is refused nothing will be kept: the rest of the file is only checked.
    register = register and report.error_count == 0 and not any(line.errors for line in chunk)
    results: dict[int, object] = {}  # a checked or registered item, or its refusal
    if items and register:
        try:
            registered = services.register_items(order=order, rows=items, actor=actor)
        except services.ItemsRefused as exc:
            results = {**exc.accepted, **exc.rows}
        else:
            results = dict(enumerate(registered))
    elif items:
        results = dict(enumerate(services.check_items(order=order, rows=items)))
    for index, line in enumerate(lines):
        result = results[index]
        if isinstance(result, ValidationError):
            line.errors = _row_errors(line.row, result)
        else:
            units[result.asset] = units.get(result.asset, 0) + result.claimed_amount
    for line in chunk:
        for error in line.errors:
            report.refuse(error)
        if len(report.preview) < PREVIEW_ROWS:
            report.preview.append(PreviewRow(line.row.number, line.row.values, line.errors))


def _row_errors(row: Row, exc: ValidationError) -> list[RowError]:
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    return [
        RowError(row.number, name if name in row.values else "", message)
        for name, messages in by_field.items()
        for message in messages
    ]


def _output_key(network: str, txid: str, vout: int) -> bytes:
    """An output as compact bytes (the txid's hexadecimal digits as bytes), the key of
    :class:`_SeenOutputs`."""
    return b"%s:%s:%d" % (network.encode(), bytes.fromhex(txid.removeprefix("0x")), vout)


def _prepare_line(
    *, row: Row, lookups: _Lookups, source_kinds, seen: _SeenOutputs, line: _Line
) -> dict | None:
    """The line's keyword arguments for the services, or None with ``line.errors`` set: what
    only a file has (names to look up, text to parse, an output named twice in the file)."""
    values = row.values

    def refuse(column: str, message: str) -> None:
        line.errors.append(RowError(row.number, column, message))

    asset = lookups.asset(values["asset"]) if values["asset"] else None
    if asset is None:
        if not values["asset"]:
            return refuse("asset", _("This field is required."))
        return refuse("asset", _("Unknown asset %(symbol)s.") % {"symbol": values["asset"]})
    wallet = lookups.wallet(values["custody_wallet"]) if values["custody_wallet"] else None
    if wallet is None:
        if not values["custody_wallet"]:
            return refuse("custody_wallet", _("This field is required."))
        return refuse(
            "custody_wallet", _("Unknown custody wallet %(code)s.") % {"code": values["custody_wallet"]}
        )
    source_kind = source_kinds.get(normalize_header(values["source_kind"]))
    if source_kind is None:
        return refuse("source_kind", _("Choose the source: an address or an exchange account."))
    vout = None
    if values["vout"]:
        if not values["vout"].isdigit() or not values["vout"].isascii():
            return refuse("vout", _("Give the output index of the transaction (0 or more)."))
        vout = int(values["vout"])
    if values["txid"] and vout is not None:
        try:
            txid = services.normalize_txid(asset.network, values["txid"])
        except ValidationError:
            txid = None  # the service names the expected form
        if txid is not None:
            first = seen.first_row(_output_key(asset.network, txid, vout), row.number)
            if first is not None:
                return refuse(
                    "txid",
                    _("Output %(vout)s of transaction %(txid)s is already in row %(row)s of this file.")
                    % {"vout": vout, "txid": txid, "row": first},
                )
    return {
        "asset": asset,
        "claimed_amount": values["claimed_amount"],
        "source_kind": source_kind,
        "custody_wallet": wallet,
        "source_address": values["source_address"],
        "exchange_account": values["exchange_account"],
        "txid": values["txid"],
        "vout": vout,
        "restriction": values["restriction"],
    }
