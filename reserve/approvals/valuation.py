"""The value the engine puts on a request, for policies that match on value.

The engine fills ``MatchFacts.valuation`` here, in one place, so that no request kind computes
a value itself: a kind states the asset and the amount; the engine asks the valuer. The valuer
is registered by the app that knows prices (the pricing package, from its ``ready()``); with
none registered, or no fresh price, the value is unknown and a value-bounded policy treats it
as unbounded (fail closed: the strictest tier applies).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from reserve.approvals.registry import MatchFacts

#: ``valuer(asset, units, currency) -> (value, source) | None``: the value of ``units`` smallest
#: units of ``asset`` in ``currency``, rounded to the cent, and a short text naming its source.
Valuer = Callable[[object, int, str], tuple[Decimal, str] | None]

_valuer: Valuer | None = None


def register_valuer(valuer: Valuer | None) -> Valuer | None:
    """Set (or, with None, remove) the function the engine values requests with; returns the
    one it replaces (so that a test can put it back)."""
    global _valuer
    previous, _valuer = _valuer, valuer
    return previous


def with_valuation(facts: MatchFacts, *, currency: str = "USD") -> MatchFacts:
    """``facts`` with its valuation filled in when the request moves a known amount of an asset
    and a price is known; unchanged otherwise (a kind's own valuation is never trusted over the
    engine's: it is replaced, or cleared when no price is known)."""
    value, source = None, ""
    if _valuer is not None and facts.asset is not None and facts.amount_units is not None:
        priced = _valuer(facts.asset, facts.amount_units, currency)
        if priced is not None:
            value, source = priced
    return dataclasses.replace(facts, valuation=value, valuation_source=source[:255])
