"""Intake's kinds through the REST request API: ``POST /api/v1/requests/forfeitures/``."""

from __future__ import annotations

import pytest

from intake.transitions import FORFEIT
from reserve.models import ApprovalRequest
from tests.support.api import MAKER_SCOPES, bearer, client_with_token, new_key

pytestmark = pytest.mark.django_db

FORFEITURES = "/api/v1/requests/forfeitures/"


def post(api, body):
    return api.post(FORFEITURES, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())


def test_an_intake_clerk_makes_a_forfeiture_through_the_api(team, in_custody, final_order):
    item = in_custody()
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    response = post(bearer(secret), {"item": item.pk, "order": final_order().pk, "amount": "0.2"})
    assert response.status_code == 201, response.json()
    request = ApprovalRequest.objects.get(kind=FORFEIT)
    assert request.maker == team.maker and request.payload["amount"] == "0.20000000"


def test_a_client_without_the_intake_clerk_role_is_refused_with_403(team, in_custody, final_order):
    item = in_custody()
    _client, secret = client_with_token("court-system", MAKER_SCOPES)
    response = post(bearer(secret), {"item": item.pk, "order": final_order().pk})
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "refused"
    assert "Intake clerk" in str(response.json())
    assert not ApprovalRequest.objects.filter(kind=FORFEIT).exists()


def test_a_verdict_under_appeal_is_a_400_naming_the_order(team, in_custody, final_order):
    item = in_custody()
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    response = post(bearer(secret), {"item": item.pk, "order": final_order(appeal_lodged=True).pk})
    assert response.status_code == 400, response.json()
    assert "order" in str(response.json())


def test_a_release_is_made_through_the_api_with_its_destination_pinned(team, in_custody, final_order):
    from intake.models import OrderKind
    from intake.transitions import RELEASE

    owner = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    item = in_custody()
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    body = {"item": item.pk, "order": final_order(kind=OrderKind.RELEASE).pk, "destination": owner.upper()}
    response = bearer(secret).post(
        "/api/v1/requests/releases/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert response.status_code == 201, response.json()
    assert ApprovalRequest.objects.get(kind=RELEASE).payload["destination"] == owner


def test_a_cancellation_needs_a_reason_through_the_api(team, register):
    from intake.transitions import CANCEL

    item = register()
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    api = bearer(secret)
    url = "/api/v1/requests/seizure-cancellations/"
    refused = api.post(url, {"item": item.pk}, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert refused.status_code == 400 and "reason" in str(refused.json())
    made = api.post(
        url,
        {"item": item.pk, "reason": "Order withdrawn by the court"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert made.status_code == 201, made.json()
    assert ApprovalRequest.objects.get(kind=CANCEL).payload["reason"] == "Order withdrawn by the court"
