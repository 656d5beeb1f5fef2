"""One price from several sources' quotes: pure functions, no I/O.

:func:`choose_price` drops the stale quotes (older than ``max_age`` by their market time, or by
when they were fetched when the provider gives none), takes the median of the fresh ones, rejects
as outliers those farther than ``max_spread`` (a fraction: ``Decimal("0.05")`` is 5 %) from that
median, and answers the median of the quotes kept. With no quote left the price is ``None`` and
``unpriced_reason`` says why, source by source (the caller passes each failed source's
:class:`SourceError` in ``failures``). **A missing price is never zero.**

Rounding: none. The median of an even count is the mean of the two middle values; a sum of two
Decimals and a halving are exact at the precision used (60 digits, far above any price), and the
computation traps ``Inexact`` so that it would fail rather than round silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, Inexact, localcontext

from reserve.external.http import SourceError
from reserve.pricing.sources.base import Quote

STALE = "stale"
OUTLIER = "outlier"


@dataclass(frozen=True)
class Choice:
    """The chosen price (``None`` when there is none, with ``unpriced_reason``), the quotes it was
    made of, and the quotes rejected with why ("stale" or "outlier")."""

    price: Decimal | None
    used: list[Quote] = field(default_factory=list)
    rejected: list[tuple[Quote, str]] = field(default_factory=list)
    unpriced_reason: str | None = None


def median(values: Iterable[Decimal]) -> Decimal:
    """The exact median; of an even count the mean of the two middle values (no rounding)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("the median of nothing")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[Inexact] = True
        return (ordered[middle - 1] + ordered[middle]) / 2


def choose_price(
    quotes: Iterable[Quote],
    *,
    max_spread: Decimal,
    now: datetime,
    max_age: timedelta,
    failures: Mapping[str, SourceError] | None = None,
) -> Choice:
    """The price of one asset in one currency from the quotes of several sources.

    Every quote must be of the same asset and currency (else ``ValueError``: a caller's mistake).
    ``failures`` maps the codes of the sources that gave no quote to their error; they only feed
    ``unpriced_reason``.
    """
    quotes = list(quotes)
    if len({(q.asset, q.currency) for q in quotes}) > 1:
        raise ValueError("choose_price takes the quotes of one asset in one currency")
    if max_spread < 0:
        raise ValueError("max_spread is a fraction >= 0")
    rejected: list[tuple[Quote, str]] = []
    fresh = []
    for quote in quotes:
        age = now - (quote.market_time or quote.fetched_at)
        if age > max_age:
            rejected.append((quote, STALE))
        else:
            fresh.append(quote)
    used: list[Quote] = []
    if fresh:
        middle = median(q.price for q in fresh)
        with localcontext() as ctx:
            ctx.prec = 60
            ctx.traps[Inexact] = True
            limit = middle * max_spread
            for quote in fresh:
                if abs(quote.price - middle) > limit:
                    rejected.append((quote, OUTLIER))
                else:
                    used.append(quote)
    if used:
        return Choice(price=median(q.price for q in used), used=used, rejected=rejected)
    return Choice(price=None, used=[], rejected=rejected, unpriced_reason=_reason(failures or {}, rejected))


def _reason(failures: Mapping[str, SourceError], rejected: list[tuple[Quote, str]]) -> str:
    parts = [f"{code} {error.failure}" for code, error in failures.items()]
    parts += [f"{quote.source} {why}" for quote, why in rejected]
    if not parts:
        return "no fresh quote: no source answered"
    head = "no agreeing quotes" if any(why == OUTLIER for _, why in rejected) else "no fresh quote"
    return f"{head}: {', '.join(parts)}"
