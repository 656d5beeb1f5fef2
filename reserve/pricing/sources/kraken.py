"""Kraken's public Ticker (``GET /0/public/Ticker?pair=XXBTZUSD,XETHZUSD``).

The body is ``{"error": [...], "result": {PAIR: {"c": [last trade price, lot volume], ...}}}``;
the price is ``c[0]``, a decimal string read exactly. The parser is pair-generic: ``ids`` maps
``"ASSET/CURRENCY"`` to Kraken's pair name (the key Kraken answers under), e.g. ``"BTC/EUR":
"XXBTZEUR"``. Kraken gives no market time (``market_time`` is ``None``).

Kraken answers errors in the ``error`` list, usually with status 200: an unknown pair
(``EQuery:Unknown asset pair``) or rejected arguments (``EGeneral:Invalid arguments``: the pair
names are our only argument) are UNKNOWN_ASSET; ``EAPI:Rate limit exceeded`` and ``EGeneral:Too
many requests`` are RATE_LIMITED; any other error is HTTP_ERROR.
"""

from __future__ import annotations

from datetime import datetime

from reserve.external.http import Failure, SourceError
from reserve.pricing.sources.base import AS_STRING, PriceSource, Quote, body_detail, parse_price

UNKNOWN_PAIR_ERRORS = ("EQuery:Unknown asset pair", "EGeneral:Invalid arguments")
RATE_LIMIT_ERRORS = ("EAPI:Rate limit exceeded", "EGeneral:Too many requests")


class Kraken(PriceSource):
    code = "kraken"
    default_base_url = "https://api.kraken.com"
    default_ids = {
        "BTC/USD": "XXBTZUSD",
        "ETH/USD": "XETHZUSD",
        "USDT/USD": "USDTZUSD",
        "BTC/EUR": "XXBTZEUR",
        "ETH/EUR": "XETHZEUR",
        "USDT/EUR": "USDTEUR",
    }

    def _fetch(self, symbols: list[str], currency: str, fetched_at: datetime) -> list[Quote]:
        pairs = {symbol: self.provider_id(f"{symbol}/{currency}") for symbol in symbols}
        response, body = self.get_json("/0/public/Ticker", params={"pair": ",".join(pairs.values())})
        if body is None:
            raise SourceError(
                Failure.HTTP_ERROR, f"kraken: status {response.status_code}", status=response.status_code
            )
        if not isinstance(body, dict):
            raise SourceError(Failure.MALFORMED, f"kraken: not an object: {body_detail(response)}")
        errors = body.get("error")
        if not isinstance(errors, list):
            raise SourceError(Failure.MALFORMED, f"kraken: no error list: {body_detail(response)}")
        if errors:
            raise classify_errors([str(e) for e in errors], response.status_code)
        if response.status_code != 200:
            raise SourceError(
                Failure.HTTP_ERROR, f"kraken: status {response.status_code}", status=response.status_code
            )
        result = body.get("result")
        if not isinstance(result, dict):
            raise SourceError(Failure.MALFORMED, f"kraken: no result object: {body_detail(response)}")
        quotes = []
        for symbol, pair in pairs.items():
            ticker = result.get(pair)
            if ticker is None:
                raise SourceError(Failure.UNKNOWN_ASSET, f"kraken: no ticker for {pair} in the answer")
            last = ticker.get("c") if isinstance(ticker, dict) else None
            if not isinstance(last, list) or not last:
                raise SourceError(Failure.MALFORMED, f"kraken: {pair} has no last trade (c)")
            quotes.append(
                self.quote(
                    symbol, currency, parse_price(last[0], f"kraken {pair}", AS_STRING), None, fetched_at
                )
            )
        return quotes


def classify_errors(errors: list[str], status: int) -> SourceError:
    detail = "kraken: " + "; ".join(errors)
    if any(e.startswith(RATE_LIMIT_ERRORS) for e in errors):
        return SourceError(Failure.RATE_LIMITED, detail, status=status)
    if any(e.startswith(UNKNOWN_PAIR_ERRORS) for e in errors):
        return SourceError(Failure.UNKNOWN_ASSET, detail, status=status)
    return SourceError(Failure.HTTP_ERROR, detail, status=status)
