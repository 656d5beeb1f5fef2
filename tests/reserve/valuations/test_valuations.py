"""Valuations: prices into the database, snapshots in USD and KZT, and the engine's valuer."""

import datetime as dt
import functools
from decimal import Decimal
from unittest import mock

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reserve.approvals.registry import MatchFacts
from reserve.approvals.valuation import with_valuation
from reserve.models import (
    AuditEvent,
    PriceSource,
    Quote,
    SnapshotLine,
    SnapshotPrice,
    ValuationSnapshot,
)
from reserve.pricing.services import (
    enter_manual_price,
    enter_official_rate,
    price_at,
    rate_in_force,
    refresh_quotes,
)
from reserve.tasks import refresh_valuation_task
from reserve.valuations.selectors import latest_snapshot, nav_history, snapshot_at
from reserve.valuations.services import slot, value_holdings, value_of_units
from tests.reserve.pricing.support import Recorder, recorded


@pytest.fixture
def clerk_user(db):
    from tests.support.factories import UserFactory

    return UserFactory(username="pricing-clerk")


def at_instant(quote_time):
    """Quotes entered 'now' are dated now; value the holdings just after."""
    return quote_time + dt.timedelta(minutes=1)


def add_quote(asset, source_code, price, at):
    source = PriceSource.objects.get(code=source_code)
    PriceSource.objects.filter(pk=source.pk).update(enabled=True)
    return Quote.objects.create(
        asset=asset, currency="USD", price=Decimal(price), source=source, fetched_at=at, market_time=at
    )


def test_a_manual_price_is_flagged_manual_with_who_and_when(asset, clerk_user):
    quote = enter_manual_price(asset=asset, price="65000.12", actor=clerk_user, note="Kraken web page, 12:00")

    assert quote.manual and quote.entered_by == clerk_user and quote.source.code == "manual"
    assert quote.price == Decimal("65000.12")
    assert AuditEvent.objects.filter(action="reserve.price.entered", actor=clerk_user).exists()


@pytest.mark.parametrize("price", ["0", "-1", "abc", "NaN", "Infinity"])
def test_a_manual_price_must_be_a_positive_number(asset, clerk_user, price):
    with pytest.raises(ValidationError):
        enter_manual_price(asset=asset, price=price, actor=clerk_user, note="x")
    assert not Quote.objects.exists()


def test_a_snapshot_values_the_holdings_in_usd_and_kzt_with_its_sources(asset, funded, clerk_user):
    quote = enter_manual_price(asset=asset, price="60000.005", actor=clerk_user, note="Page")
    enter_official_rate(currency="USD", rate="5000.00", quant=10, day=dt.date(2026, 1, 2), actor=clerk_user)
    at = at_instant(quote.fetched_at)

    snapshot = value_holdings(at=at, trigger="test")

    # 5 BTC at 60000.005 USD = 300000.025 -> 300000.02 (half-even); KZT at 500.00 per USD.
    assert snapshot.reserve_usd == Decimal("300000.02")
    assert snapshot.reserve_kzt == Decimal("150000012.50")
    assert snapshot.custody_usd == 0
    assert snapshot.usd_kzt == Decimal("500")
    price = SnapshotPrice.objects.get(snapshot=snapshot)
    assert price.price == Decimal("60000.005")
    assert price.quotes[0]["source"] == "manual" and price.quotes[0]["manual"] is True
    line = SnapshotLine.objects.get(snapshot=snapshot)
    assert (line.units, line.category) == (5 * 10**8, "reserve:forfeited")


def test_the_same_instant_is_valued_once(asset, funded, clerk_user):
    quote = enter_manual_price(asset=asset, price="60000", actor=clerk_user, note="Page")
    at = at_instant(quote.fetched_at)

    first = value_holdings(at=at)
    second = value_holdings(at=at)

    assert first.pk == second.pk
    assert ValuationSnapshot.objects.count() == 1
    assert SnapshotLine.objects.count() == 1


def test_custody_pending_is_never_summed_into_the_reserve(asset, wallet, fund_in, clerk_user):
    fund_in(wallet, asset, 10**8)
    fund_in(wallet, asset, 3 * 10**8, category="custody:pending")
    quote = enter_manual_price(asset=asset, price="100", actor=clerk_user, note="Page")

    snapshot = value_holdings(at=at_instant(quote.fetched_at))

    assert (snapshot.reserve_usd, snapshot.custody_usd) == (Decimal("100.00"), Decimal("300.00"))
    day = nav_history()[-1]
    assert (day.reserve_usd, day.custody_usd) == (Decimal("100.00"), Decimal("300.00"))


def test_a_source_ten_times_off_the_others_is_rejected(asset):
    now = timezone.now()
    add_quote(asset, "kraken", "60000", now)
    add_quote(asset, "coingecko", "60100", now)
    add_quote(asset, "binance", "600000", now)

    priced = price_at(asset, now + dt.timedelta(seconds=1))

    assert priced.price == Decimal("60050")
    assert [(q.source.code, reason) for q, reason in priced.rejected] == [("binance", "outlier")]


def test_every_source_failing_leaves_the_asset_unpriced_not_zero(asset, funded):
    PriceSource.objects.filter(code__in=["kraken", "coingecko"]).update(enabled=True)
    down = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    limited = Recorder(
        httpx.Response(
            429, headers={"Retry-After": "60"}, content=recorded("coingecko_error_429_rate_limit.json")
        )
    )

    report = refresh_quotes(transports={"kraken": down, "coingecko": limited.transport})
    snapshot = value_holdings(at=timezone.now())

    assert report.quotes == []
    assert set(report.failures["BTC"]) == {"kraken", "coingecko"}
    price = SnapshotPrice.objects.get(snapshot=snapshot)
    assert price.price is None
    assert "unreachable" in price.unpriced_reason and "rate_limited" in price.unpriced_reason
    assert snapshot.unpriced[0]["asset"] == "BTC"
    assert snapshot.reserve_usd == 0 and SnapshotLine.objects.get(snapshot=snapshot).value_usd is None
    kraken = PriceSource.objects.get(code="kraken")
    assert kraken.last_failure == "unreachable" and kraken.last_failure_at is not None
    coingecko = PriceSource.objects.get(code="coingecko")
    assert coingecko.last_failure == "rate_limited" and coingecko.retry_after_until is not None


def test_a_rate_limited_source_is_not_asked_again_before_its_retry_after(asset):
    PriceSource.objects.filter(code="coingecko").update(
        enabled=True, retry_after_until=timezone.now() + dt.timedelta(minutes=5)
    )
    asked = Recorder(httpx.Response(200, content=recorded("coingecko_simple_price_bitcoin_usd_fixture.json")))

    report = refresh_quotes(transports={"coingecko": asked.transport})

    assert report.skipped == ["coingecko"] and asked.requests == []


def test_a_recorded_answer_becomes_a_quote_with_its_source_and_times(asset):
    PriceSource.objects.filter(code="coingecko").update(enabled=True)
    answer = Recorder(
        httpx.Response(200, content=recorded("coingecko_simple_price_bitcoin_usd_fixture.json"))
    )

    report = refresh_quotes(transports={"coingecko": answer.transport})

    quote = Quote.objects.get()
    assert report.quotes == [quote]
    assert (quote.price, quote.source.code, quote.entered_by) == (Decimal("7984.89"), "coingecko", None)
    assert PriceSource.objects.get(code="coingecko").last_success_at is not None


def test_a_rate_published_on_friday_applies_from_monday(clerk_user):
    friday = dt.date(2026, 3, 6)
    enter_official_rate(currency="USD", rate="500", day=dt.date(2026, 3, 5), actor=clerk_user)
    enter_official_rate(currency="USD", rate="510", day=friday, actor=clerk_user)

    saturday_noon = timezone.make_aware(dt.datetime(2026, 3, 7, 12, 0))
    monday_noon = timezone.make_aware(dt.datetime(2026, 3, 9, 12, 0))

    assert rate_in_force("USD", saturday_noon).rate_per_unit == Decimal("500")
    assert rate_in_force("USD", monday_noon).rate_per_unit == Decimal("510")


def test_the_engine_values_a_request_at_the_latest_snapshot_price(asset, funded):
    assert with_valuation(MatchFacts(asset=asset, amount_units=10**8)).valuation is None
    now = timezone.now()
    add_quote(asset, "kraken", "70000", now)
    add_quote(asset, "coingecko", "70100", now)
    value_holdings(at=now + dt.timedelta(seconds=1))

    facts = with_valuation(MatchFacts(asset=asset, amount_units=25 * 10**7))

    assert facts.valuation == Decimal("175125.00")  # 2.5 BTC at the median, 70050
    assert "70050" in facts.valuation_source and "coingecko, kraken" in facts.valuation_source
    assert value_of_units(asset, 1, "KZT") is None


def test_a_clerks_manual_price_never_chooses_the_approvers(asset, funded, clerk_user):
    """A typed-in price could pick the smaller quorum: the engine counts only market quotes, so
    with manual prices alone the value is unknown and the strictest tier applies."""
    quote = enter_manual_price(asset=asset, price="0.01", actor=clerk_user, note="Page")
    snapshot = value_holdings(at=at_instant(quote.fetched_at))

    assert SnapshotPrice.objects.get(snapshot=snapshot).price == Decimal("0.01")  # the snapshot uses it
    assert with_valuation(MatchFacts(asset=asset, amount_units=5 * 10**8)).valuation is None


def test_the_valuation_in_force_at_an_instant(asset, funded, clerk_user):
    quote = enter_manual_price(asset=asset, price="1", actor=clerk_user, note="Page")
    first = value_holdings(at=at_instant(quote.fetched_at))
    later = value_holdings(at=at_instant(quote.fetched_at) + dt.timedelta(minutes=5))

    assert latest_snapshot() == later
    assert snapshot_at(first.taken_at + dt.timedelta(minutes=1)) == first
    assert snapshot_at(first.taken_at - dt.timedelta(minutes=1)) is None


def test_a_scheduled_refresh_values_its_slot_with_the_quotes_it_fetched(asset, funded):
    PriceSource.objects.filter(code="coingecko").update(enabled=True)
    answer = Recorder(
        httpx.Response(200, content=recorded("coingecko_simple_price_bitcoin_usd_fixture.json"))
    )
    served = functools.partial(refresh_quotes, transports={"coingecko": answer.transport})
    with mock.patch("reserve.pricing.services.refresh_quotes", served):
        snapshot = ValuationSnapshot.objects.get(pk=refresh_valuation_task())

    assert snapshot.taken_at == slot(snapshot.created_at)  # the slot it ran in
    assert Quote.objects.get().fetched_at > snapshot.taken_at  # fetched after the slot began ...
    assert SnapshotPrice.objects.get(snapshot=snapshot).price == Decimal("7984.89")  # ... and used
