"""CoinGecko's simple price against the recorded bodies and each failure class."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, SourceError
from reserve.pricing.sources.coingecko import CoinGecko
from tests.reserve.pricing.support import NOW, FakeClock, Recorder, body


def coingecko(recorder: Recorder, **kwargs) -> CoinGecko:
    clock = FakeClock()
    return CoinGecko(
        transport=recorder.transport, now=lambda: NOW, sleep=clock.sleep, monotonic=clock.monotonic, **kwargs
    )


def test_the_recorded_fixture_gives_a_decimal_price_exactly():
    recorder = Recorder(body("coingecko_simple_price_bitcoin_usd_fixture.json"))
    [quote] = coingecko(recorder).fetch(["BTC"])
    assert (quote.asset, quote.currency, quote.source) == ("BTC", "USD", "coingecko")
    assert quote.price == Decimal("7984.89") and isinstance(quote.price, Decimal)
    assert str(quote.price) == "7984.89"
    assert quote.market_time is None  # the fixture has no last_updated_at
    params = recorder.requests[0].url.params
    assert recorder.requests[0].url.path == "/api/v3/simple/price"
    assert (params["ids"], params["vs_currencies"], params["include_last_updated_at"]) == (
        "bitcoin",
        "usd",
        "true",
    )


def test_last_updated_at_is_the_market_time():
    answer = {"bitcoin": {"usd": 65000.12, "last_updated_at": 1772452800}, "ethereum": {"usd": 3500}}
    quotes = coingecko(Recorder(httpx.Response(200, json=answer))).fetch(["BTC", "ETH"])
    assert quotes[0].market_time == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert quotes[1].price == Decimal(3500) and quotes[1].market_time is None


def test_a_market_time_older_than_max_age_is_stale():
    old = int((NOW - timedelta(minutes=30)).timestamp())
    recorder = Recorder(httpx.Response(200, json={"bitcoin": {"usd": 65000, "last_updated_at": old}}))
    with pytest.raises(SourceError) as caught:
        coingecko(recorder, max_age=timedelta(minutes=10)).fetch(["BTC"])
    assert caught.value.failure is Failure.STALE


def test_a_market_time_within_max_age_is_fresh():
    recent = int((NOW - timedelta(minutes=5)).timestamp())
    recorder = Recorder(httpx.Response(200, json={"bitcoin": {"usd": 65000, "last_updated_at": recent}}))
    [quote] = coingecko(recorder, max_age=timedelta(minutes=10)).fetch(["BTC"])
    assert quote.price == Decimal(65000)


@pytest.mark.parametrize("answer", [{}, {"bitcoin": {}}])
def test_an_id_or_currency_left_out_of_the_answer_is_unknown(answer):
    with pytest.raises(SourceError) as caught:
        coingecko(Recorder(httpx.Response(200, json=answer))).fetch(["BTC"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET


def test_a_symbol_without_an_id_is_unknown_without_asking():
    recorder = Recorder(body("coingecko_simple_price_bitcoin_usd_fixture.json"))
    with pytest.raises(SourceError) as caught:
        coingecko(recorder).fetch(["DOGE"])
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_the_recorded_429_is_rate_limited_with_retry_after():
    recorder = Recorder(body("coingecko_error_429_rate_limit.json", 429, {"Retry-After": "45"}))
    with pytest.raises(SourceError) as caught:
        coingecko(recorder).fetch(["BTC"])
    assert caught.value.failure is Failure.RATE_LIMITED and caught.value.retry_after == 45.0
    assert len(recorder.requests) == 1


def test_the_rate_limit_body_under_another_status_is_still_rate_limited():
    with pytest.raises(SourceError) as caught:
        coingecko(Recorder(body("coingecko_error_429_rate_limit.json", 200))).fetch(["BTC"])
    assert caught.value.failure is Failure.RATE_LIMITED


def test_another_status_is_an_http_error():
    with pytest.raises(SourceError) as caught:
        coingecko(Recorder(httpx.Response(401, json={"error": "key"}))).fetch(["BTC"])
    assert caught.value.failure is Failure.HTTP_ERROR and caught.value.status == 401


@pytest.mark.parametrize(
    "content",
    [
        body("coingecko_simple_price_bitcoin_usd_fixture.json").content[:15],  # truncated
        b"garbage",
        b'{"bitcoin": {"usd": null}}',
        b'{"bitcoin": {"usd": "7984.89"}}',
        b'{"bitcoin": {"usd": 0}}',
        b'{"bitcoin": {"usd": true}}',
        b'{"bitcoin": "7984.89"}',
        b'{"bitcoin": {"usd": 7984.89, "last_updated_at": "yesterday"}}',
    ],
)
def test_a_bad_body_is_malformed(content):
    with pytest.raises(SourceError) as caught:
        coingecko(Recorder(httpx.Response(200, content=content))).fetch(["BTC"])
    assert caught.value.failure is Failure.MALFORMED


@pytest.mark.parametrize(
    ("error", "failure"),
    [(httpx.ConnectError("refused"), Failure.UNREACHABLE), (httpx.ReadTimeout("slow"), Failure.TIMEOUT)],
)
def test_transport_failures(error, failure):
    with pytest.raises(SourceError) as caught:
        coingecko(Recorder(error)).fetch(["BTC"])
    assert caught.value.failure is failure
