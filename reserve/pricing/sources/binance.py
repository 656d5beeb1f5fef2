"""Binance's symbol price ticker (``GET /api/v3/ticker/price?symbol=BTCUSDT``), one request per symbol.

The body is ``{"symbol": "BTCUSDT", "price": "4.00000200"}``: the price is a decimal string, read
exactly. Binance gives no market time (``market_time`` is ``None``).

``ids`` maps ``"ASSET/CURRENCY"`` to Binance's symbol. Binance lists no USD pairs: by default a USD
price is the USDT pair's (``"BTC/USD": "BTCUSDT"``), i.e. USDT is taken at par; a depeg shows as an
outlier against the other sources in :func:`reserve.pricing.median.choose_price`. There is no
default for USDT itself.

Errors: 400 with code -1121 ("Invalid symbol.") is UNKNOWN_ASSET; 429 is RATE_LIMITED (by
:class:`~reserve.external.http.Http`) and so is 418 (Binance's ban after ignored 429s), with
``Retry-After`` kept; any other status is HTTP_ERROR.
"""

from __future__ import annotations

from datetime import datetime

from reserve.external.http import Failure, SourceError, parse_retry_after
from reserve.pricing.sources.base import AS_STRING, PriceSource, Quote, body_detail, parse_price

INVALID_SYMBOL = -1121


class Binance(PriceSource):
    code = "binance"
    default_base_url = "https://api.binance.com"
    default_ids = {
        "BTC/USD": "BTCUSDT",
        "ETH/USD": "ETHUSDT",
        "BTC/EUR": "BTCEUR",
        "ETH/EUR": "ETHEUR",
    }

    def _fetch(self, symbols: list[str], currency: str, fetched_at: datetime) -> list[Quote]:
        wanted = {symbol: self.provider_id(f"{symbol}/{currency}") for symbol in symbols}
        return [self._one(symbol, currency, pair, fetched_at) for symbol, pair in wanted.items()]

    def _one(self, symbol: str, currency: str, pair: str, fetched_at: datetime) -> Quote:
        response, body = self.get_json("/api/v3/ticker/price", params={"symbol": pair})
        if response.status_code != 200:
            raise classify_error(response, body, pair)
        if not isinstance(body, dict) or body.get("symbol") != pair or "price" not in body:
            raise SourceError(Failure.MALFORMED, f"binance {pair}: {body_detail(response)}")
        return self.quote(
            symbol, currency, parse_price(body["price"], f"binance {pair}", AS_STRING), None, fetched_at
        )


def classify_error(response, body, pair: str) -> SourceError:
    status = response.status_code
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("msg") if isinstance(body, dict) else None
    detail = f"binance {pair}: status {status}, code {code}: {message}"
    if code == INVALID_SYMBOL:
        return SourceError(Failure.UNKNOWN_ASSET, detail, status=status)
    if status == 418:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return SourceError(Failure.RATE_LIMITED, detail, retry_after=retry_after, status=status)
    return SourceError(Failure.HTTP_ERROR, detail, status=status)
