"""Binance's price ticker against the recorded bodies and each failure class."""

from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, Limits, SourceError
from reserve.pricing.sources.binance import Binance
from tests.reserve.pricing.support import NOW, FakeClock, Recorder, body


def binance(recorder: Recorder, **kwargs) -> Binance:
    clock = FakeClock()
    return Binance(
        transport=recorder.transport, now=lambda: NOW, sleep=clock.sleep, monotonic=clock.monotonic, **kwargs
    )


def test_the_recorded_docs_example_gives_its_price_exactly():
    recorder = Recorder(body("binance_ticker_price_docs_example.json"))
    [quote] = binance(recorder, ids={"LTC/BTC": "LTCBTC"}).fetch(["LTC"], currency="BTC")
    assert (quote.asset, quote.currency, quote.price, quote.source) == (
        "LTC",
        "BTC",
        Decimal("4.00000200"),
        "binance",
    )
    assert str(quote.price) == "4.00000200"
    assert quote.market_time is None and quote.fetched_at == NOW
    request = recorder.requests[0]
    assert (request.url.host, request.url.path) == ("api.binance.com", "/api/v3/ticker/price")
    assert request.url.params["symbol"] == "LTCBTC"


def test_usd_is_asked_as_the_usdt_pair_one_request_per_symbol():
    def answer(request):
        symbol = request.url.params["symbol"]
        return httpx.Response(
            200, json={"symbol": symbol, "price": {"BTCUSDT": "65000.01", "ETHUSDT": "3500.5"}[symbol]}
        )

    recorder = Recorder(answer)
    quotes = binance(recorder).fetch(["BTC", "ETH", "BTC"])
    assert [(q.asset, q.price) for q in quotes] == [("BTC", Decimal("65000.01")), ("ETH", Decimal("3500.5"))]
    assert [r.url.params["symbol"] for r in recorder.requests] == ["BTCUSDT", "ETHUSDT"]


def test_the_recorded_invalid_symbol_error_is_an_unknown_asset():
    recorder = Recorder(body("binance_error_400_invalid_symbol.json", status=400))
    with pytest.raises(SourceError) as caught:
        binance(recorder).fetch(["BTC"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET and caught.value.status == 400
    assert len(recorder.requests) == 1


def test_a_symbol_without_an_id_is_unknown_without_asking():
    recorder = Recorder(body("binance_ticker_price_docs_example.json"))
    with pytest.raises(SourceError) as caught:
        binance(recorder).fetch(["USDT"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_the_recorded_429_is_rate_limited_with_retry_after_and_not_retried():
    recorder = Recorder(body("binance_error_429_too_much_request_weight.json", 429, {"Retry-After": "60"}))
    with pytest.raises(SourceError) as caught:
        binance(recorder).fetch(["BTC"])
    assert caught.value.failure is Failure.RATE_LIMITED and caught.value.retry_after == 60.0
    assert len(recorder.requests) == 1


def test_a_418_ban_is_rate_limited_with_retry_after():
    recorder = Recorder(
        httpx.Response(418, json={"code": -1003, "msg": "banned"}, headers={"Retry-After": "120"})
    )
    with pytest.raises(SourceError) as caught:
        binance(recorder).fetch(["BTC"])
    assert caught.value.failure is Failure.RATE_LIMITED and caught.value.retry_after == 120.0


def test_another_status_is_an_http_error():
    with pytest.raises(SourceError) as caught:
        binance(Recorder(httpx.Response(403, content=b"forbidden"))).fetch(["BTC"])
    assert caught.value.failure is Failure.HTTP_ERROR and caught.value.status == 403


def test_5xx_is_retried_then_an_http_error():
    recorder = Recorder(httpx.Response(503))
    with pytest.raises(SourceError) as caught:
        binance(recorder, limits=Limits(attempts=3)).fetch(["BTC"])
    assert caught.value.failure is Failure.HTTP_ERROR
    assert len(recorder.requests) == 3


@pytest.mark.parametrize(
    "content",
    [
        body("binance_ticker_price_docs_example.json").content[:20],  # truncated
        b"\x00\x01garbage",
        b'{"symbol": "BTCUSDT"}',
        b'{"symbol": "ETHUSDT", "price": "3500.5"}',  # not the symbol asked
        b'{"symbol": "BTCUSDT", "price": "-1"}',
        b'{"symbol": "BTCUSDT", "price": "Infinity"}',
        b'{"symbol": "BTCUSDT", "price": null}',
    ],
)
def test_a_bad_body_is_malformed(content):
    with pytest.raises(SourceError) as caught:
        binance(Recorder(httpx.Response(200, content=content))).fetch(["BTC"])
    assert caught.value.failure is Failure.MALFORMED


@pytest.mark.parametrize(
    ("error", "failure"),
    [(httpx.ConnectError("refused"), Failure.UNREACHABLE), (httpx.ReadTimeout("slow"), Failure.TIMEOUT)],
)
def test_transport_failures(error, failure):
    with pytest.raises(SourceError) as caught:
        binance(Recorder(error)).fetch(["BTC"])
    assert caught.value.failure is failure
