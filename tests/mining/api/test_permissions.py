"""Who may submit and who may read: the site's client and mining clerks submit; auditors and
treasury read only; anyone else 403; no credentials 401."""

import pytest

from reserve.models import Scope
from tests.mining.api.conftest import day_body
from tests.mining.api.helpers import bulk_path, days_path, post
from tests.support.api import assert_error_body, bearer, client_with_token


def _reads(site, report):
    return [
        "/api/v1/mining/sites/",
        f"/api/v1/mining/sites/{site.pk}/",
        "/api/v1/mining/reports/",
        f"/api/v1/mining/reports/{report.pk}/",
        f"/api/v1/mining/reports/{report.pk}/verification/",
    ]


def test_no_credentials_is_401(client, site, report):
    for path in _reads(site, report):
        assert client.get(path).status_code == 401
    response = post(client, days_path(site), day_body())
    assert response.status_code == 401
    assert_error_body(response.json(), "not_authenticated")


def test_a_token_without_the_mining_scope_is_refused(site, report):
    _client, secret = client_with_token("accounting", [Scope.HOLDINGS_READ])
    api = bearer(secret)

    assert api.get("/api/v1/mining/reports/").status_code == 403
    response = post(api, days_path(site), day_body())
    assert response.status_code == 403
    assert "mining:write" in response.json()["message"]


@pytest.mark.parametrize("who", ["auditor_session", "treasury_session", "clerk_session"])
def test_auditors_treasury_and_clerks_read(request, who, site, report):
    api = request.getfixturevalue(who)
    for path in _reads(site, report):
        assert api.get(path).status_code == 200, path


@pytest.mark.parametrize("who", ["auditor_session", "treasury_session"])
def test_auditors_and_treasury_cannot_submit(request, who, site, report):
    api = request.getfixturevalue(who)

    assert post(api, days_path(site), day_body()).status_code == 403
    assert post(api, bulk_path(site), {"days": [day_body()]}).status_code == 403


def test_an_outsider_neither_reads_nor_submits(outsider_session, site, report):
    for path in _reads(site, report):
        assert outsider_session.get(path).status_code == 403, path
    assert post(outsider_session, days_path(site), day_body()).status_code == 403


def test_another_sites_client_is_refused_and_nothing_is_recorded(site, report, fleet):
    from mining.models import DailyLine

    _client, secret = client_with_token("other-site-dc", [Scope.MINING_WRITE])
    api = bearer(secret)

    one = post(api, days_path(site), day_body())
    assert one.status_code == 403 and "does not report the output" in one.json()["message"]
    assert post(api, bulk_path(site), {"days": [day_body()]}).status_code == 403
    assert not DailyLine.objects.exists()


def test_a_suspended_site_reports_nothing(site_client, site, report, mining_clerk):
    from mining.models import DailyLine
    from mining.services import set_site_status

    set_site_status(site=site, status="suspended", reason="Licence under review", actor=mining_clerk)

    response = post(site_client, days_path(site), day_body())
    assert response.status_code == 400 and "suspended" in str(response.json())
    assert not DailyLine.objects.exists()
    set_site_status(site=site, status="active", reason="Licence confirmed", actor=mining_clerk)
    assert post(site_client, days_path(site), day_body()).status_code == 201
