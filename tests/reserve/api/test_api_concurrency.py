"""Concurrent duplicates through the REST API on PostgreSQL (issue #12): 50 POSTs with one
Idempotency-Key and one body produce one effect; the others get the stored reply or 409.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sdaf_api .venv/bin/pytest tests/reserve/api/test_api_concurrency.py
"""

import threading

import pytest
from django.db import connection

from reserve.models import ApprovalRequest, Decision, IdempotencyRecord, Scope
from tests.support.api import MAKER_SCOPES, Approver, bearer, client_with_token, otp

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 50


def storm(post) -> list:
    """Run ``post()`` from CALLERS threads released at once; return the responses."""
    barrier = threading.Barrier(CALLERS)
    responses, unexpected = [], []
    lock = threading.Lock()

    def call():
        try:
            barrier.wait()
            response = post()
            with lock:
                responses.append(response)
        except BaseException as exc:  # noqa: BLE001
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert len(responses) == CALLERS
    return responses


def assert_one_effect(responses, success: int) -> None:
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {success, 409}, statuses
    winners = [r for r in responses if r.status_code == success]
    assert winners, statuses
    first = [r for r in winners if not r.has_header("Idempotent-Replayed")]
    assert len(first) == 1
    assert all(r.content == first[0].content for r in winners)
    assert all(r.json()["code"] == "idempotency_in_flight" for r in responses if r.status_code == 409)


def test_fifty_identical_transfer_requests_make_one(team, asset, wallet, other_wallet, fund_in):
    fund_in(wallet, asset, 10**8)
    _client, secret = client_with_token("court-system", MAKER_SCOPES)
    body = {
        "asset": "BTC",
        "amount": "0.5",
        "from_wallet": wallet.code,
        "to_wallet": other_wallet.code,
        "category": "reserve:forfeited",
    }

    responses = storm(
        lambda: bearer(secret).post(
            "/api/v1/requests/transfers/", body, format="json", HTTP_IDEMPOTENCY_KEY="storm-1"
        )
    )

    assert_one_effect(responses, 201)
    assert ApprovalRequest.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


def test_fifty_identical_decisions_record_one(team, asset, wallet, other_wallet, fund_in):
    fund_in(wallet, asset, 10**8)
    _client, secret = client_with_token("court-system", MAKER_SCOPES)
    made = (
        bearer(secret)
        .post(
            "/api/v1/requests/transfers/",
            {
                "asset": "BTC",
                "amount": "0.5",
                "from_wallet": wallet.code,
                "to_wallet": other_wallet.code,
                "category": "reserve:forfeited",
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="make-1",
        )
        .json()
    )
    approver = Approver(team.custody1, scopes=[Scope.REQUESTS_READ, Scope.REQUESTS_DECIDE])
    body = {
        "verdict": "approve",
        "comment": "Checked.",
        "digest": made["digest"],
        "otp_token": otp(approver.device),
    }

    responses = storm(
        lambda: bearer(approver.secret).post(
            f"/api/v1/requests/{made['id']}/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY="decide-1"
        )
    )

    assert_one_effect(responses, 201)
    assert Decision.objects.count() == 1
