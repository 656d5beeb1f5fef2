"""Expected output of a hashrate over a site's local calendar day (pure, no writes).

Formula (DESIGN §5), per segment of constant difficulty and subsidy::

    hashrate[H/s] × seconds × (subsidy_sats + fees_per_block_sats) / (difficulty × 2^32)

with ``difficulty = 0xFFFF·2^208 / target`` exact from the epoch's ``bits``. The day is
``[00:00, 24:00)`` in the site's time zone, converted to UTC and split at every epoch start
and every halving that falls inside it. Segments are summed exactly (``Fraction``) and the sum
is rounded **once**, half to even, to whole satoshis (:data:`ROUNDING`).

Convention at a split: a new difficulty (or subsidy) applies from the **timestamp of the first
block** mined under it — the time given in the data. Strictly, the hashing towards that block
began one block interval earlier (about ten minutes); we split at the block's timestamp anyway,
because that is the one time the chain records. Block timestamps may be off by up to about two
hours from real time; the same holds for the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from mining.chaindata import HASHES_PER_DIFFICULTY, Epoch, Halving, shipped_halvings, subsidy_sats

ROUNDING = "ROUND_HALF_EVEN"
DEFAULT_TIMEZONE = "Asia/Almaty"


class ExpectedOutputError(ValueError):
    """A day or input the selector cannot compute for; the message is safe to show."""


@dataclass(frozen=True)
class Segment:
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive
    seconds: int
    epoch: int
    bits: int
    difficulty: Fraction
    subsidy_sats: int
    exact_sats: Fraction


@dataclass(frozen=True)
class ExpectedOutput:
    day: dt.date
    timezone: str
    start: dt.datetime
    end: dt.datetime
    hashrate_hs: Fraction
    fees_per_block_sats: int
    segments: tuple[Segment, ...]
    exact_sats: Fraction
    expected_sats: int
    rounding: str = ROUNDING

    @property
    def seconds(self) -> int:
        return sum(s.seconds for s in self.segments)


def round_sats(value: Fraction) -> int:
    """Whole satoshis, half to even (Python's ``round`` of a ``Fraction``)."""
    return round(value)


def segment_sats(
    *, hashrate_hs: Fraction, seconds: int, subsidy: int, fees: int, difficulty: Fraction
) -> Fraction:
    return hashrate_hs * seconds * (subsidy + fees) / (difficulty * HASHES_PER_DIFFICULTY)


def local_day_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = get_zone(tz)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    return start, end


def get_zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ExpectedOutputError(_("Unknown time zone: %(tz)s.") % {"tz": tz}) from exc


def _as_fraction(value: int | Decimal | Fraction, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        raise ExpectedOutputError(_("%(what)s must be a number.") % {"what": what})
    if isinstance(value, Decimal) and not value.is_finite():
        raise ExpectedOutputError(_("%(what)s must be a finite number.") % {"what": what})
    value = Fraction(value)
    if value < 0:
        raise ExpectedOutputError(_("%(what)s must not be negative.") % {"what": what})
    return value


def bitcoin_epochs() -> tuple[Epoch, ...]:
    """The Bitcoin epochs recorded in the database (shipped data plus a clerk's additions)."""
    from mining.models import NetworkEpoch

    return tuple(
        e.as_epoch() for e in NetworkEpoch.objects.filter(network="bitcoin").order_by("start_height")
    )


def expected_output(
    *,
    day: dt.date,
    hashrate_hs: int | Decimal,
    fees_per_block_sats: int,
    tz: str = DEFAULT_TIMEZONE,
    epochs: Sequence[Epoch] | None = None,
    halvings: Sequence[Halving] | None = None,
) -> ExpectedOutput:
    """Expected satoshis of ``hashrate_hs`` held for the whole local ``day`` in ``tz``."""
    start, end = local_day_bounds(day, tz)
    return expected_output_between(
        start=start,
        end=end,
        hashrate_hs=hashrate_hs,
        fees_per_block_sats=fees_per_block_sats,
        epochs=epochs,
        halvings=halvings,
        day=day,
        tz=tz,
    )


def expected_output_between(
    *,
    start: dt.datetime,
    end: dt.datetime,
    hashrate_hs: int | Decimal,
    fees_per_block_sats: int,
    epochs: Sequence[Epoch] | None = None,
    halvings: Sequence[Halving] | None = None,
    day: dt.date | None = None,
    tz: str = "UTC",
) -> ExpectedOutput:
    """The same over any UTC interval ``[start, end)`` (whole seconds)."""
    rate = _as_fraction(hashrate_hs, _("Hashrate"))
    if isinstance(fees_per_block_sats, bool) or not isinstance(fees_per_block_sats, int):
        raise ExpectedOutputError(_("Fees per block are whole satoshis."))
    if fees_per_block_sats < 0:
        raise ExpectedOutputError(_("Fees per block must not be negative."))
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        raise ExpectedOutputError(_("The interval must be aware and non-empty."))
    epochs = sorted(bitcoin_epochs() if epochs is None else epochs, key=lambda e: e.start_height)
    halvings = sorted(shipped_halvings() if halvings is None else halvings, key=lambda h: h.height)
    if not epochs or epochs[0].start_time is None:
        raise ExpectedOutputError(_("No network epochs are recorded."))
    if start < epochs[0].start_time:
        raise ExpectedOutputError(
            _("The day begins before the genesis block (%(genesis)s UTC).")
            % {"genesis": epochs[0].start_time.isoformat()}
        )

    cuts = {start, end}
    for item in [*epochs, *halvings]:
        t = item.start_time if isinstance(item, Epoch) else item.time
        if t is not None and start < t < end:
            cuts.add(t)
    points = sorted(cuts)

    segments = []
    for a, b in zip(points, points[1:], strict=False):
        index = max(i for i, e in enumerate(epochs) if e.start_time is not None and e.start_time <= a)
        epoch = epochs[index]
        following = epochs[index + 1] if index + 1 < len(epochs) else None
        if following is not None and following.start_time is None:
            raise ExpectedOutputError(
                _(
                    "The start time of epoch %(epoch)s (height %(height)s) is not recorded, so the "
                    "difficulty after %(after)s UTC is unknown; record it first."
                )
                % {
                    "epoch": following.epoch,
                    "height": following.start_height,
                    "after": epoch.start_time.isoformat(),
                }
            )
        last_height = following.start_height - 1 if following is not None else None
        subsidy = subsidy_sats(epoch.start_height)
        for h in halvings:
            if h.height <= epoch.start_height:
                continue
            if last_height is not None and h.height > last_height:
                break
            if h.time is None:
                raise ExpectedOutputError(
                    _("The time of the halving at height %(height)s is not known.") % {"height": h.height}
                )
            if h.time <= a:
                subsidy = h.subsidy_sats
        seconds = int((b - a).total_seconds())
        difficulty = epoch.difficulty
        segments.append(
            Segment(
                start=a,
                end=b,
                seconds=seconds,
                epoch=epoch.epoch,
                bits=epoch.bits,
                difficulty=difficulty,
                subsidy_sats=subsidy,
                exact_sats=segment_sats(
                    hashrate_hs=rate,
                    seconds=seconds,
                    subsidy=subsidy,
                    fees=fees_per_block_sats,
                    difficulty=difficulty,
                ),
            )
        )
    exact = sum((s.exact_sats for s in segments), Fraction(0))
    return ExpectedOutput(
        day=day,
        timezone=tz,
        start=start,
        end=end,
        hashrate_hs=rate,
        fees_per_block_sats=fees_per_block_sats,
        segments=tuple(segments),
        exact_sats=exact,
        expected_sats=round_sats(exact),
    )


def decimal_text(value: Fraction, places: int = 8) -> str:
    """``value`` as a decimal string with ``places`` decimals, half to even (for display only)."""
    quantum = Decimal(1).scaleb(-places)
    scaled = round(value * 10**places)
    return str((Decimal(scaled) * quantum).quantize(quantum))


def output_as_json(result: ExpectedOutput) -> dict:
    """A plain, auditable dict: every segment with its epoch, difficulty and subsidy."""
    return {
        "day": result.day.isoformat() if result.day else None,
        "timezone": result.timezone,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "expected_sats": result.expected_sats,
        "exact_sats": f"{result.exact_sats.numerator}/{result.exact_sats.denominator}",
        "hashrate_hs": decimal_text(result.hashrate_hs, 0)
        if result.hashrate_hs.denominator == 1
        else decimal_text(result.hashrate_hs),
        "fees_per_block_sats": result.fees_per_block_sats,
        "rounding": result.rounding,
        "segments": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "seconds": s.seconds,
                "epoch": s.epoch,
                "bits": f"{s.bits:08x}",
                "difficulty": decimal_text(s.difficulty),
                "subsidy_sats": s.subsidy_sats,
            }
            for s in result.segments
        ],
    }
