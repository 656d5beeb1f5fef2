"""Hostile bodies are refused with field errors, never a server error, never a partial write."""

import pytest

from mining.models import DailyLine, OutputReport
from tests.mining.api.conftest import day_body
from tests.mining.api.helpers import bulk_path, days_path, post
from tests.support.api import assert_error_body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"btc_gross": 216000000.0}, "btc_gross"),
        ({"btc_gross": 2.16}, "btc_gross"),
        ({"pool_fees": -1}, "pool_fees"),
        ({"btc_net": True}, "btc_net"),
        ({"btc_gross": "1e9"}, "btc_gross"),
        ({"btc_gross": 10**30}, "btc_gross"),
        ({"uptime_percent": 98.5}, "uptime_percent"),
        ({"uptime_percent": "150"}, "uptime_percent"),
        ({"uptime_percent": "-1"}, "uptime_percent"),
        ({"energy_mwh": "NaN"}, "energy_mwh"),
        ({"energy_mwh": "1" * 10_000}, "energy_mwh"),
        ({"energy_cost_kzt": {"amount": "1"}}, "energy_cost_kzt"),
        ({"average_hashrate_hs": "9" * 30}, "average_hashrate_hs"),
        ({"day": "2999-01-01"}, "day"),
        ({"day": "yesterday"}, "day"),
        ({"day": ["2019-01-20"]}, "day"),
        ({"day": None}, "day"),
        ({"payout_txids": ["not-a-txid"]}, "payout_txids"),
        ({"payout_txids": "ab" * 32}, "payout_txids"),
        ({"payout_txids": ["x" * 10_000]}, "payout_txids.0"),
        ({"btc_net": 1}, "btc_net"),
        ({"sats": 1}, "sats"),
    ],
)
def test_a_bad_figure_is_a_field_error(site_client, site, report, overrides, field):
    response = post(site_client, days_path(site), day_body(**overrides))

    assert response.status_code == 400, response.json()
    body = response.json()
    assert_error_body(body, "invalid")
    assert field in body["errors"], body
    assert not DailyLine.objects.exists()


def test_a_float_is_refused_with_a_clear_message(site_client, site, report):
    body = post(site_client, days_path(site), day_body(btc_gross=216000000.0)).json()

    assert "not a JSON number with a fraction" in body["errors"]["btc_gross"][0]


def test_a_missing_figure_is_named(site_client, site, report):
    body = day_body()
    del body["btc_net"]

    assert "btc_net" in post(site_client, days_path(site), body).json()["errors"]


@pytest.mark.parametrize("body", [[], "text", 42, None, {"days": "many"}, {"days": [[1]]}])
def test_a_body_of_the_wrong_shape_is_refused(site_client, site, body):
    for path in (days_path(site), bulk_path(site)):
        response = post(site_client, path, body)
        assert response.status_code == 400, (path, body, response.content)
    assert not OutputReport.objects.exists()


def test_without_an_idempotency_key_nothing_happens(site_client, site, report):
    response = site_client.post(days_path(site), day_body(), format="json")

    assert response.status_code == 400
    assert_error_body(response.json(), "idempotency_key_required")
    assert not DailyLine.objects.exists()


def test_a_body_that_is_not_json_is_malformed(site_client, site):
    response = site_client.post(
        days_path(site), b'{"day": NaN}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")
