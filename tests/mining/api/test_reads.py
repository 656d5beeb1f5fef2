"""Reading sites, reports (filtered, paginated at a constant cost) and a report's verification."""

import datetime as dt

from mining import services
from tests.mining.api.conftest import day_body
from tests.mining.api.helpers import days_path, post
from tests.support.api import assert_error_body
from tests.support.factories import WalletFactory


def test_sites_list_and_detail(site_client, site):
    listed = site_client.get("/api/v1/mining/sites/")
    detail = site_client.get(f"/api/v1/mining/sites/{site.pk}/")

    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()["results"]] == ["Ekibastuz DC-1"]
    assert detail.json()["custody_wallet"] == "mined-cold"
    assert detail.json()["tolerance_percent"] == "5"


def test_an_unknown_site_is_not_found(site_client, site):
    for path in ("/api/v1/mining/sites/999/", f"/api/v1/mining/sites/{2**64}/"):
        response = site_client.get(path)
        assert response.status_code == 404
        assert_error_body(response.json(), "not_found")
    assert post(site_client, "/api/v1/mining/sites/999/days/", day_body()).status_code == 404


def _monthly_reports(site, actor, months):
    for month in range(1, months + 1):
        start = dt.date(2020, month, 1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        services.open_report(site=site, period_start=start, period_end=end, actor=actor)


def test_reports_are_filtered_by_site_and_state(site_client, site, report, mining_clerk):
    _monthly_reports(site, mining_clerk, 2)

    mine = site_client.get("/api/v1/mining/reports/", {"site": site.pk, "state": "draft"}).json()
    none = site_client.get("/api/v1/mining/reports/", {"site": site.pk, "state": "posted"}).json()
    other = site_client.get("/api/v1/mining/reports/", {"site": site.pk + 1}).json()

    assert len(mine["results"]) == 3
    assert mine["results"][0]["period_start"] == "2020-02-01"  # newest first
    assert none["results"] == [] and other["results"] == []


def test_a_bad_filter_is_a_field_error(site_client, site):
    response = site_client.get("/api/v1/mining/reports/", {"state": "sent", "site": "x"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"state", "site"}


def test_a_page_of_reports_costs_the_same_wherever_it_lies(
    site_client, site, mining_clerk, django_assert_max_num_queries
):
    _monthly_reports(site, mining_clerk, 12)
    first = site_client.get("/api/v1/mining/reports/", {"page_size": 2})  # warm caches
    with django_assert_max_num_queries(8) as small:
        first = site_client.get("/api/v1/mining/reports/", {"page_size": 2})
    with django_assert_max_num_queries(len(small.captured_queries)):
        site_client.get(first.json()["next"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(site_client.get("/api/v1/mining/reports/", {"page_size": 10}).json()["results"]) == 10


def test_a_report_shows_its_state_and_lines(site_client, site, report):
    post(site_client, days_path(site), day_body())

    body = site_client.get(f"/api/v1/mining/reports/{report.pk}/").json()

    assert body["state"] == "draft"
    assert body["line_count"] == 1
    assert body["lines"][0]["day"] == "2019-01-20"
    assert body["lines"][0]["btc_net_btc"] == "2.11680000"


def test_a_report_verification_compares_expected_and_reported(site_client, site, report):
    post(site_client, days_path(site), day_body())

    response = site_client.get(f"/api/v1/mining/reports/{report.pk}/verification/")

    assert response.status_code == 200, response.json()
    body = response.json()
    day = body["days"][0]
    assert day["day"] == "2019-01-20"
    assert isinstance(day["figures"]["expected_sats"], int)
    assert day["figures"]["btc_gross"] == 216_000_000
    assert isinstance(day["figures"]["deviation_percent"], str)
    assert isinstance(day["figures"]["exceeds_tolerance"], bool)
    assert (
        day["figures"]["expected_btc"].count(".") == 1
        and len(day["figures"]["expected_btc"].split(".")[1]) == 8
    )
    assert body["tolerance_percent"] == "5"
    assert len(body["missing_days"]) == 6
    assert isinstance(body["exceeds_tolerance"], bool)


def test_a_page_of_sites_costs_the_same_however_many_sites(site_client, site, django_assert_max_num_queries):
    site_client.get("/api/v1/mining/sites/")  # warm caches
    with django_assert_max_num_queries(8) as one:
        site_client.get("/api/v1/mining/sites/")
    for n in range(5):
        _another_site(site, n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(site_client.get("/api/v1/mining/sites/").json()["results"]) == 6


def _another_site(site, n):
    return services.register_site(
        name=f"Site {n}",
        region="Almaty",
        operator="Hydro LLP",
        licence_number=f"ML-9{n}",
        licence_date=dt.date(2020, 1, 1),
        energy_source="hydro",
        power_capacity_mw="10",
        commissioned_on=dt.date(2020, 2, 1),
        pool_name="Pool",
        payout_scheme="fpps",
        payout_address=site.payout_address,
        custody_wallet=WalletFactory(code=f"mined-{n}"),
        tolerance_percent="5",
        actor=None,
    )
