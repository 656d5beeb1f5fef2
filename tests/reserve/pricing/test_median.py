"""One price from several quotes: stale and outlier quotes rejected, a missing price is None with
a reason (never zero), an even count's median exact."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reserve.external.http import Failure, SourceError
from reserve.pricing.median import Choice, choose_price, median
from reserve.pricing.sources.base import Quote
from tests.reserve.pricing.support import NOW

SPREAD = Decimal("0.05")
MAX_AGE = timedelta(minutes=10)


def q(
    source: str, price: str, *, age: timedelta | None = None, fetched_age: timedelta = timedelta(0)
) -> Quote:
    return Quote(
        asset="BTC",
        currency="USD",
        price=Decimal(price),
        source=source,
        market_time=None if age is None else NOW - age,
        fetched_at=NOW - fetched_age,
    )


def choose(quotes, **kwargs) -> Choice:
    return choose_price(quotes, max_spread=SPREAD, now=NOW, max_age=MAX_AGE, **kwargs)


def test_one_source_ten_times_off_is_rejected_as_an_outlier():
    kraken, binance, coingecko = q("kraken", "65000.10"), q("binance", "650001.0"), q("coingecko", "64990.30")
    choice = choose([kraken, binance, coingecko])
    assert choice.rejected == [(binance, "outlier")]
    assert choice.used == [kraken, coingecko]
    assert choice.price == Decimal("64995.20")  # the mean of the two kept
    assert choice.unpriced_reason is None


def test_an_even_count_median_is_the_exact_mean_of_the_middle_two():
    choice = choose([q("a", "100.01"), q("b", "100.02"), q("c", "100.04"), q("d", "100.03")])
    assert choice.price == Decimal("100.025")
    assert str(choice.price) == "100.025"
    assert median([Decimal("0.00000001"), Decimal("0.00000002")]) == Decimal("0.000000015")
    assert median(
        [Decimal("123456789012345678.123456789"), Decimal("123456789012345678.123456790")]
    ) == Decimal("123456789012345678.1234567895")


def test_an_odd_count_median_is_the_middle_value():
    assert choose([q("a", "3"), q("b", "1.0"), q("c", "2")]).price == Decimal("2")


def test_stale_quotes_are_ignored():
    old = q("coingecko", "50000", age=timedelta(hours=2))
    fresh = [q("kraken", "65000"), q("binance", "65010", age=timedelta(minutes=1))]
    choice = choose([old, *fresh])
    assert choice.rejected == [(old, "stale")]
    assert choice.used == fresh
    assert choice.price == Decimal("65005")


def test_a_quote_without_market_time_is_aged_by_when_it_was_fetched():
    old = q("kraken", "65000", fetched_age=timedelta(hours=1))
    choice = choose([old, q("binance", "65010")])
    assert choice.rejected == [(old, "stale")]
    assert choice.price == Decimal("65010")


def test_every_source_failing_gives_no_price_with_each_reason_never_zero():
    failures = {
        "kraken": SourceError(Failure.RATE_LIMITED, "429", retry_after=30),
        "coingecko": SourceError(Failure.TIMEOUT, "slow"),
    }
    stale = q("binance", "65000", age=timedelta(hours=1))
    choice = choose([stale], failures=failures)
    assert choice.price is None and choice.price != 0
    assert choice.used == []
    assert choice.unpriced_reason == "no fresh quote: kraken rate_limited, coingecko timeout, binance stale"


def test_no_quote_and_no_failure_is_still_no_price():
    choice = choose([])
    assert choice.price is None
    assert choice.unpriced_reason == "no fresh quote: no source answered"


def test_two_sources_that_disagree_give_no_price():
    a, b = q("kraken", "65000"), q("binance", "6500")
    choice = choose([a, b], failures={"coingecko": SourceError(Failure.UNREACHABLE, "refused")})
    assert choice.price is None
    assert choice.rejected == [(a, "outlier"), (b, "outlier")]
    assert (
        choice.unpriced_reason == "no agreeing quotes: coingecko unreachable, kraken outlier, binance outlier"
    )


def test_a_quote_exactly_at_the_spread_is_kept():
    edge = q("c", "105")
    choice = choose([q("a", "100"), q("b", "100"), edge])
    assert edge in choice.used and choice.price == Decimal("100")


def test_one_fresh_quote_is_the_price():
    only = q("kraken", "65000.12345678")
    choice = choose([only], failures={"binance": SourceError(Failure.MALFORMED, "x")})
    assert (choice.price, choice.used, choice.unpriced_reason) == (Decimal("65000.12345678"), [only], None)


def test_quotes_of_different_assets_or_currencies_are_a_mistake():
    eth = Quote("ETH", "USD", Decimal("3500"), "kraken", None, NOW)
    with pytest.raises(ValueError):
        choose([q("kraken", "65000"), eth])
