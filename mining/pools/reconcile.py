"""Pool payout verification: the site's report, the pool's statement, the receipts at the payout
address and (FPPS) the expected output less the pool fee, compared to the satoshi.

Pure functions over plain values (no database): the caller passes the report's days, the parsed
statement lines (:mod:`mining.pools.statements`), the receipts observed at the payout address
(:class:`reserve.chain.base.Receipt`, from a chain source's ``address_receipts`` or entered by a
clerk with their txids: :mod:`mining.pools.receipts`) and, for FPPS, the expected output per day (from the expected-output
selector, as numbers). The result is a list of :class:`Mismatch`, each with both figures; an
empty list means everything agrees. Nothing is adjusted or netted away.

Comparisons (``tolerance_sats`` is 0 unless given: exact to the satoshi):

``report_vs_pool``
    per day, the site's reported net (and gross, when both sides give it) against the pool
    statement's sum for that day. A day on one side only is compared with 0.
    expected = the pool statement, actual = the report.
``fpps_payout_vs_expected``
    per day with an expected output: the pool's net credit against the expected output less the
    pool fee, ``floor(expected × (100 − fee%) / 100)`` computed exactly (a pool never pays a
    fraction of a satoshi; a pool that rounds otherwise differs by at most 1 sat: give
    ``tolerance_sats=1``). expected = that payout, actual = the statement.
``pool_vs_receipts``
    what the statement says was paid against what arrived (see matching below).
    expected = the statement, actual = the receipts.
``receipt_unmatched``
    a payout txid in the statement that no receipt at the address has. expected = the
    statement's sum for that txid, actual = 0.
``unmatched_receipt``
    a receipt that no statement line (nor, solo, the report) accounts for. expected = 0,
    actual = the receipt.
``report_vs_receipts``
    solo mining only (no pool): per UTC day of the block, the report against the mature coinbase
    outputs. expected = the receipts, actual = the report.
``immature_coinbase`` / ``unconfirmed_receipt``
    pending, not counted: a coinbase output with fewer than 100 confirmations (consensus: it
    cannot be spent before), or any other receipt with none yet. Figures are confirmations
    (``unit == "confirmations"``): expected = what counting needs, actual = what it has.

Matching receipts to the statement. Payouts usually cover several days, or arrive the day after:

1. **By payout txid first.** Statement lines naming the same txid are summed (a multi-day
   payout) and compared with the sum of the receipts of that txid (one transaction may pay the
   address in several outputs). A txid whose receipts are still pending is not compared yet.
2. **Then by totals over the statement period.** The lines without a txid are summed and
   compared with the total of the receipts left over from step 1 whose block day is in
   ``[first day, last day + settlement_days]`` (UTC). One mismatch (on the last day) gives both
   totals; a day-by-day split would be a guess.
3. Receipts left over are ``unmatched_receipt`` (solo: mature coinbase outputs are first
   compared with the report by block day).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from mining.pools.statements import PoolStatementLine
from reserve.chain.base import Receipt

#: Blocks before a coinbase output may be spent (consensus rule): it counts from 100 confirmations.
COINBASE_MATURITY = 100
SATS = "sats"
CONFIRMATIONS = "confirmations"


class MismatchKind(enum.StrEnum):
    REPORT_VS_POOL = "report_vs_pool"
    FPPS_PAYOUT_VS_EXPECTED = "fpps_payout_vs_expected"
    POOL_VS_RECEIPTS = "pool_vs_receipts"
    RECEIPT_UNMATCHED = "receipt_unmatched"
    UNMATCHED_RECEIPT = "unmatched_receipt"
    REPORT_VS_RECEIPTS = "report_vs_receipts"
    IMMATURE_COINBASE = "immature_coinbase"
    UNCONFIRMED_RECEIPT = "unconfirmed_receipt"


@dataclass(frozen=True)
class Mismatch:
    """One disagreement with both figures (``unit``: ``sats`` or ``confirmations``). ``day`` is
    the day the figures belong to (the last day of a multi-day payout; ``None`` for an
    unconfirmed receipt outside any statement); ``txid`` where one transaction is concerned."""

    day: dt.date | None
    kind: MismatchKind
    expected_figure: int
    actual_figure: int
    message: str
    unit: str = SATS
    txid: str | None = None

    @property
    def difference(self) -> int:
        return self.actual_figure - self.expected_figure


@dataclass(frozen=True)
class ReportedDay:
    """What the site reported for a day: net of the pool fee, and gross when it reports it."""

    day: dt.date
    net_sats: int
    gross_sats: int | None = None


@dataclass(frozen=True)
class FppsExpectation:
    """The expected output per day (from the expected-output selector) and the pool's fee in
    percent (a Decimal such as ``Decimal("2.5")``; never a float)."""

    expected_sats: Mapping[dt.date, int]
    fee_percent: Decimal


def fpps_payout(expected_sats: int, fee_percent: Decimal) -> int:
    """The expected output less the pool fee, in whole satoshi (rounded down), exactly."""
    _check_sats(expected_sats, "expected_sats")
    if not isinstance(fee_percent, Decimal) or not fee_percent.is_finite():
        raise TypeError("fee_percent must be a finite Decimal")
    if not 0 <= fee_percent < 100:
        raise ValueError(f"fee_percent must be in [0, 100), not {fee_percent}")
    return math.floor(expected_sats * (100 - Fraction(fee_percent)) / 100)


def receipt_day(receipt: Receipt) -> dt.date | None:
    return None if receipt.block_time is None else receipt.block_time.astimezone(dt.UTC).date()


def is_pending(receipt: Receipt) -> bool:
    """Not counted yet: a coinbase output below maturity, or any receipt not in a block."""
    if receipt.coinbase:
        return receipt.confirmations < COINBASE_MATURITY
    return receipt.confirmations < 1


def reconcile_payouts(
    *,
    reported: Iterable[ReportedDay],
    statement: Iterable[PoolStatementLine],
    receipts: Iterable[Receipt],
    fpps: FppsExpectation | None = None,
    solo: bool = False,
    settlement_days: int = 1,
    tolerance_sats: int = 0,
) -> list[Mismatch]:
    """Every mismatch between the report, the pool statement, the receipts and (FPPS) the
    expected payout, ordered by day and kind. See the module docstring for the rules."""
    _check_sats(tolerance_sats, "tolerance_sats")
    if settlement_days < 0:
        raise ValueError("settlement_days must not be negative")
    reported = list(reported)
    lines = list(statement)
    receipts = list(receipts)
    for receipt in receipts:
        _check_sats(receipt.units, "receipt units")
    differs = _Differs(tolerance_sats)
    found: list[Mismatch] = []

    report_net: dict[dt.date, int] = defaultdict(int)
    report_gross: dict[dt.date, int | None] = {}
    for day_report in reported:
        report_net[day_report.day] += day_report.net_sats
        report_gross[day_report.day] = _add(report_gross.get(day_report.day, 0), day_report.gross_sats)
    pool_net: dict[dt.date, int] = defaultdict(int)
    pool_gross: dict[dt.date, int | None] = {}
    for line in lines:
        pool_net[line.day] += line.net_sats
        pool_gross[line.day] = _add(pool_gross.get(line.day, 0), line.gross_sats)

    if not solo:
        found += _report_vs_pool(report_net, report_gross, pool_net, pool_gross, differs)
    if fpps is not None:
        found += _fpps(fpps, pool_net, differs)

    pending = [r for r in receipts if is_pending(r)]
    found += [_pending(r) for r in pending]
    pending_txids = {r.txid.lower() for r in pending}
    counted: dict[str, list[Receipt]] = defaultdict(list)
    for receipt in receipts:
        if not is_pending(receipt):
            counted[receipt.txid.lower()].append(receipt)

    found += _match_by_txid(lines, counted, pending_txids, differs)
    found += _match_by_period(lines, counted, settlement_days, differs)
    if solo:
        found += _report_vs_coinbase(report_net, counted, pending, differs)
    for group in counted.values():
        for receipt in group:
            found.append(
                Mismatch(
                    receipt_day(receipt),
                    MismatchKind.UNMATCHED_RECEIPT,
                    0,
                    receipt.units,
                    _("Receipt %(txid)s:%(vout)s of %(sats)s sats is in no pool statement.")
                    % {"txid": receipt.txid, "vout": receipt.vout, "sats": receipt.units},
                    txid=receipt.txid,
                )
            )
    found.sort(key=lambda m: (m.day or dt.date.max, list(MismatchKind).index(m.kind), m.txid or ""))
    return found


class _Differs:
    def __init__(self, tolerance: int):
        self.tolerance = tolerance

    def __call__(self, expected: int, actual: int) -> bool:
        return abs(actual - expected) > self.tolerance


def _report_vs_pool(report_net, report_gross, pool_net, pool_gross, differs) -> list[Mismatch]:
    found = []
    for day in sorted(set(report_net) | set(pool_net)):
        pool, report = pool_net.get(day, 0), report_net.get(day, 0)
        if differs(pool, report):
            found.append(
                Mismatch(
                    day,
                    MismatchKind.REPORT_VS_POOL,
                    pool,
                    report,
                    _("%(day)s: reported net %(report)s sats, pool statement net %(pool)s sats.")
                    % {"day": day.isoformat(), "report": report, "pool": pool},
                )
            )
        pool_g, report_g = pool_gross.get(day), report_gross.get(day)
        both = pool_g is not None and report_g is not None and day in pool_net and day in report_net
        if both and differs(pool_g, report_g):
            found.append(
                Mismatch(
                    day,
                    MismatchKind.REPORT_VS_POOL,
                    pool_g,
                    report_g,
                    _("%(day)s: reported gross %(report)s sats, pool statement gross %(pool)s sats.")
                    % {"day": day.isoformat(), "report": report_g, "pool": pool_g},
                )
            )
    return found


def _fpps(fpps: FppsExpectation, pool_net, differs) -> list[Mismatch]:
    found = []
    for day in sorted(fpps.expected_sats):
        expected = fpps.expected_sats[day]
        payout = fpps_payout(expected, fpps.fee_percent)
        actual = pool_net.get(day, 0)
        if differs(payout, actual):
            found.append(
                Mismatch(
                    day,
                    MismatchKind.FPPS_PAYOUT_VS_EXPECTED,
                    payout,
                    actual,
                    _(
                        "%(day)s: the pool credited %(actual)s sats; FPPS expects %(payout)s sats "
                        "(expected output %(expected)s sats less the pool fee of %(fee)s%%)."
                    )
                    % {
                        "day": day.isoformat(),
                        "actual": actual,
                        "payout": payout,
                        "expected": expected,
                        "fee": fpps.fee_percent,
                    },
                )
            )
    return found


def _pending(receipt: Receipt) -> Mismatch:
    if receipt.coinbase:
        return Mismatch(
            receipt_day(receipt),
            MismatchKind.IMMATURE_COINBASE,
            COINBASE_MATURITY,
            receipt.confirmations,
            _(
                "Coinbase output %(txid)s:%(vout)s of %(sats)s sats has %(confirmations)s confirmations; "
                "it counts from %(maturity)s (pending)."
            )
            % {
                "txid": receipt.txid,
                "vout": receipt.vout,
                "sats": receipt.units,
                "confirmations": receipt.confirmations,
                "maturity": COINBASE_MATURITY,
            },
            unit=CONFIRMATIONS,
            txid=receipt.txid,
        )
    return Mismatch(
        receipt_day(receipt),
        MismatchKind.UNCONFIRMED_RECEIPT,
        1,
        receipt.confirmations,
        _("Receipt %(txid)s:%(vout)s of %(sats)s sats is not in a block yet (pending).")
        % {"txid": receipt.txid, "vout": receipt.vout, "sats": receipt.units},
        unit=CONFIRMATIONS,
        txid=receipt.txid,
    )


def _match_by_txid(lines, counted, pending_txids, differs) -> list[Mismatch]:
    by_txid: dict[str, list[PoolStatementLine]] = defaultdict(list)
    for line in lines:
        if line.payout_txid is not None:
            by_txid[line.payout_txid.lower()].append(line)
    found = []
    for txid in sorted(by_txid):
        days = sorted({line.day for line in by_txid[txid]})
        stated = sum(line.net_sats for line in by_txid[txid])
        period = _period(days)
        if txid in counted:
            received = sum(r.units for r in counted.pop(txid))
            if differs(stated, received):
                found.append(
                    Mismatch(
                        days[-1],
                        MismatchKind.POOL_VS_RECEIPTS,
                        stated,
                        received,
                        _(
                            "Payout %(txid)s for %(period)s: the pool says %(stated)s sats, %(received)s sats arrived."
                        )
                        % {"txid": txid, "period": period, "stated": stated, "received": received},
                        txid=txid,
                    )
                )
        elif txid not in pending_txids:
            found.append(
                Mismatch(
                    days[-1],
                    MismatchKind.RECEIPT_UNMATCHED,
                    stated,
                    0,
                    _("Payout %(txid)s for %(period)s (%(stated)s sats) was not seen at the payout address.")
                    % {"txid": txid, "period": period, "stated": stated},
                    txid=txid,
                )
            )
    return found


def _match_by_period(lines, counted, settlement_days, differs) -> list[Mismatch]:
    untracked = [line for line in lines if line.payout_txid is None]
    if not untracked:
        return []
    days = sorted({line.day for line in untracked})
    first, last = days[0], days[-1] + dt.timedelta(days=settlement_days)
    stated = sum(line.net_sats for line in untracked)
    received = 0
    for txid in sorted(counted):
        group = counted[txid]
        inside = [r for r in group if (d := receipt_day(r)) is not None and first <= d <= last]
        if len(inside) == len(group):
            received += sum(r.units for r in counted.pop(txid))
    if not differs(stated, received):
        return []
    return [
        Mismatch(
            days[-1],
            MismatchKind.POOL_VS_RECEIPTS,
            stated,
            received,
            _(
                "Lines without a payout txid for %(period)s total %(stated)s sats; receipts from %(first)s "
                "to %(last)s not matched by txid total %(received)s sats."
            )
            % {
                "period": _period(days),
                "stated": stated,
                "first": first.isoformat(),
                "last": last.isoformat(),
                "received": received,
            },
        )
    ]


def _report_vs_coinbase(report_net, counted, pending, differs) -> list[Mismatch]:
    mined: dict[dt.date, int] = defaultdict(int)
    for txid in sorted(counted):
        group = counted[txid]
        if all(r.coinbase for r in group):
            for receipt in counted.pop(txid):
                mined[receipt_day(receipt)] += receipt.units
    waiting: dict[dt.date | None, int] = defaultdict(int)
    for receipt in pending:
        waiting[receipt_day(receipt)] += receipt.units
    found = []
    for day in sorted(set(report_net) | set(mined)):
        received, report = mined.get(day, 0), report_net.get(day, 0)
        if differs(received, report):
            found.append(
                Mismatch(
                    day,
                    MismatchKind.REPORT_VS_RECEIPTS,
                    received,
                    report,
                    _(
                        "%(day)s: reported %(report)s sats, mature coinbase outputs %(received)s sats "
                        "(%(waiting)s sats pending maturity)."
                    )
                    % {
                        "day": day.isoformat(),
                        "report": report,
                        "received": received,
                        "waiting": waiting.get(day, 0),
                    },
                )
            )
    return found


def _period(days: list[dt.date]) -> str:
    if days[0] == days[-1]:
        return days[0].isoformat()
    return f"{days[0].isoformat()}…{days[-1].isoformat()}"


def _add(total: int | None, value: int | None) -> int | None:
    return None if total is None or value is None else total + value


def _check_sats(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{what} must be a non-negative int of satoshi, not {value!r}")
    return value
