"""``mining.accept_output`` through the REST request API: ``POST /api/v1/requests/mining-output/``."""

from __future__ import annotations

import pytest

from mining.transitions import ACCEPT_OUTPUT
from reserve.models import ApprovalRequest
from tests.support.api import MAKER_SCOPES, bearer, client_with_token, new_key

pytestmark = pytest.mark.django_db

MINING_OUTPUT = "/api/v1/requests/mining-output/"


def post(api, body):
    return api.post(MINING_OUTPUT, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())


def test_a_mining_clerk_requests_acceptance_through_the_api(team, report, verified, mining_clerk):
    _client, secret = client_with_token("site-desk", MAKER_SCOPES, user=mining_clerk)
    response = post(bearer(secret), {"report": report.pk, "verification_digest": verified.digest})
    assert response.status_code == 201, response.json()
    request = ApprovalRequest.objects.get(kind=ACCEPT_OUTPUT)
    assert request.maker == mining_clerk and request.payload["verification_digest"] == verified.digest


def test_a_stale_digest_is_a_400_naming_the_field(team, report, verified, mining_clerk):
    _client, secret = client_with_token("site-desk", MAKER_SCOPES, user=mining_clerk)
    response = post(bearer(secret), {"report": report.pk, "verification_digest": "0" * 64})
    assert response.status_code == 400, response.json()
    assert "verification_digest" in str(response.json())
    assert not ApprovalRequest.objects.filter(kind=ACCEPT_OUTPUT).exists()


def test_an_intake_clerk_is_refused_with_403(team, report, verified):
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    response = post(bearer(secret), {"report": report.pk})
    assert response.status_code == 403, response.json()
    assert "Mining clerk" in str(response.json())
