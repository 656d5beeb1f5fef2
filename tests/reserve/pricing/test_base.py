"""The quote every source answers: exact, positive, aware; never a zero for a missing price."""

import dataclasses
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, SourceError
from reserve.pricing.sources.base import AS_NUMBER, AS_STRING, Quote, parse_price
from reserve.pricing.sources.kraken import Kraken
from tests.reserve.pricing.support import NOW, Recorder


def quote(**changes) -> Quote:
    fields = dict(
        asset="BTC", currency="USD", price=Decimal("65000.5"), source="x", market_time=None, fetched_at=NOW
    )
    return Quote(**{**fields, **changes})


def test_a_quote_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        quote().price = Decimal(1)


@pytest.mark.parametrize(
    "price", [Decimal(0), Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), 65000.5, 1]
)
def test_a_quote_has_a_positive_finite_decimal_price(price):
    with pytest.raises(ValueError):
        quote(price=price)


def test_a_quote_has_aware_times():
    with pytest.raises(ValueError):
        quote(fetched_at=datetime(2026, 3, 2, 12, 0))  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(ValueError):
        quote(market_time=datetime(2026, 3, 2, 12, 0))  # noqa: DTZ001


def test_prices_are_parsed_exactly_from_what_the_provider_documents():
    assert str(parse_price("2352.64300", "t", AS_STRING)) == "2352.64300"
    assert parse_price(Decimal("7984.89"), "t", AS_NUMBER) == Decimal("7984.89")
    for value, kinds in [
        ("1.5", AS_NUMBER),
        (Decimal("1.5"), AS_STRING),
        (True, AS_NUMBER),
        ("1e", AS_STRING),
    ]:
        with pytest.raises(SourceError) as caught:
            parse_price(value, "t", kinds)
        assert caught.value.failure is Failure.MALFORMED


def test_an_error_page_that_is_not_json_is_an_http_error_not_malformed():
    recorder = Recorder(httpx.Response(403, content=b"<html>Forbidden</html>"))
    with pytest.raises(SourceError) as caught:
        Kraken(transport=recorder.transport).fetch(["BTC"])
    assert caught.value.failure is Failure.HTTP_ERROR and caught.value.status == 403


def test_asking_for_nothing_asks_nobody():
    recorder = Recorder(httpx.Response(500))
    assert Kraken(transport=recorder.transport).fetch([]) == []
    assert recorder.requests == []
