"""The interface every price source answers: :class:`Quote` and :class:`PriceSource`.

A source turns our symbols ("BTC") into the provider's ids with a small mapping (defaults for BTC,
ETH and USDT where the provider lists them; the constructor's ``ids`` replaces it), asks the
provider, and answers one :class:`Quote` per symbol, or raises a :class:`SourceError` classified by
:class:`Failure`:

- a symbol we have no id for, or that the provider does not know: ``UNKNOWN_ASSET``;
- a 429 (or the provider's own "too many requests"): ``RATE_LIMITED``, ``retry_after`` kept;
- a body that is not what the provider documents (not JSON, a missing field, a price that is not a
  positive finite number): ``MALFORMED``;
- a market time older than the ``max_age`` given to the constructor: ``STALE``;
- no connection, no answer in time, another status: ``UNREACHABLE``, ``TIMEOUT``, ``HTTP_ERROR``
  (from :class:`~reserve.external.http.Http`).

``fetch`` is all or nothing: one bad symbol fails the call (the detail names it). A caller that
wants one asset's failure kept apart from another's calls ``fetch`` once per symbol.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError, decode_json


def utc_now() -> datetime:
    return datetime.now(UTC)


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


@dataclass(frozen=True)
class Quote:
    """One provider's price of one unit of ``asset`` in ``currency``.

    ``market_time`` is when the provider says the price was made (``None`` when the provider does
    not say, e.g. Kraken's and Binance's tickers); ``fetched_at`` is when we asked. Both aware UTC.
    A quote's price is always a positive finite Decimal: a missing price is no quote, never zero.
    """

    asset: str
    currency: str
    price: Decimal
    source: str
    market_time: datetime | None
    fetched_at: datetime

    def __post_init__(self):
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"a quote's price is a positive finite Decimal, got {self.price!r}")
        _require_aware("market_time", self.market_time)
        _require_aware("fetched_at", self.fetched_at)


#: What a provider documents its prices as: a decimal string, or a JSON number (decoded by Http).
AS_STRING: tuple[type, ...] = (str,)
AS_NUMBER: tuple[type, ...] = (int, Decimal)


def parse_price(value: Any, where: str, kinds: tuple[type, ...]) -> Decimal:
    """The provider's price as an exact Decimal from what the provider documents (``kinds``): a
    decimal string ("2352.64300") or a JSON number already decoded as Decimal/int by :class:`Http`.
    Anything else, or a price that is not positive and finite, is MALFORMED (a zero price is never
    taken for a price)."""
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise SourceError(Failure.MALFORMED, f"{where}: price {value!r} is not a documented number")
    try:
        price = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise SourceError(Failure.MALFORMED, f"{where}: price {value!r} is not a number")
    if not price.is_finite() or price <= 0:
        raise SourceError(Failure.MALFORMED, f"{where}: price {value!r} is not a positive number")
    return price


def body_detail(response: httpx.Response, limit: int = 200) -> str:
    """The start of a body for an error's detail (never the whole of a large body)."""
    text = response.text.strip()
    return text[:limit] + ("…" if len(text) > limit else "")


class PriceSource(abc.ABC):
    """A provider of prices. Subclasses set ``code``, ``default_base_url`` and ``default_ids`` and
    implement :meth:`_fetch`.

    ``transport`` goes to :class:`Http` (tests pass an ``httpx.MockTransport``); ``sleep`` and
    ``monotonic`` are Http's backoff clock, ``now`` the wall clock of ``fetched_at`` and of the
    staleness check (all three for tests). ``max_age``: a quote whose market time is older is
    STALE; ``None`` checks nothing (and a provider that gives no market time is never stale here:
    :func:`reserve.pricing.median.choose_price` ages those by ``fetched_at``).
    """

    code: ClassVar[str]
    default_base_url: ClassVar[str]
    default_ids: ClassVar[Mapping[str, str]]

    def __init__(
        self,
        *,
        base_url: str | None = None,
        ids: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
        max_age: timedelta | None = None,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.base_url = base_url or self.default_base_url
        self.ids: dict[str, str] = dict(self.default_ids if ids is None else ids)
        self.max_age = max_age
        self.now = now
        self.http = Http(self.base_url, limits=limits, transport=transport, sleep=sleep, clock=monotonic)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def fetch(self, symbols: Iterable[str], *, currency: str = "USD") -> list[Quote]:
        """One quote per symbol (duplicates asked once), in the order asked; or a SourceError."""
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols))
        if not wanted:
            return []
        currency = currency.strip().upper()
        fetched_at = self.now()
        quotes = self._fetch(wanted, currency, fetched_at)
        self._check_fresh(quotes, fetched_at)
        return quotes

    @abc.abstractmethod
    def _fetch(self, symbols: list[str], currency: str, fetched_at: datetime) -> list[Quote]:
        """Ask the provider; symbols are upper case and distinct, currency upper case."""

    def get_json(self, path: str, params: dict[str, str]) -> tuple[httpx.Response, Any]:
        """The answer and its JSON; the body of a non-200 answer that is not JSON (an HTML error
        page) is ``None``, left for the adapter to classify by status."""
        response = self.http.request("GET", path, params=params)
        try:
            return response, decode_json(response)
        except SourceError:
            if response.status_code == 200:
                raise
            return response, None

    def provider_id(self, key: str) -> str:
        """The provider's id for one of our keys, or UNKNOWN_ASSET when the mapping has none."""
        try:
            return self.ids[key]
        except KeyError:
            raise SourceError(Failure.UNKNOWN_ASSET, f"{self.code}: no id for {key}")

    def quote(self, asset: str, currency: str, price: Decimal, market_time: datetime | None, fetched_at):
        return Quote(
            asset=asset,
            currency=currency,
            price=price,
            source=self.code,
            market_time=market_time,
            fetched_at=fetched_at,
        )

    def _check_fresh(self, quotes: list[Quote], now: datetime) -> None:
        if self.max_age is None:
            return
        old = [q for q in quotes if q.market_time is not None and now - q.market_time > self.max_age]
        if old:
            names = ", ".join(f"{q.asset} at {q.market_time.isoformat()}" for q in old)
            raise SourceError(Failure.STALE, f"{self.code}: older than {self.max_age}: {names}")
