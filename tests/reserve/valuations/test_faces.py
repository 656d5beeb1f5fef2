"""The faces of the valuations: the REST endpoints, the admin screens and forms, the dashboard."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reserve.chain.services import reconcile, record_observation
from reserve.models import (
    ChainObservation,
    DifferenceStatus,
    OfficialRate,
    Quote,
    ReconciliationDifference,
    Scope,
)
from reserve.pricing.services import enter_manual_price, enter_official_rate
from reserve.valuations.services import value_holdings
from tests.support.api import bearer, client_with_token
from tests.support.factories import UserFactory
from tests.support.screens import signed_in, text

LATEST = "/api/v1/valuations/latest/"
AT = "/api/v1/valuations/"
NAV = "/api/v1/valuations/nav/"


@pytest.fixture
def pricer(db):
    return UserFactory(username="pricer", roles=["Treasury officer"], is_staff=True)


@pytest.fixture
def staff_auditor(db):
    return UserFactory(username="staff-auditor", roles=["Auditor"], is_staff=True)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def snapshot(asset, funded, pricer):
    """5 BTC valued at 60000.005 USD, USD/KZT 500 (5000 per 10 USD)."""
    quote = enter_manual_price(asset=asset, price="60000.005", actor=pricer, note="Kraken web page")
    enter_official_rate(currency="USD", rate="5000.00", quant=10, day=dt.date(2026, 1, 2), actor=pricer)
    return value_holdings(at=quote.fetched_at + dt.timedelta(minutes=1), trigger="test")


@pytest.fixture
def reader(db):
    _client, secret = client_with_token("nav-reader", [Scope.VALUATIONS_READ, Scope.HOLDINGS_READ])
    return bearer(secret)


# The REST endpoints


def test_the_latest_valuation_has_totals_rate_and_prices_as_strings(reader, snapshot):
    body = reader.get(LATEST).json()

    assert body["reserve_usd"] == "300000.02"
    assert body["reserve_kzt"] == "150000012.50"
    assert body["custody_usd"] == "0"
    assert Decimal(body["usd_kzt"]["rate"]) == 500
    assert body["usd_kzt"]["source"] == "manual" and body["usd_kzt"]["day"] == "2026-01-02"
    [price] = body["prices"]
    assert price["asset"] == "BTC" and price["price_usd"] == "60000.005"
    [quote] = price["quotes"]
    assert quote["source"] == "manual" and quote["manual"] is True and quote["price"] == "60000.005"
    assert price["rejected"] == [] and body["unpriced"] == []


def test_an_unpriced_asset_is_null_with_its_reason(reader, funded):
    value_holdings(at=timezone.now(), trigger="test")

    body = reader.get(LATEST).json()

    [price] = body["prices"]
    assert price["price_usd"] is None and price["unpriced_reason"]
    assert body["reserve_kzt"] is None and body["usd_kzt"] is None
    assert {item["asset"] for item in body["unpriced"]} == {"BTC", "KZT"}


def test_no_valuation_is_a_404_with_the_error_body(reader, db):
    response = reader.get(LATEST)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_valuation_at_a_moment_is_the_last_before_it(reader, snapshot):
    later = (snapshot.taken_at + dt.timedelta(hours=1)).isoformat()
    earlier = (snapshot.taken_at - dt.timedelta(hours=1)).isoformat()

    assert reader.get(AT, {"at": later}).json()["reserve_usd"] == "300000.02"
    assert reader.get(AT, {"at": earlier}).status_code == 404


@pytest.mark.parametrize(
    "at", ["2026-01-31T12:00:00", "yesterday", "2026-13-01T00:00Z", "0001-01-01T00:00+05:00"]
)
def test_a_bad_or_naive_moment_is_a_field_error(reader, db, at):
    response = reader.get(AT, {"at": at})

    assert response.status_code == 400
    assert "at" in response.json()["errors"]


def test_a_missing_moment_is_a_field_error(reader, db):
    response = reader.get(AT)

    assert response.status_code == 400 and "at" in response.json()["errors"]


def test_nav_is_one_row_per_day_with_reserve_and_custody_apart(reader, snapshot):
    day = timezone.localtime(snapshot.taken_at).date()

    body = reader.get(NAV, {"since": day.isoformat(), "until": day.isoformat()}).json()

    assert body["count"] == 1
    [row] = body["results"]
    assert row["day"] == day.isoformat()
    assert (row["reserve_usd"], row["reserve_kzt"], row["custody_usd"]) == ("300000.02", "150000012.50", "0")
    assert reader.get(NAV, {"since": "2020-01-01", "until": "2020-01-02"}).json()["results"] == []


def test_nav_refuses_days_in_the_wrong_order(reader, db):
    response = reader.get(NAV, {"since": "2026-02-01", "until": "2026-01-01"})

    assert response.status_code == 400 and "until" in response.json()["errors"]


def test_valuations_need_a_token_or_a_session(db):
    assert APIClient().get(LATEST).status_code == 401


def test_a_token_without_the_valuations_scope_is_refused(db):
    _client, secret = client_with_token("holdings-only", [Scope.HOLDINGS_READ])

    response = bearer(secret).get(LATEST)

    assert response.status_code == 403
    assert "valuations:read" in response.json()["message"]


def test_holdings_carry_their_values_from_the_latest_valuation(reader, snapshot):
    body = reader.get("/api/v1/holdings/").json()

    [holding] = body["holdings"]
    assert holding["amount"] == "5.00000000"  # the fields before stay
    assert (holding["value_usd"], holding["value_kzt"]) == ("300000.02", "150000012.50")
    assert body["valued_at"] is not None


def test_holdings_of_a_past_date_are_valued_at_the_prices_of_then(reader, snapshot):
    before = timezone.localtime(snapshot.taken_at).date() - dt.timedelta(days=1)

    body = reader.get("/api/v1/holdings/", {"as_of": before.isoformat()}).json()

    assert body["valued_at"] is None  # no valuation existed yet: not today's prices
    assert all(h["value_usd"] is None for h in body["holdings"])


def test_holdings_without_a_valuation_have_null_values(reader, funded):
    [holding] = reader.get("/api/v1/holdings/").json()["holdings"]

    assert holding["value_usd"] is None and holding["value_kzt"] is None


def test_the_schema_documents_the_valuation_endpoints(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    assert schema["paths"][LATEST]["get"]["x-required-scope"] == "valuations:read"
    assert {"/api/v1/valuations/", NAV} <= set(schema["paths"])
    assert "value_usd" in schema["components"]["schemas"]["Holding"]["properties"]


# The admin


ADMIN_PAGES = [
    "admin:reserve_pricesource_changelist",
    "admin:reserve_quote_changelist",
    "admin:reserve_officialrate_changelist",
    "admin:reserve_valuationsnapshot_changelist",
    "admin:reserve_chainobservation_changelist",
    "admin:reserve_reconciliationdifference_changelist",
    "admin:reserve_outboxmessage_changelist",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_the_admin_lists_open_for_a_superuser_and_an_auditor(page, superuser, staff_auditor, snapshot):
    for user in (superuser, staff_auditor):
        assert signed_in(user).get(reverse(page)).status_code == 200, user


def test_the_snapshot_page_shows_prices_quotes_and_lines(staff_auditor, snapshot):
    page = text(
        signed_in(staff_auditor).get(reverse("admin:reserve_valuationsnapshot_change", args=[snapshot.pk]))
    )

    assert "300000.02" in page and "150000012.50" in page
    assert "60000.005" in page and "manual" in page
    assert "5.00000000" in page


def test_the_auditor_cannot_enter_a_price_or_change_a_source(staff_auditor, snapshot):
    client = signed_in(staff_auditor)

    assert client.get(reverse("admin:reserve_quote_do", args=["manual-price"])).status_code == 403
    source_page = client.get(reverse("admin:reserve_pricesource_change", args=[1]))
    assert source_page.status_code == 200 and 'name="enabled"' not in source_page.content.decode()


def test_the_manual_price_form_records_a_flagged_quote(pricer, asset):
    response = signed_in(pricer).post(
        reverse("admin:reserve_quote_do", args=["manual-price"]),
        {"asset": asset.pk, "price": "64000.50", "note": "Kraken web page, 12:00"},
    )

    assert response.status_code == 302
    quote = Quote.objects.get()
    assert quote.manual and quote.entered_by == pricer and quote.price == Decimal("64000.50")


@pytest.mark.parametrize("price", ["-1", "abc", "0"])
def test_the_manual_price_form_refuses_a_bad_price_with_a_form_error(pricer, asset, price):
    response = signed_in(pricer).post(
        reverse("admin:reserve_quote_do", args=["manual-price"]),
        {"asset": asset.pk, "price": price, "note": "Page"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["price"]
    assert not Quote.objects.exists()


def test_the_official_rate_form_records_a_rate(pricer, db):
    response = signed_in(pricer).post(
        reverse("admin:reserve_officialrate_do", args=["enter"]),
        {"currency": "usd", "rate": "512.30", "quant": "1", "day": "2026-01-05"},
    )

    assert response.status_code == 302
    rate = OfficialRate.objects.get()
    assert rate.currency == "USD" and rate.entered_by == pricer


def test_an_observation_recorded_in_the_admin_names_the_clerk(pricer, asset, wallet):
    response = signed_in(pricer).post(
        reverse("admin:reserve_chainobservation_do", args=["record"]),
        {
            "wallet": wallet.pk,
            "asset": asset.pk,
            "balance": "4.5",
            "observed_at": "2026-01-05 10:00",
            "evidence": "mempool.space address page",
        },
    )

    assert response.status_code == 302
    observation = ChainObservation.objects.get()
    assert observation.balance == 450_000_000 and observation.entered_by == pricer


@pytest.fixture
def difference(funded, wallet, asset, pricer):
    record_observation(
        wallet=wallet,
        asset=asset,
        balance=4 * 10**8,
        observed_at=timezone.now() - dt.timedelta(minutes=1),
        actor=pricer,
        evidence="Explorer page",
    )
    [found] = reconcile()
    return found


def test_the_difference_list_shows_both_figures_with_the_asset_decimals(staff_auditor, difference):
    page = text(signed_in(staff_auditor).get(reverse("admin:reserve_reconciliationdifference_changelist")))

    assert "5.00000000" in page and "4.00000000" in page and "-1.00000000" in page


def test_explaining_a_difference_closes_it(pricer, difference):
    url = reverse("admin:reserve_reconciliationdifference_do_row", args=[difference.pk, "explain"])

    response = signed_in(pricer).post(url, {"explanation": "Fee paid from the wallet, entry pending."})

    assert response.status_code == 302
    difference.refresh_from_db()
    assert difference.status == DifferenceStatus.EXPLAINED and difference.explained_by == pricer


def test_an_empty_explanation_is_a_form_error(pricer, difference):
    url = reverse("admin:reserve_reconciliationdifference_do_row", args=[difference.pk, "explain"])

    response = signed_in(pricer).post(url, {"explanation": "   "})

    assert response.status_code == 200 and response.context["form"].errors
    assert ReconciliationDifference.objects.get().status == DifferenceStatus.OPEN


# The dashboard


def test_the_dashboard_shows_the_latest_valuation_in_usd_and_kzt(staff_auditor, snapshot):
    response = signed_in(staff_auditor).get(reverse("workflow:dashboard"))

    page = text(response)
    assert "300000.02" in page and "150000012.50" in page
    assert "USD/KZT" in page
    assert reverse("admin:reserve_valuationsnapshot_change", args=[snapshot.pk]) in response.content.decode()


def test_the_dashboard_lists_unpriced_assets(staff_auditor, funded):
    value_holdings(at=timezone.now(), trigger="test")

    page = text(signed_in(staff_auditor).get(reverse("workflow:dashboard")))

    assert "Not valued" in page and "BTC" in page
