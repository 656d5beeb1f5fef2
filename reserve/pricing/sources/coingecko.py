"""CoinGecko's simple price (``GET /api/v3/simple/price?ids=bitcoin&vs_currencies=usd&include_last_updated_at=true``).

The body is ``{"bitcoin": {"usd": 7984.89, "last_updated_at": 1711356300}}``: prices are JSON
numbers, decoded as Decimal by :class:`~reserve.external.http.Http` (never a float), and
``last_updated_at`` (Unix seconds) is the market time; a body without it gives ``market_time``
``None``. ``ids`` maps our symbol to CoinGecko's coin id (``"BTC": "bitcoin"``); the currency is
CoinGecko's ``vs_currency`` in lower case.

CoinGecko leaves an unknown coin id (or an unknown currency) out of the answer: UNKNOWN_ASSET. 429
is RATE_LIMITED (a 200 whose body says ``status.error_code`` 429 too); any other status is
HTTP_ERROR.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from reserve.external.http import Failure, SourceError
from reserve.pricing.sources.base import AS_NUMBER, PriceSource, Quote, body_detail, parse_price


class CoinGecko(PriceSource):
    code = "coingecko"
    default_base_url = "https://api.coingecko.com"
    default_ids = {"BTC": "bitcoin", "ETH": "ethereum", "USDT": "tether"}

    def _fetch(self, symbols: list[str], currency: str, fetched_at: datetime) -> list[Quote]:
        coins = {symbol: self.provider_id(symbol) for symbol in symbols}
        vs = currency.lower()
        params = {"ids": ",".join(coins.values()), "vs_currencies": vs, "include_last_updated_at": "true"}
        response, body = self.get_json("/api/v3/simple/price", params=params)
        status = body.get("status") if isinstance(body, dict) else None
        if isinstance(status, dict) and "error_code" in status:
            failure = Failure.RATE_LIMITED if status.get("error_code") == 429 else Failure.HTTP_ERROR
            raise SourceError(failure, f"coingecko: {body_detail(response)}", status=response.status_code)
        if response.status_code != 200:
            raise SourceError(
                Failure.HTTP_ERROR,
                f"coingecko: status {response.status_code}: {body_detail(response)}",
                status=response.status_code,
            )
        if not isinstance(body, dict):
            raise SourceError(Failure.MALFORMED, f"coingecko: not an object: {body_detail(response)}")
        quotes = []
        for symbol, coin in coins.items():
            entry = body.get(coin)
            if entry is None or (isinstance(entry, dict) and vs not in entry):
                raise SourceError(Failure.UNKNOWN_ASSET, f"coingecko: no {vs} price for {coin}")
            if not isinstance(entry, dict):
                raise SourceError(Failure.MALFORMED, f"coingecko: {coin} is not an object")
            price = parse_price(entry[vs], f"coingecko {coin}", AS_NUMBER)
            market_time = parse_unix(entry.get("last_updated_at"), coin)
            quotes.append(self.quote(symbol, currency, price, market_time, fetched_at))
        return quotes


def parse_unix(value, coin: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value <= 0:
        raise SourceError(Failure.MALFORMED, f"coingecko {coin}: last_updated_at {value!r}")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceError(Failure.MALFORMED, f"coingecko {coin}: last_updated_at {value!r}")
