"""Pool payout verification (issue #19): importing a pool's statement, recording the receipts at
a site's payout address, and :func:`payout_check`, which compares the report, the statement, the
receipts and (FPPS) the expected output less the pool fee.

The writes (``import_pool_statement``, ``record_receipt``, ``observe_receipts``) follow
:mod:`mining.services`: keyword-only, one transaction each with its audit event, refusals as
translated ``ValidationError`` naming the field. ``observe_receipts`` asks the chain source
*before* its transaction opens: no network call is made while rows are locked. The parsing and
the comparison rules are in :mod:`mining.pools` (pure functions); this module only feeds them
from the database. The selector lives here, beside the writes of the same feature, so that one
module tells the whole story of payout verification.

Days. Each side is compared by the calendar date it states: the report by the site's local day,
a CSV statement by the pool's (UTC) day, Binance by its UTC+8 day, receipts by the UTC day of
their block. A pool whose day differs from the site's shows as a mismatch between neighbouring
days; it is shown, never shifted silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mining.models import (
    OutputReport,
    PayoutReceipt,
    PayoutScheme,
    PoolStatement,
    PoolStatementLine,
    Site,
    StatementFormat,
)
from mining.models.pools import CLERK
from mining.pools import statements as parsers
from mining.pools.receipts import ReceiptEntryError, entered_receipt, observed_receipts
from mining.pools.reconcile import (
    FppsExpectation,
    Mismatch,
    MismatchKind,
    ReportedDay,
    fpps_payout,
    is_pending,
    receipt_day,
    reconcile_payouts,
)
from mining.pools.statements import PoolStatementLine as ParsedLine
from reserve.audit import record_event
from reserve.chain.base import NotSupported, Receipt
from reserve.chain.services import chain_source
from reserve.external.http import SourceError

_TXID = re.compile(r"[0-9a-fA-F]{64}")

#: Days after a statement's last day in which its payouts may still arrive (UTC block days).
SETTLEMENT_DAYS = 1

_PARSERS = {
    StatementFormat.CSV: parsers.parse_statement_csv,
    StatementFormat.BINANCE: parsers.parse_binance_earnings,
}


def _refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _user(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _saved(instance, *, actor) -> None:
    instance._history_user = _user(actor)
    instance.save()


# The pool fee ------------------------------------------------------------------------------


@transaction.atomic
def set_pool_fee(*, site: Site, fee_percent: Decimal | str | None, actor) -> Site:
    """Set (or clear, with ``None``) the pool's FPPS fee of ``site``, used for statements that
    do not state one. Statements already imported keep the fee they were imported with."""
    fee = None
    if fee_percent not in (None, ""):
        if isinstance(fee_percent, bool | float):
            raise _refuse("pool_fee_percent", _("Enter an exact number (a decimal string, not a float)."))
        try:
            fee = Decimal(str(fee_percent).strip()) if not isinstance(fee_percent, Decimal) else fee_percent
        except ArithmeticError:
            raise _refuse("pool_fee_percent", _("Enter a number.")) from None
        if not fee.is_finite() or not 0 <= fee < 100:
            raise _refuse("pool_fee_percent", _("A pool fee is from 0 to below 100%."))
    site = Site.objects.select_for_update().get(pk=site.pk)
    before = site.pool_fee_percent
    site.pool_fee_percent = fee
    _saved(site, actor=actor)
    record_event(
        action="mining.site.pool_fee_set",
        actor=actor,
        subject=site,
        data={"before": None if before is None else str(before), "after": None if fee is None else str(fee)},
    )
    return site


# Statements --------------------------------------------------------------------------------


def _row_message(error: parsers.RowError) -> str:
    if error.row and error.column:
        return _("Row %(row)s, %(column)s: %(message)s") % {
            "row": error.row,
            "column": error.column,
            "message": error.message,
        }
    if error.row:
        return _("Row %(row)s: %(message)s") % {"row": error.row, "message": error.message}
    return error.message


@transaction.atomic
def import_pool_statement(*, site: Site, content: bytes, format: str, actor) -> PoolStatement:
    """Import a pool's statement file for ``site``: all or nothing.

    Every row problem is returned at once in one ``ValidationError`` on ``content`` (one message
    per row and column); then nothing is stored. The same file (SHA-256) imported again for the
    site returns the statement already imported, unchanged. A corrected file is a new statement
    that supersedes the older ones for the days it covers (see :mod:`mining.models.pools`).
    """
    if format not in StatementFormat.values:
        raise _refuse(
            "format", _("Choose one of: %(choices)s.") % {"choices": ", ".join(StatementFormat.values)}
        )
    if not isinstance(content, bytes) or not content:
        raise _refuse("content", _("The file is empty."), "required")
    digest = hashlib.sha256(content).hexdigest()
    Site.objects.select_for_update().filter(pk=site.pk).first()  # serialise imports of one site
    known = PoolStatement.objects.filter(site=site, sha256=digest).first()
    if known is not None:
        return known
    parsed = _PARSERS[StatementFormat(format)](content)
    if parsed.errors:
        raise ValidationError(
            {"content": [ValidationError(_row_message(e), code="row") for e in parsed.errors]}
        )
    if not parsed.lines:
        raise _refuse("content", _("The statement has no lines."), "required")
    days = parsers.days_of(parsed.lines)
    statement = PoolStatement(
        site=site,
        format=format,
        first_day=days[0],
        last_day=days[-1],
        sha256=digest,
        size_bytes=len(content),
        fee_percent=site.pool_fee_percent,
        imported_at=timezone.now(),
        imported_by=_user(actor),
    )
    _saved(statement, actor=actor)
    for row, line in enumerate(parsed.lines, start=1):
        _saved(
            PoolStatementLine(
                statement=statement,
                row=row,
                day=line.day,
                gross_sats=line.gross_sats,
                fee_sats=line.fee_sats,
                net_sats=line.net_sats,
                payout_txid=line.payout_txid or "",
                kind=line.kind,
                status=line.status,
            ),
            actor=actor,
        )
    record_event(
        action="mining.statement.imported",
        actor=actor,
        subject=statement,
        data={
            "site": site.pk,
            "format": format,
            "sha256": digest,
            "first_day": statement.first_day.isoformat(),
            "last_day": statement.last_day.isoformat(),
            "lines": len(parsed.lines),
            "net_sats": sum(line.net_sats for line in parsed.lines),
        },
    )
    return statement


# Receipts ----------------------------------------------------------------------------------


@transaction.atomic
def record_receipt(
    *,
    site: Site,
    txid: str,
    vout: int,
    amount_btc: str,
    confirmations: int,
    block_time: dt.datetime | None,
    coinbase: bool = False,
    block_height: int | None = None,
    actor,
) -> PayoutReceipt:
    """A receipt at the site's payout address entered by a clerk (txid as the evidence)."""
    try:
        receipt = entered_receipt(
            txid=txid,
            vout=vout,
            amount_btc=amount_btc,
            confirmations=confirmations,
            block_time=block_time,
            block_height=block_height,
            coinbase=coinbase,
        )
    except ReceiptEntryError as exc:
        raise _refuse(_receipt_field(txid=txid, vout=vout, confirmations=confirmations), str(exc)) from None
    except ValueError as exc:  # AmountError
        raise _refuse("amount_btc", str(exc)) from None
    if block_time is not None and block_time > timezone.now():
        raise _refuse("block_time", _("A block cannot be dated in the future."))
    if PayoutReceipt.objects.filter(site=site, txid=receipt.txid, vout=receipt.vout).exists():
        raise _refuse(
            "txid",
            _("Output %(txid)s:%(vout)s is already recorded for this site.")
            % {"txid": receipt.txid, "vout": receipt.vout},
            "duplicate",
        )
    row = _receipt_row(site, receipt, source=CLERK, actor=actor)
    _saved(row, actor=actor)
    record_event(
        action="mining.receipt.recorded",
        actor=actor,
        subject=row,
        data={"site": site.pk, **_receipt_data(receipt), "source": CLERK},
    )
    return row


def _receipt_field(*, txid, vout, confirmations) -> str:
    """The field a :class:`ReceiptEntryError` is about, in the order ``entered_receipt`` checks."""
    if not isinstance(txid, str) or not _TXID.fullmatch(txid):
        return "txid"
    if isinstance(vout, bool) or not isinstance(vout, int) or vout < 0:
        return "vout"
    if isinstance(confirmations, bool) or not isinstance(confirmations, int) or confirmations < 0:
        return "confirmations"
    return "block_time"


def _receipt_row(site: Site, receipt: Receipt, *, source: str, actor) -> PayoutReceipt:
    return PayoutReceipt(
        site=site,
        txid=receipt.txid.lower(),
        vout=receipt.vout,
        units=receipt.units,
        confirmations=receipt.confirmations,
        block_time=receipt.block_time,
        block_height=receipt.block_height,
        coinbase=receipt.coinbase,
        source=source,
        observed_at=timezone.now(),
        recorded_by=_user(actor),
    )


def _receipt_data(receipt: Receipt) -> dict:
    return {
        "txid": receipt.txid.lower(),
        "vout": receipt.vout,
        "units": receipt.units,
        "confirmations": receipt.confirmations,
        "coinbase": receipt.coinbase,
    }


@dataclass(frozen=True)
class Observation:
    """What :func:`observe_receipts` stored: new receipts and known ones whose block or
    confirmations changed."""

    added: tuple[PayoutReceipt, ...]
    updated: tuple[PayoutReceipt, ...]


def observe_receipts(
    *, site: Site, first_day: dt.date, last_day: dt.date, actor, transport=None
) -> Observation:
    """Ask the chain source serving the site's network for the receipts at its payout address in
    ``[first_day, last_day + SETTLEMENT_DAYS]`` (and the unconfirmed ones), then store them.

    The source is asked before any transaction opens. Refused (``ValidationError`` on
    ``site``) when no chain source serves the network, when the source cannot list an address's
    history, or when it gives no usable answer; nothing is stored then."""
    if last_day < first_day:
        raise _refuse("last_day", _("The period ends before it starts."))
    source = chain_source(site.network, transport=transport)
    if source is None:
        raise _refuse(
            "site",
            _("No chain source serves %(network)s: enter the receipts by hand with their transaction ids.")
            % {"network": site.get_network_display()},
            "no_chain_source",
        )
    try:
        found = observed_receipts(
            source, site.payout_address, first_day, last_day, settlement_days=SETTLEMENT_DAYS
        )
    except NotSupported:
        raise _refuse(
            "site",
            _("The chain source %(source)s cannot list the payments to an address.")
            % {"source": source.code},
            "not_supported",
        ) from None
    except SourceError as exc:
        raise _refuse(
            "site",
            _("The chain source %(source)s gave no usable answer (%(failure)s); try again later.")
            % {"source": source.code, "failure": exc.failure},
            "source_error",
        ) from None
    return _store_observed(
        site=site,
        receipts=found,
        source_code=source.code,
        actor=actor,
        first_day=first_day,
        last_day=last_day,
    )


@transaction.atomic
def _store_observed(
    *, site: Site, receipts: list[Receipt], source_code: str, actor, first_day: dt.date, last_day: dt.date
) -> Observation:
    Site.objects.select_for_update().filter(pk=site.pk).first()
    known = {
        (r.txid, r.vout): r
        for r in PayoutReceipt.objects.select_for_update().filter(
            site=site, txid__in={receipt.txid.lower() for receipt in receipts}
        )
    }
    added, updated = [], []
    for receipt in receipts:
        row = known.get((receipt.txid.lower(), receipt.vout))
        if row is None:
            row = _receipt_row(site, receipt, source=source_code, actor=actor)
            _saved(row, actor=actor)
            added.append(row)
            continue
        if (row.confirmations, row.block_height, row.block_time) != (
            receipt.confirmations,
            receipt.block_height,
            receipt.block_time,
        ):
            row.confirmations = receipt.confirmations
            row.block_height = receipt.block_height
            row.block_time = receipt.block_time
            row.observed_at = timezone.now()
            _saved(row, actor=actor)
            updated.append(row)
    record_event(
        action="mining.receipts.observed",
        actor=actor,
        subject=site,
        data={
            "source": source_code,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "answered": len(receipts),
            "added": [f"{r.txid}:{r.vout}" for r in added],
            "updated": [f"{r.txid}:{r.vout}" for r in updated],
        },
    )
    return Observation(tuple(added), tuple(updated))


# The check ---------------------------------------------------------------------------------

#: Column labels of :attr:`PayoutCheck.days`, for a screen or an export.
COLUMN_LABELS = {
    "day": gettext_lazy("day"),
    "reported_net": gettext_lazy("reported net (sats)"),
    "pool_net": gettext_lazy("pool net (sats)"),
    "received": gettext_lazy("received (sats)"),
    "expected_less_fee": gettext_lazy("expected less pool fee (sats)"),
}
#: What each kind of mismatch means, for a screen.
MISMATCH_LABELS = {
    MismatchKind.REPORT_VS_POOL: gettext_lazy("report vs pool statement"),
    MismatchKind.FPPS_PAYOUT_VS_EXPECTED: gettext_lazy("FPPS payout vs expected output less fee"),
    MismatchKind.POOL_VS_RECEIPTS: gettext_lazy("pool statement vs receipts"),
    MismatchKind.RECEIPT_UNMATCHED: gettext_lazy("paid in the statement, not received"),
    MismatchKind.UNMATCHED_RECEIPT: gettext_lazy("received, in no statement"),
    MismatchKind.REPORT_VS_RECEIPTS: gettext_lazy("report vs mature coinbase outputs"),
    MismatchKind.IMMATURE_COINBASE: gettext_lazy("coinbase output not mature (under 100 confirmations)"),
    MismatchKind.UNCONFIRMED_RECEIPT: gettext_lazy("receipt not confirmed yet"),
}


@dataclass(frozen=True)
class PayoutDay:
    """One day of the report's period; ``None`` where a side has no figure for the day.
    ``received`` counts only receipts that may be counted (mature coinbase, confirmed others),
    by the UTC day of their block."""

    day: dt.date
    reported_net: int | None
    pool_net: int | None
    received: int
    expected_less_fee: int | None


@dataclass(frozen=True)
class PayoutCheck:
    """Plain data for a screen: per-day figures, every mismatch (with both figures and a
    translated message), and notes on what could not be checked."""

    report_id: int
    payout_scheme: str
    fee_percent: Decimal | None
    statement_ids: tuple[int, ...]
    days: tuple[PayoutDay, ...]
    mismatches: tuple[Mismatch, ...]
    notes: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not self.mismatches

    @staticmethod
    def mismatch_label(mismatch: Mismatch) -> str:
        return str(MISMATCH_LABELS[mismatch.kind])


def _period_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def statement_lines_for(
    site: Site, first_day: dt.date, last_day: dt.date
) -> tuple[list, list[PoolStatement]]:
    """The statement lines of ``[first_day, last_day]``: for each day, those of the most recently
    imported statement that has lines for that day (a later statement supersedes). Returns the
    lines and the statements used, newest first."""
    statements = list(
        PoolStatement.objects.filter(site=site, first_day__lte=last_day, last_day__gte=first_day)
        .order_by("-imported_at", "-id")
        .prefetch_related("lines")
    )
    chosen: dict[dt.date, list[PoolStatementLine]] = {}
    used: list[PoolStatement] = []
    for statement in statements:
        by_day: dict[dt.date, list[PoolStatementLine]] = defaultdict(list)
        for line in statement.lines.all():
            if first_day <= line.day <= last_day and line.day not in chosen:
                by_day[line.day].append(line)
        if by_day:
            used.append(statement)
            chosen.update(by_day)
    return [line for day in sorted(chosen) for line in chosen[day]], used


def payout_check(report: OutputReport, *, verification=None) -> PayoutCheck:
    """The report vs the pool's statement vs the receipts at the payout address, and for FPPS
    the pool's payout vs the expected output (from :func:`mining.selectors.verify_report`) less
    the pool fee (the statement's, else the site's). See :mod:`mining.pools.reconcile` for the
    rules; ``verification`` may pass a ``verify_report`` result already computed."""
    from mining.selectors import verify_report

    site = report.site
    first, last = report.period_start, report.period_end
    solo = site.payout_scheme == PayoutScheme.SOLO
    notes: list[str] = []

    report_lines = list(report.lines.order_by("day"))
    reported = [ReportedDay(line.day, line.btc_net, line.btc_gross) for line in report_lines]
    lines, statements = statement_lines_for(site, first, last)
    parsed = [
        ParsedLine(
            day=line.day,
            gross_sats=line.gross_sats,
            fee_sats=line.fee_sats,
            net_sats=line.net_sats,
            payout_txid=line.payout_txid or None,
        )
        for line in lines
    ]
    if not solo and not statements:
        notes.append(_("No pool statement covers this period."))

    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(last + dt.timedelta(days=SETTLEMENT_DAYS + 1), dt.time(), tzinfo=dt.UTC)
    txids = {line.payout_txid for line in lines if line.payout_txid}
    receipts = [
        Receipt(r.txid, r.vout, r.units, r.confirmations, r.block_height, r.block_time, r.coinbase)
        for r in PayoutReceipt.objects.filter(site=site).filter(
            Q(block_time__isnull=True) | Q(block_time__gte=since, block_time__lt=until) | Q(txid__in=txids)
        )
    ]

    fpps = None
    fee = statements[0].fee_percent if statements and statements[0].fee_percent is not None else None
    fee = site.pool_fee_percent if fee is None else fee
    expected_less_fee: dict[dt.date, int] = {}
    if site.payout_scheme == PayoutScheme.FPPS:
        if fee is None:
            notes.append(_("The pool fee is not known: the FPPS payout is not checked."))
        else:
            verification = verification or verify_report(report)
            expected = {
                d.day: d.figures.expected_sats
                for d in verification.days
                if d.figures.expected_sats is not None
            }
            if len(expected) < len(verification.days):
                notes.append(
                    _("The expected output is unknown for some days: their FPPS payout is not checked.")
                )
            fpps = FppsExpectation(expected_sats=expected, fee_percent=fee)
            expected_less_fee = {day: fpps_payout(sats, fee) for day, sats in expected.items()}

    mismatches = reconcile_payouts(
        reported=reported,
        statement=parsed,
        receipts=receipts,
        fpps=fpps,
        solo=solo,
        settlement_days=SETTLEMENT_DAYS,
    )

    report_net = {line.day: line.btc_net for line in report_lines}
    pool_net: dict[dt.date, int] = {}
    for line in lines:
        pool_net[line.day] = pool_net.get(line.day, 0) + line.net_sats
    received: dict[dt.date, int] = defaultdict(int)
    for receipt in receipts:
        if not is_pending(receipt):
            received[receipt_day(receipt)] += receipt.units
    days = tuple(
        PayoutDay(
            day=day,
            reported_net=report_net.get(day),
            pool_net=pool_net.get(day),
            received=received.get(day, 0),
            expected_less_fee=expected_less_fee.get(day),
        )
        for day in _period_days(first, last)
    )
    return PayoutCheck(
        report_id=report.pk,
        payout_scheme=site.payout_scheme,
        fee_percent=fee if site.payout_scheme == PayoutScheme.FPPS else None,
        statement_ids=tuple(s.pk for s in statements),
        days=days,
        mismatches=tuple(mismatches),
        notes=tuple(notes),
    )
