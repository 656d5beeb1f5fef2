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


def test_custody_intake_through_the_api_checks_the_chain_first(settings, team, register, wallet):
    from intake.models import ChainCheck
    from intake.transitions import TAKE_INTO_CUSTODY
    from tests.intake.esplora import esplora
    from tests.support.factories import WalletAddressFactory

    custody_address = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    WalletAddressFactory(wallet=wallet, address=custody_address)
    item = register()
    esplora(settings, pays_to=custody_address, value=50_000_000)
    settings.CHAIN_SOURCES = {
        "bitcoin": {**settings.CHAIN_SOURCES["bitcoin"], "base_url": "http://127.0.0.1:9/api"}
    }
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    response = bearer(secret).post(
        "/api/v1/requests/custody-intake/",
        {"item": item.pk, "received_amount": "0.5"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    # No transport is injected here: the source is unreachable, and that is a refusal that
    # names the item, with nothing made.
    assert response.status_code == 400, response.json()
    assert "item" in response.json()["errors"]
    assert not ApprovalRequest.objects.filter(kind=TAKE_INTO_CUSTODY).exists()
    assert not ChainCheck.objects.exists()


def test_offline_custody_intake_through_the_api_needs_the_evidence(team, register):
    from intake.transitions import TAKE_INTO_CUSTODY

    item = register()
    _client, secret = client_with_token("clerk-desk", MAKER_SCOPES, user=team.maker)
    api = bearer(secret)
    body = {"item": item.pk, "received_amount": "0.5"}
    refused = api.post(
        "/api/v1/requests/custody-intake/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert refused.status_code == 400 and "evidence" in refused.json()["errors"]
    made = api.post(
        "/api/v1/requests/custody-intake/",
        {**body, "receipt_evidence": "Exchange statement 2026/118"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert made.status_code == 201, made.json()
    assert ApprovalRequest.objects.get(kind=TAKE_INTO_CUSTODY).maker == team.maker


def test_a_release_transfer_is_recorded_through_the_api(team, released):
    from intake.transitions import RELEASE_TRANSFER

    item = released()
    _client, secret = client_with_token("custody-desk", MAKER_SCOPES, user=team.custody2)
    response = bearer(secret).post(
        "/api/v1/requests/release-transfers/",
        {"item": item.pk, "txid": "cd" * 32, "sent_amount": "0.4999", "transfer_evidence": "Signed record"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 201, response.json()
    request = ApprovalRequest.objects.get(kind=RELEASE_TRANSFER)
    assert request.maker == team.custody2 and request.payload["sent_amount"] == "0.49990000"
