"""One mapping from the engine's refusals to HTTP statuses, whatever the endpoint: making a
request and deciding one answer the same status for the same kind of refusal (field errors
400, the caller may not 403, the request's state in the way 409)."""

from unittest import mock

import pytest

from reserve.approvals.services import ApprovalError
from reserve.models import ApprovalRequest, JournalEntry, RequestStatus, Wallet
from tests.support.api import assert_error_body, post_transfer

REFUSALS = [
    (ApprovalError({"amount": ["Too much."]}), 400, "invalid"),
    (ApprovalError("You may not.", code="refused"), 403, "refused"),
    (ApprovalError("It changed.", code="policy_changed"), 409, "policy_changed"),
    (ApprovalError("It is closed.", code="not_pending"), 409, "not_pending"),
    (ApprovalError("No policy covers this."), 400, "refused"),
]


@pytest.mark.parametrize(("refusal", "status", "code"), REFUSALS, ids=lambda v: getattr(v, "code", None))
def test_making_and_deciding_answer_the_same_status_for_the_same_refusal(
    maker, made, custody1, refusal, status, code
):
    with mock.patch("reserve.api.requests.create_request", side_effect=refusal):
        created = post_transfer(maker)
    with mock.patch("reserve.api.decisions.decide", side_effect=refusal):
        decided = custody1.decide(made["id"], digest=made["digest"])

    assert (created.status_code, decided.status_code) == (status, status)
    assert_error_body(created.json(), code)
    assert_error_body(decided.json(), code)


def test_the_maker_deciding_is_refused_as_a_permission(maker, made):
    response = maker.post(
        f"/api/v1/requests/{made['id']}/decisions/",
        {"verdict": "approve", "digest": made["digest"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-maker-decides",
    )

    assert response.status_code == 403
    assert_error_body(response.json(), "refused")


def test_a_wallet_deactivated_before_the_last_approval_is_a_conflict(made, custody1, custody2, other_wallet):
    """The decider's input is fine; the request's state is in the way: 409, nothing moves."""
    assert custody1.decide(made["id"], digest=made["digest"]).status_code == 201
    Wallet.objects.filter(pk=other_wallet.pk).update(is_active=False)

    response = custody2.decide(made["id"], digest=made["digest"])

    assert response.status_code == 409
    assert_error_body(response.json(), "deactivated")
    assert "cold-b" in response.json()["message"]
    assert ApprovalRequest.objects.get(pk=made["id"]).status == RequestStatus.PENDING
    assert not JournalEntry.objects.filter(request_id=made["id"]).exists()
