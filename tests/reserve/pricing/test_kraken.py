"""Kraken's Ticker against the recorded body (EUR pairs) and each failure class."""

from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, Limits, SourceError
from reserve.pricing.sources.kraken import Kraken
from tests.reserve.pricing.support import NOW, FakeClock, Recorder, body


def kraken(recorder: Recorder, **kwargs) -> Kraken:
    clock = FakeClock()
    return Kraken(
        transport=recorder.transport, now=lambda: NOW, sleep=clock.sleep, monotonic=clock.monotonic, **kwargs
    )


def test_the_recorded_ticker_gives_the_last_trade_price_of_each_pair_exactly():
    recorder = Recorder(body("kraken_ticker_xethzeur_xxbtzeur.json"))
    quotes = kraken(recorder).fetch(["BTC", "eth"], currency="EUR")
    assert [(q.asset, q.currency, q.price, q.source) for q in quotes] == [
        ("BTC", "EUR", Decimal("2352.64300"), "kraken"),
        ("ETH", "EUR", Decimal("157.03003"), "kraken"),
    ]
    assert all(q.market_time is None and q.fetched_at == NOW for q in quotes)
    request = recorder.requests[0]
    assert request.url.host == "api.kraken.com"
    assert request.url.path == "/0/public/Ticker"
    assert request.url.params["pair"] == "XXBTZEUR,XETHZEUR"


def test_the_default_ids_ask_for_the_usd_pairs():
    recorder = Recorder(
        httpx.Response(200, json={"error": [], "result": {"XXBTZUSD": {"c": ["65000.1", "1"]}}})
    )
    [quote] = kraken(recorder).fetch(["BTC"])
    assert recorder.requests[0].url.params["pair"] == "XXBTZUSD"
    assert quote.price == Decimal("65000.1") and quote.currency == "USD"


def test_ids_are_configurable():
    recorder = Recorder(httpx.Response(200, json={"error": [], "result": {"SOLUSD": {"c": ["150.25", "1"]}}}))
    [quote] = kraken(recorder, ids={"SOL/USD": "SOLUSD"}).fetch(["SOL"])
    assert quote.asset == "SOL" and quote.price == Decimal("150.25")


def test_a_symbol_without_an_id_is_unknown_without_asking():
    recorder = Recorder(body("kraken_ticker_xethzeur_xxbtzeur.json"))
    with pytest.raises(SourceError) as caught:
        kraken(recorder).fetch(["DOGE"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_the_recorded_invalid_arguments_error_is_an_unknown_asset():
    with pytest.raises(SourceError) as caught:
        kraken(Recorder(body("kraken_error_invalid_arguments.json"))).fetch(["BTC"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert "EGeneral:Invalid arguments" in caught.value.detail


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        ("EQuery:Unknown asset pair", Failure.UNKNOWN_ASSET),
        ("EAPI:Rate limit exceeded", Failure.RATE_LIMITED),
        ("EService:Unavailable", Failure.HTTP_ERROR),
    ],
)
def test_kraken_error_lists_are_classified(error, failure):
    with pytest.raises(SourceError) as caught:
        kraken(Recorder(httpx.Response(200, json={"error": [error]}))).fetch(["BTC"])
    assert caught.value.failure is failure


def test_a_429_is_rate_limited_with_retry_after():
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "12"}))
    with pytest.raises(SourceError) as caught:
        kraken(recorder).fetch(["BTC"])
    assert caught.value.failure is Failure.RATE_LIMITED and caught.value.retry_after == 12.0
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "content",
    [
        body("kraken_ticker_xethzeur_xxbtzeur.json").content[:300],  # truncated
        b"<html>502 Bad Gateway</html>",
        b"[]",
        b'{"error": [], "result": {"XXBTZUSD": {"c": []}}}',
        b'{"error": [], "result": {"XXBTZUSD": {"c": ["abc", "1"]}}}',
        b'{"error": [], "result": {"XXBTZUSD": {"c": ["0.00000", "1"]}}}',
        b'{"error": [], "result": {"XXBTZUSD": {"c": [65000.1, "1"]}}}',
        b'{"error": []}',
    ],
)
def test_a_bad_body_is_malformed(content):
    with pytest.raises(SourceError) as caught:
        kraken(Recorder(httpx.Response(200, content=content))).fetch(["BTC"])
    assert caught.value.failure is Failure.MALFORMED


def test_a_pair_missing_from_the_answer_is_unknown():
    recorder = Recorder(body("kraken_ticker_xethzeur_xxbtzeur.json"))
    with pytest.raises(SourceError) as caught:
        kraken(recorder, ids={"BTC/EUR": "XXBTZEUR", "LTC/EUR": "XLTCZEUR"}).fetch(
            ["BTC", "LTC"], currency="EUR"
        )
    assert caught.value.failure is Failure.UNKNOWN_ASSET


@pytest.mark.parametrize(
    ("error", "failure"),
    [(httpx.ConnectError("refused"), Failure.UNREACHABLE), (httpx.ReadTimeout("slow"), Failure.TIMEOUT)],
)
def test_transport_failures(error, failure):
    recorder = Recorder(error)
    with pytest.raises(SourceError) as caught:
        kraken(recorder, limits=Limits(attempts=2)).fetch(["BTC"])
    assert caught.value.failure is failure
    assert len(recorder.requests) == 2
