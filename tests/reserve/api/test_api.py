"""The read-only REST API under /api/v1/: wiring, amounts as exact strings, errors, permissions."""

import base64
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from reserve.api.errors import field_errors
from reserve.ledger.services import Line, Origin, get_account, post_entry
from tests.support.api import assert_error_body
from tests.support.factories import UserFactory, WalletAddressFactory, WalletFactory, eth

ALMATY = ZoneInfo("Asia/Almaty")

READ_URLS = [
    ("api:asset-list", {}),
    ("api:asset-detail", {"symbol": "BTC"}),
    ("api:wallet-list", {}),
    ("api:wallet-detail", {"code": "cold-a"}),
    ("api:wallet-lots", {"code": "cold-a"}),
    ("api:balance-list", {}),
    ("api:holdings", {}),
]


@pytest.fixture
def api(auditor):
    client = APIClient()
    client.force_authenticate(user=auditor)
    return client


@pytest.fixture
def outsider(db):
    """Signed in, but holds no permission on the reserve."""
    return UserFactory(username="outsider")


@pytest.fixture
def eth_asset(db):
    return eth()


@pytest.fixture
def eth_wallet(db):
    return WalletFactory(code="eth-cold", network="ethereum")


def post_in(wallet, asset, units, *, effective_at=None, category="reserve:forfeited", origin=None):
    """Bring units in from outside (``test.inflow``: a ledger-mechanics reason of conftest)."""
    account = get_account(wallet=wallet, category=category, asset=asset)
    external = get_account(wallet=None, category="external", asset=asset)
    return post_entry(
        reason="test.inflow",
        lines=[Line(external, -units), Line(account, units)],
        origin=origin or Origin(kind="test.inflow", label="Opening balance"),
        effective_at=effective_at,
    )


def queries_for(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


# Assets and wallets


def test_it_lists_assets(api, asset, eth_asset):
    response = api.get(reverse("api:asset-list"))

    assert response.status_code == 200
    assert [a["symbol"] for a in response.json()["results"]] == ["BTC", "ETH"]
    assert response.json()["results"][0] == {
        "symbol": "BTC",
        "name": "Bitcoin",
        "network": "bitcoin",
        "decimals": 8,
        "contract_address": "",
        "is_active": True,
    }


def test_it_shows_one_asset_by_symbol(api, eth_asset):
    response = api.get(reverse("api:asset-detail", kwargs={"symbol": "ETH"}))

    assert response.status_code == 200
    assert response.json()["decimals"] == 18


def test_an_unknown_asset_is_404_with_the_error_body(api, asset):
    response = api.get(reverse("api:asset-detail", kwargs={"symbol": "DOGE"}))

    assert response.status_code == 404
    assert_error_body(response.json(), "not_found")
    assert response.json()["errors"] == {}


def test_it_shows_a_wallet_with_its_addresses(api, wallet):
    WalletAddressFactory(wallet=wallet, label="Main", address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")

    response = api.get(reverse("api:wallet-detail", kwargs={"code": "cold-a"}))

    assert response.status_code == 200
    assert response.json() == {
        "code": "cold-a",
        "name": "Cold A",
        "kind": "cold_multisig",
        "network": "bitcoin",
        "custodian": "Central Securities Depository",
        "is_active": True,
        "addresses": [
            {
                "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "label": "Main",
                "is_active": True,
            }
        ],
    }


def test_wallets_are_listed_by_code_a_page_at_a_time(api, wallet, other_wallet):
    first = api.get(reverse("api:wallet-list"), {"page_size": 1})
    second = api.get(first.json()["next"])

    assert [w["code"] for w in first.json()["results"]] == ["cold-a"]
    assert [w["code"] for w in second.json()["results"]] == ["cold-b"]
    assert second.json()["next"] is None


def test_a_forged_cursor_is_refused_with_the_error_body(api, wallet):
    response = api.get(reverse("api:wallet-list"), {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert_error_body(response.json(), "not_found")


def test_the_wallet_list_costs_the_same_queries_for_one_wallet_or_many(auditor, wallet):
    client = APIClient()
    client.force_login(auditor)
    url = reverse("api:wallet-list")
    WalletAddressFactory(wallet=wallet, address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    few = queries_for(client, url)

    for n in range(4):
        extra = WalletFactory()
        WalletAddressFactory(wallet=extra, address=f"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN{n}")
        WalletAddressFactory(wallet=extra, address=f"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNL{n}")
    many = queries_for(client, url)

    assert many == few
    assert len(client.get(url).json()["results"]) == 5


# Balances


def test_a_balance_is_an_exact_string_with_all_the_decimals(api, wallet, asset, fund_in):
    fund_in(wallet, asset, 150_000_000)

    response = api.get(reverse("api:balance-list"))

    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "wallet": "cold-a",
            "category": "reserve:forfeited",
            "asset": "BTC",
            "decimals": 8,
            "balance": "1.50000000",
        }
    ]


def test_an_eth_balance_keeps_all_18_decimals(api, eth_wallet, eth_asset, fund_in):
    fund_in(eth_wallet, eth_asset, 123456789123456789012345678)

    response = api.get(reverse("api:balance-list"), {"asset": "ETH"})

    (row,) = response.json()["results"]
    assert row["balance"] == "123456789.123456789012345678"
    assert b'"balance":"123456789.123456789012345678"' in response.content


def test_balances_leave_out_counterparty_accounts(api, wallet, asset, fund_in):
    fund_in(wallet, asset, 1)

    categories = [r["category"] for r in api.get(reverse("api:balance-list")).json()["results"]]

    assert categories == ["reserve:forfeited"]


def test_balances_filter_by_asset(api, wallet, asset, eth_wallet, eth_asset, fund_in):
    fund_in(wallet, asset, 5)
    fund_in(eth_wallet, eth_asset, 7)

    rows = api.get(reverse("api:balance-list"), {"asset": "BTC"}).json()["results"]

    assert [(r["asset"], r["balance"]) for r in rows] == [("BTC", "0.00000005")]


def test_balances_filter_by_wallet_and_category(api, wallet, other_wallet, asset, fund_in):
    fund_in(wallet, asset, 1)
    fund_in(wallet, asset, 2, category="reserve:mined")
    fund_in(other_wallet, asset, 3)

    rows = api.get(reverse("api:balance-list"), {"wallet": "cold-a", "category": "reserve:mined"}).json()[
        "results"
    ]

    assert [(r["wallet"], r["category"], r["balance"]) for r in rows] == [
        ("cold-a", "reserve:mined", "0.00000002")
    ]


def test_an_unknown_filter_value_is_a_field_error(api, asset):
    response = api.get(reverse("api:balance-list"), {"asset": "DOGE", "category": "external"})

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")
    assert set(response.json()["errors"]) == {"asset", "category"}


def test_the_balance_list_costs_the_same_queries_for_one_account_or_many(
    auditor, wallet, other_wallet, asset, eth_wallet, eth_asset, fund_in
):
    client = APIClient()
    client.force_login(auditor)
    url = reverse("api:balance-list")
    fund_in(wallet, asset, 1)
    few = queries_for(client, url)

    fund_in(wallet, asset, 1, category="reserve:mined")
    fund_in(other_wallet, asset, 1)
    fund_in(eth_wallet, eth_asset, 1)
    many = queries_for(client, url)

    assert many == few
    assert len(client.get(url).json()["results"]) == 4


def test_a_balance_page_costs_the_same_queries_for_10_rows_as_for_200(auditor, asset, fund_in):
    client = APIClient()
    client.force_login(auditor)
    for n in range(15):
        fund_in(WalletFactory(code=f"w{n:02d}"), asset, n + 1)
    url = reverse("api:balance-list")
    first = client.get(url, {"page_size": 10}).json()
    assert len(first["results"]) == 10

    small = queries_for(client, first["next"])
    large = queries_for(client, url + "?page_size=200")

    assert small == large


# Holdings


@pytest.fixture
def january_and_february(wallet, asset):
    post_in(wallet, asset, 100_000_000, effective_at=dt.datetime(2025, 1, 15, 10, 0, tzinfo=ALMATY))
    post_in(wallet, asset, 200_000_000, effective_at=dt.datetime(2025, 2, 10, 10, 0, tzinfo=ALMATY))


def test_holdings_as_of_a_past_date_leave_out_later_postings(api, january_and_february):
    response = api.get(reverse("api:holdings"), {"as_of": "2025-01-31"})

    assert response.status_code == 200
    assert response.json() == {
        "as_of": "2025-01-31T23:59:59.999999+05:00",
        "holdings": [
            {
                "asset": "BTC",
                "category": "reserve:forfeited",
                "amount": "1.00000000",
                "decimals": 8,
                "value_usd": None,  # no valuation yet
                "value_kzt": None,
            }
        ],
        "valued_at": None,
    }


def test_holdings_as_of_a_moment_with_an_offset(api, january_and_february):
    before = api.get(reverse("api:holdings"), {"as_of": "2025-01-15T04:59:59Z"}).json()
    at = api.get(reverse("api:holdings"), {"as_of": "2025-01-15T10:00:00+05:00"}).json()

    assert before["holdings"] == []
    assert at["as_of"] == "2025-01-15T10:00:00+05:00"
    assert [h["amount"] for h in at["holdings"]] == ["1.00000000"]


def test_holdings_accept_an_offset_typed_unencoded_in_the_url(api, january_and_february):
    response = api.get(reverse("api:holdings") + "?as_of=2025-01-15T10:00:00+05:00")

    assert response.status_code == 200
    assert response.json()["as_of"] == "2025-01-15T10:00:00+05:00"
    assert [h["amount"] for h in response.json()["holdings"]] == ["1.00000000"]


def test_holdings_default_to_now(api, january_and_february):
    body = api.get(reverse("api:holdings")).json()

    assert [h["amount"] for h in body["holdings"]] == ["3.00000000"]
    as_of = dt.datetime.fromisoformat(body["as_of"])
    assert abs(as_of - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    "as_of",
    [
        "yesterday",
        "2025-02-30",
        "2025-01-31T25:00:00",
        "31.01.2025",
        "0001-01-01",
        "9999-12-31T23:59:59-12:00",
        "20250131",
    ],
)
def test_a_bad_as_of_is_a_field_error_not_a_crash(api, asset, as_of):
    response = api.get(reverse("api:holdings"), {"as_of": as_of})

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")
    assert list(response.json()["errors"]) == ["as_of"]


# Lots


def test_lots_say_where_each_unit_came_from(api, wallet, asset):
    seized = Origin(kind="intake.seized_item", label="Court order 12/2025, item 3")
    mined = Origin(kind="mining.output", label="Ekibastuz site, March", restriction="no_sale")
    post_in(wallet, asset, 150_000_000, origin=seized)
    post_in(wallet, asset, 1, category="reserve:mined", origin=mined)

    response = api.get(reverse("api:wallet-lots", kwargs={"code": "cold-a"}), {"asset": "BTC"})

    assert response.status_code == 200
    lots = response.json()["results"]
    assert [
        (
            lot["origin_kind"],
            lot["origin_label"],
            lot["category"],
            lot["restriction"],
            lot["remaining"],
        )
        for lot in lots
    ] == [
        (
            "intake.seized_item",
            "Court order 12/2025, item 3",
            "reserve:forfeited",
            "",
            "1.50000000",
        ),
        ("mining.output", "Ekibastuz site, March", "reserve:mined", "no_sale", "0.00000001"),
    ]
    assert all(lot["root_lot_id"] == lot["id"] for lot in lots)


def test_moved_units_keep_the_lot_they_first_entered_in(api, wallet, other_wallet, asset):
    post_in(wallet, asset, 100_000_000)
    here, there = (
        get_account(wallet=w, category="reserve:forfeited", asset=asset) for w in (wallet, other_wallet)
    )
    post_entry(reason="test.move", lines=[Line(here, -40_000_000), Line(there, 40_000_000)])

    def lots(code):
        return api.get(reverse("api:wallet-lots", kwargs={"code": code}), {"asset": "BTC"}).json()

    (original,) = lots("cold-a")["results"]
    (moved,) = lots("cold-b")["results"]

    assert original["remaining"] == "0.60000000"
    assert moved["remaining"] == "0.40000000"
    assert moved["root_lot_id"] == original["id"] != moved["id"]
    assert moved["origin_label"] == "Opening balance"


@pytest.fixture
def many_lots(wallet, other_wallet, asset):
    """25 open lots of BTC in cold-a over two categories (and one in cold-b); ids in order."""
    for n in range(25):
        post_in(wallet, asset, n + 1, category=("reserve:forfeited", "reserve:mined")[n % 2])
    post_in(other_wallet, asset, 99)
    here = get_account(wallet=wallet, category="reserve:forfeited", asset=asset)
    return sorted(lot.pk for lot in here.lots.all()) + sorted(
        lot.pk for lot in get_account(wallet=wallet, category="reserve:mined", asset=asset).lots.all()
    )


def test_lots_are_keyset_pages_that_keep_the_count(api, many_lots):
    url = reverse("api:wallet-lots", kwargs={"code": "cold-a"})
    pages, body = [], api.get(url, {"asset": "BTC", "page_size": 10}).json()
    while True:
        pages.append(body)
        if not body["next"]:
            break
        assert "cursor=" in body["next"]
        body = api.get(body["next"]).json()

    assert [len(p["results"]) for p in pages] == [10, 10, 5]
    assert [p["count"] for p in pages] == [25, 25, 25]
    ids = [lot["id"] for p in pages for lot in p["results"]]
    assert ids == sorted(many_lots)
    assert [lot["remaining"] for p in pages for lot in p["results"]] == [f"0.{n:08d}" for n in range(1, 26)]
    assert pages[0]["previous"] is None
    back = api.get(pages[2]["previous"]).json()
    assert [lot["id"] for lot in back["results"]] == ids[10:20]
    assert back["count"] == 25


def test_lots_still_understand_limit_and_offset(api, many_lots):
    url = reverse("api:wallet-lots", kwargs={"code": "cold-a"})
    ids = sorted(many_lots)

    page = api.get(url, {"asset": "BTC", "limit": 4, "offset": 6}).json()

    assert page["count"] == 25
    assert [lot["id"] for lot in page["results"]] == ids[6:10]
    assert [lot["id"] for lot in api.get(page["next"]).json()["results"]] == ids[10:14]
    assert [lot["id"] for lot in api.get(page["previous"]).json()["results"]] == ids[2:6]
    beyond = api.get(url, {"asset": "BTC", "offset": 10**30}).json()
    assert (beyond["count"], beyond["results"], beyond["next"]) == (25, [], None)


def test_a_lot_page_costs_the_same_queries_for_10_rows_as_for_200(api, many_lots):
    url = reverse("api:wallet-lots", kwargs={"code": "cold-a"})
    first = api.get(url, {"asset": "BTC", "page_size": 10}).json()
    second = api.get(first["next"]).json()

    small_first = queries_for(api, f"{url}?asset=BTC&page_size=10")
    small_next = queries_for(api, second["next"])
    large_first = queries_for(api, f"{url}?asset=BTC&page_size=200")

    assert small_first == large_first
    # A following page reads the count from its cursor: it costs that page, not a COUNT.
    assert small_next == small_first - 1


@pytest.mark.parametrize("position", [b"p=abc", b"p=99999999999999999999999", b"p=-1", b"p=1\x00"])
def test_a_forged_cursor_is_404_not_a_server_error(api, wallet, asset, position):
    cursor = base64.b64encode(position).decode()
    for url, params in [
        (reverse("api:wallet-lots", kwargs={"code": "cold-a"}), {"asset": "BTC"}),
        (reverse("api:balance-list"), {}),
    ]:
        response = api.get(url, {**params, "cursor": cursor})

        assert response.status_code == 404
        assert_error_body(response.json(), "not_found")


def test_lots_need_an_asset(api, wallet):
    response = api.get(reverse("api:wallet-lots", kwargs={"code": "cold-a"}))

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")
    assert list(response.json()["errors"]) == ["asset"]


def test_lots_of_an_unknown_wallet_are_404(api, asset):
    response = api.get(reverse("api:wallet-lots", kwargs={"code": "nowhere"}), {"asset": "BTC"})

    assert response.status_code == 404
    assert_error_body(response.json(), "not_found")


# Who may read


@pytest.mark.parametrize(("name", "kwargs"), READ_URLS)
def test_anonymous_callers_are_refused_with_the_error_body(db, wallet, asset, name, kwargs):
    response = APIClient().get(reverse(name, kwargs=kwargs))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert_error_body(response.json(), "not_authenticated")


@pytest.mark.parametrize(("name", "kwargs"), READ_URLS)
def test_a_user_without_view_permission_is_refused(outsider, wallet, asset, name, kwargs):
    client = APIClient()
    client.force_authenticate(user=outsider)

    response = client.get(reverse(name, kwargs=kwargs))

    assert response.status_code == 403
    assert_error_body(response.json(), "permission_denied")


def test_a_clerk_with_view_permission_may_read_through_a_session(clerk, wallet, asset, fund_in):
    fund_in(wallet, asset, 1)
    client = APIClient()
    client.force_login(clerk)

    response = client.get(reverse("api:balance-list"))

    assert response.status_code == 200
    assert response.json()["results"][0]["balance"] == "0.00000001"


def test_writes_are_not_allowed(api, wallet):
    response = api.post(reverse("api:wallet-list"), {"code": "hot-1"}, format="json")

    assert response.status_code == 405
    assert_error_body(response.json(), "method_not_allowed")


# Errors and documentation


def test_nested_validation_errors_are_flattened_to_field_paths():
    detail = ValidationError(
        {
            "as_of": ["Bad."],
            "lines": [{}, {"amount": ["Too many decimals."]}],
            "non_field_errors": ["No."],
        }
    ).detail

    assert field_errors(detail) == {
        "as_of": ["Bad."],
        "lines.1.amount": ["Too many decimals."],
        "non_field_errors": ["No."],
    }


def test_the_schema_is_served(api):
    response = api.get(reverse("schema"), {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/holdings/" in schema["paths"]
    assert schema["components"]["schemas"]["Balance"]["properties"]["balance"]["type"] == "string"
    holdings_errors = schema["paths"]["/api/v1/holdings/"]["get"]["responses"]["400"]
    assert holdings_errors["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_the_docs_page_loads_nothing_from_a_cdn(api):
    response = api.get(reverse("api-docs"))

    assert response.status_code == 200
    html = response.content.decode().lower()
    assert "cdn" not in html
    assert "jsdelivr" not in html
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
