"""Reads of mining's records: the verification of an output report against the expected output.

Conventions of :func:`verify_report`:

* **Hashrate.** A daily line's ``average_hashrate_hs`` is the average over the whole local day,
  downtime included (what a pool reports), so it is used directly; ``uptime_percent`` is shown,
  never multiplied in (that would count the downtime twice).
* **What is compared.** The expected output is what the hashrate earns before the pool's fee,
  so it is compared with the reported **gross** output. Efficiency per MWh and the energy cost
  per BTC use the **net** output (what reaches the reserve).
* **Fees per block** come from ``settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS`` unless given.
* **Exactness and rounding.** Every figure is computed as a ``Fraction`` and rounded once, half
  to even, to the places in :data:`PLACES` (expected output: whole satoshis, as in
  :mod:`mining.expected`). The total's expected output is the exact sum of the days, rounded once.
* **Tolerance.** A day (or the total) is out of tolerance when ``|deviation %|`` is strictly
  above the site's ``tolerance_percent``; with no expected output (zero hashrate) any reported
  output is out of tolerance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.conf import settings

from mining.chaindata import Epoch, shipped_halvings
from mining.expected import ExpectedOutputError, expected_output, local_day_bounds
from mining.models import OutputReport

#: Decimal places of each derived figure (rounded once, half to even).
PLACES = {
    "deviation_percent": 4,
    "implied_hashrate_hs": 0,
    "j_per_th": 2,
    "btc_per_mwh": 8,
    "kzt_per_btc": 2,
}
JOULES_PER_MWH = 3_600_000_000
SATS_PER_BTC = 100_000_000
HASHES_PER_TH = 10**12


def to_decimal(value: Fraction | None, places: int) -> Decimal | None:
    """``value`` rounded once, half to even, to ``places`` decimals."""
    if value is None:
        return None
    scaled = round(value * 10**places)
    return Decimal(scaled).scaleb(-places)


def _ratio(numerator: Fraction, denominator: Fraction) -> Fraction | None:
    return None if denominator == 0 else numerator / denominator


@dataclass(frozen=True)
class Figures:
    """Verification figures of one day or of the whole report."""

    expected_sats: int | None
    btc_gross: int
    btc_net: int
    deviation_sats: int | None
    deviation_percent: Decimal | None
    implied_hashrate_hs: Decimal | None
    energy_mwh: Decimal
    j_per_th: Decimal | None
    btc_per_mwh: Decimal | None
    kzt_per_btc: Decimal | None
    exceeds_tolerance: bool | None


@dataclass(frozen=True)
class DayVerification:
    day: dt.date
    line_id: int
    average_hashrate_hs: Decimal
    uptime_percent: Decimal
    figures: Figures
    error: str = ""  # why no expected output could be computed for the day


@dataclass(frozen=True)
class ReportVerification:
    report_id: int
    tolerance_percent: Decimal
    fees_per_block_sats: int
    days: tuple[DayVerification, ...]
    missing_days: tuple[dt.date, ...]
    total: Figures

    @property
    def exceeds_tolerance(self) -> bool:
        return bool(self.total.exceeds_tolerance) or any(d.figures.exceeds_tolerance for d in self.days)


def _figures(
    *,
    expected_exact: Fraction | None,
    hash_seconds: Fraction,
    gross: int,
    net: int,
    energy_mwh: Decimal,
    cost_kzt: Decimal,
    tolerance: Decimal,
    expected_per_hash: Fraction | None,
) -> Figures:
    """``hash_seconds`` = Σ hashrate × seconds (hashes); ``expected_per_hash`` = expected sats
    per H/s held over the same time."""
    expected = None if expected_exact is None else round(expected_exact)
    deviation = None if expected_exact is None else Fraction(gross) - expected_exact
    percent = None if deviation is None else _ratio(deviation * 100, expected_exact)
    if expected_exact is None:
        exceeds = None
    elif percent is None:
        exceeds = gross > 0
    else:
        exceeds = abs(percent) > Fraction(tolerance)
    implied = None if expected_per_hash is None else _ratio(Fraction(gross), expected_per_hash)
    energy_j = Fraction(energy_mwh) * JOULES_PER_MWH
    return Figures(
        expected_sats=expected,
        btc_gross=gross,
        btc_net=net,
        deviation_sats=None if deviation is None else round(deviation),
        deviation_percent=to_decimal(percent, PLACES["deviation_percent"]),
        implied_hashrate_hs=to_decimal(implied, PLACES["implied_hashrate_hs"]),
        energy_mwh=energy_mwh,
        j_per_th=to_decimal(_ratio(energy_j * HASHES_PER_TH, hash_seconds), PLACES["j_per_th"]),
        btc_per_mwh=to_decimal(
            _ratio(Fraction(net, SATS_PER_BTC), Fraction(energy_mwh)), PLACES["btc_per_mwh"]
        ),
        kzt_per_btc=to_decimal(
            _ratio(Fraction(cost_kzt), Fraction(net, SATS_PER_BTC)), PLACES["kzt_per_btc"]
        ),
        exceeds_tolerance=exceeds,
    )


def verify_report(
    report: OutputReport,
    *,
    fees_per_block_sats: int | None = None,
    epochs: tuple[Epoch, ...] | None = None,
) -> ReportVerification:
    """Expected vs reported output, per day and in total, with efficiency figures."""
    return verify_lines(
        report, list(report.lines.order_by("day")), fees_per_block_sats=fees_per_block_sats, epochs=epochs
    )


def _epochs_around(epochs, start: dt.datetime, end: dt.datetime) -> list[Epoch]:
    """The epochs a computation over ``[start, end)`` can touch: the last one begun by ``start``
    through the first one after ``end`` (or the first without a start time), in height order.
    The result of :func:`mining.expected.expected_output` over any day inside is the same as
    with every epoch, but each day's computation no longer walks the whole table."""
    ordered = sorted(epochs, key=lambda e: e.start_height)
    first = 0
    for i, epoch in enumerate(ordered):
        if epoch.start_time is not None and epoch.start_time <= start:
            first = i
        else:
            break
    last = len(ordered) - 1
    for i in range(first + 1, len(ordered)):
        if ordered[i].start_time is None or ordered[i].start_time > end:
            last = i
            break
    return ordered[first : last + 1]


def verify_lines(
    report: OutputReport,
    lines: list,
    *,
    fees_per_block_sats: int | None = None,
    epochs: tuple[Epoch, ...] | None = None,
) -> ReportVerification:
    """:func:`verify_report` of the given lines of ``report`` (saved or not, in day order): an
    import previews the verification of its file's days with it, writing nothing.

    The epochs are read once and narrowed to the report's period; each day's expected output
    is computed once, at 1 H/s, and scaled by the day's hashrate (exact: the output is linear
    in the hashrate)."""
    site = report.site
    fees = settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS if fees_per_block_sats is None else fees_per_block_sats
    tolerance = site.tolerance_percent
    lines = sorted(lines, key=lambda line: line.day)
    if epochs is None:
        from mining.expected import bitcoin_epochs

        epochs = bitcoin_epochs()
    if lines:
        window_start, _ = local_day_bounds(lines[0].day, site.timezone)
        _, window_end = local_day_bounds(lines[-1].day, site.timezone)
        epochs = _epochs_around(epochs, window_start, window_end)
    halvings = shipped_halvings()

    days = []
    all_known = True
    total_expected = Fraction(0)
    total_per_hash = Fraction(0)
    total_hash_seconds = Fraction(0)
    for line in lines:
        rate = Fraction(line.average_hashrate_hs)
        start, end = local_day_bounds(line.day, site.timezone)
        hash_seconds = rate * int((end - start).total_seconds())
        error = ""
        try:
            # Expected sats per H/s held all day (exact); the day's output is linear in it.
            per_hash = expected_output(
                day=line.day,
                hashrate_hs=1,
                fees_per_block_sats=fees,
                tz=site.timezone,
                epochs=epochs,
                halvings=halvings,
            ).exact_sats
            expected_exact = rate * per_hash
        except ExpectedOutputError as exc:
            expected_exact = per_hash = None
            error = str(exc)
            all_known = False
        else:
            total_expected += expected_exact
            total_per_hash += per_hash
        total_hash_seconds += hash_seconds
        days.append(
            DayVerification(
                day=line.day,
                line_id=line.pk,
                average_hashrate_hs=line.average_hashrate_hs,
                uptime_percent=line.uptime_percent,
                figures=_figures(
                    expected_exact=expected_exact,
                    hash_seconds=hash_seconds,
                    gross=line.btc_gross,
                    net=line.btc_net,
                    energy_mwh=line.energy_mwh,
                    cost_kzt=line.energy_cost_kzt,
                    tolerance=tolerance,
                    expected_per_hash=per_hash,
                ),
                error=error,
            )
        )
    reported = {line.day for line in lines}
    span = (report.period_end - report.period_start).days + 1
    missing = tuple(
        d for d in (report.period_start + dt.timedelta(days=i) for i in range(span)) if d not in reported
    )
    # The implied hashrate of the total is the average over the reported days: Σ gross ÷ Σ
    # (expected sats per H/s of each day).
    total = _figures(
        expected_exact=total_expected if all_known and lines else None,
        hash_seconds=total_hash_seconds,
        gross=sum(line.btc_gross for line in lines),
        net=sum(line.btc_net for line in lines),
        energy_mwh=sum((line.energy_mwh for line in lines), Decimal(0)),
        cost_kzt=sum((line.energy_cost_kzt for line in lines), Decimal(0)),
        tolerance=tolerance,
        expected_per_hash=total_per_hash if all_known and lines else None,
    )
    return ReportVerification(
        report_id=report.pk,
        tolerance_percent=tolerance,
        fees_per_block_sats=fees,
        days=tuple(days),
        missing_days=missing,
        total=total,
    )
