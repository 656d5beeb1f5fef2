"""Approval requests through the REST API: making, reading, amending, cancelling and deciding,
with idempotency keys, ETags and throttling. The engine's rules are those of the screens; these
tests prove the wiring and the status codes."""

import datetime as dt
import json
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from reserve.api.idempotency import claim_idempotency_key, request_fingerprint
from reserve.approvals.services import create_request
from reserve.ledger.services import get_account
from reserve.models import (
    ApiClient,
    ApprovalRequest,
    AuditEvent,
    Decision,
    IdempotencyRecord,
    JournalEntry,
    RequestStatus,
    Scope,
)
from reserve.retry import ServiceBusy
from tests.support.api import (
    MAKER_SCOPES,
    TRANSFERS,
    Approver,
    assert_error_body,
    bearer,
    client_with_token,
    new_key,
    otp,
    post_transfer,
    transfer_body,
)

ALLOWLIST = "/api/v1/requests/allowlist-changes/"
REQUESTS = "/api/v1/requests/"
BC1 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def detail_url(pk: int) -> str:
    return f"{REQUESTS}{pk}/"


def balances(wallet, other_wallet, asset):
    return tuple(
        get_account(wallet=w, category="reserve:forfeited", asset=asset).balance
        for w in (wallet, other_wallet)
    )


# Making a transfer


def test_a_client_requests_a_transfer(maker, funded_with_destination):
    response = post_transfer(maker)

    assert response.status_code == 201
    body = response.json()
    made = ApprovalRequest.objects.get()
    assert body["id"] == made.pk
    assert body["kind"] == "reserve.transfer"
    assert body["status"] == "pending"
    assert body["maker"] == "court-system@api"
    assert body["payload"] == {
        "asset": "BTC",
        "amount": "1.25000000",
        "from_wallet": "cold-a",
        "to_wallet": "cold-b",
        "to_addresses": [],
        "category": "reserve:forfeited",
        "fee": "0.00000000",
    }
    assert body["digest"] == made.payload_digest
    assert body["policy"]["name"] == "Transfers"
    assert body["progress"] == [{"group": "Custody officer", "required": 2, "approvers": [], "met": False}]
    assert body["ledger_effect"] == [
        {"account": "cold-a / reserve:forfeited", "amount": "1.25000000", "direction": "debit"},
        {"account": "cold-b / reserve:forfeited", "amount": "1.25000000", "direction": "credit"},
    ]
    assert response["ETag"] == f'"1-{made.payload_digest[:16]}"' == body["etag"]
    assert response["Location"] == detail_url(made.pk)
    assert made.maker.username == "court-system@api"


def test_amounts_must_be_strings(maker, funded_with_destination):
    response = post_transfer(maker, amount=1.25)

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")
    assert response.json()["errors"] == {"amount": ['Send amounts as strings, such as "1.50000000".']}
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "1.000000001", "8 decimal places"),
        ("amount", "6", "holds 5.00000000 BTC"),
        ("to_wallet", "nowhere", "No active custody wallet"),
        ("asset", "DOGE", "No active asset"),
        ("category", "external", "is not a valid choice"),
    ],
)
def test_a_bad_transfer_is_refused_with_field_errors(maker, funded_with_destination, field, value, message):
    response = post_transfer(maker, **{field: value})

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")
    assert message in " ".join(response.json()["errors"][field])
    assert not ApprovalRequest.objects.exists()


def test_a_request_no_policy_covers_is_refused(maker, funded_with_destination):
    from reserve.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(kind__in=["reserve.transfer", ""]).update(is_active=False)

    response = post_transfer(maker)

    assert response.status_code == 400
    assert_error_body(response.json(), "refused")
    assert "No approval policy" in response.json()["message"]


def test_a_client_requests_an_allow_list_change(maker, team):
    response = maker.post(
        ALLOWLIST,
        {
            "action": "add",
            "network": "bitcoin",
            "address": BC1,
            "label": "OTC desk",
            "counterparty": "Exchange LLP",
            "evidence": [{"label": "Contract 14/2026", "url": "https://docs.fund.example/contract-14"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "reserve.allowlist_change"
    assert body["policy"]["name"] == "Allow-list changes"
    assert body["evidence"] == [{"label": "Contract 14/2026", "url": "https://docs.fund.example/contract-14"}]


# Idempotency


def test_a_post_without_an_idempotency_key_is_refused(maker, funded_with_destination):
    response = maker.post(TRANSFERS, transfer_body(), format="json")

    assert response.status_code == 400
    assert_error_body(response.json(), "idempotency_key_required")
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize("key", ["x" * 129, "two words", "tab\tkey"])
def test_a_malformed_idempotency_key_is_a_field_error(maker, funded_with_destination, key):
    response = post_transfer(maker, key=key)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]


def test_a_replay_returns_the_first_reply_and_makes_nothing_twice(maker, funded_with_destination):
    first = post_transfer(maker, key="transfer-0001")
    replay = post_transfer(maker, key="transfer-0001")

    assert replay.status_code == first.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["ETag"] == first["ETag"]
    assert replay["Location"] == first["Location"]
    assert not first.has_header("Idempotent-Replayed")
    assert ApprovalRequest.objects.count() == 1
    assert AuditEvent.objects.filter(action="reserve.request.created").count() == 1


def test_the_same_key_with_another_body_is_refused(maker, funded_with_destination):
    post_transfer(maker, key="transfer-0001")

    response = post_transfer(maker, key="transfer-0001", amount="2")

    assert response.status_code == 422
    assert_error_body(response.json(), "idempotency_key_reused")
    assert ApprovalRequest.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused(maker, made):
    key = "shared-key"
    post_transfer(maker, key=key)

    response = maker.post(f"{REQUESTS}{made['id']}/cancel", format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 422


def test_keys_belong_to_their_client(maker, funded_with_destination):
    _client, other_secret = client_with_token("accounting", MAKER_SCOPES)

    post_transfer(maker, key="transfer-0001")
    other = post_transfer(bearer(other_secret), key="transfer-0001")

    assert other.status_code == 201
    assert not other.has_header("Idempotent-Replayed")
    assert ApprovalRequest.objects.count() == 2


def test_a_refused_call_keeps_no_reply_so_the_key_can_be_reused(maker, funded_with_destination):
    refused = post_transfer(maker, key="transfer-0001", amount="6")
    accepted = post_transfer(maker, key="transfer-0001")

    assert refused.status_code == 400
    assert accepted.status_code == 201
    assert ApprovalRequest.objects.count() == 1


def test_a_duplicate_still_running_gets_409(maker, funded_with_destination):
    client = ApiClient.objects.get(name="court-system")
    fingerprint = request_fingerprint("POST", TRANSFERS, transfer_body())
    # The first call with this key claimed it and is still running.
    claim_idempotency_key(
        user=client.user,
        client=client,
        key="in-flight",
        method="POST",
        path=TRANSFERS,
        fingerprint=fingerprint,
    )

    response = post_transfer(maker, key="in-flight")

    assert_refused(response, 409, "idempotency_in_flight")
    assert response["Retry-After"] == "1"
    assert not ApprovalRequest.objects.exists()


def test_an_abandoned_claim_is_taken_over(maker, funded_with_destination):
    client = ApiClient.objects.get(name="court-system")
    fingerprint = request_fingerprint("POST", TRANSFERS, transfer_body())
    claim_idempotency_key(
        user=client.user,
        client=client,
        key="abandoned",
        method="POST",
        path=TRANSFERS,
        fingerprint=fingerprint,
        now=timezone.now() - dt.timedelta(minutes=6),
    )

    response = post_transfer(maker, key="abandoned")

    assert response.status_code == 201
    assert ApprovalRequest.objects.count() == 1


def test_a_stored_reply_expires_after_24_hours(maker, funded_with_destination):
    post_transfer(maker, key="transfer-0001")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    again = post_transfer(maker, key="transfer-0001", amount="2")

    assert again.status_code == 201
    assert ApprovalRequest.objects.count() == 2


@pytest.mark.parametrize(
    "failure", [ServiceBusy(), OperationalError("database is locked")], ids=["retries-exhausted", "lost-race"]
)
def test_a_busy_database_answers_503_and_the_key_can_be_retried(maker, funded_with_destination, failure):
    with mock.patch("reserve.api.requests.create_request", side_effect=failure):
        busy = post_transfer(maker, key="transfer-0001")
    retried = post_transfer(maker, key="transfer-0001")

    assert busy.status_code == 503
    assert_error_body(busy.json(), "service_busy")
    assert busy["Retry-After"] == "1"
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")


# Reading


def test_the_detail_has_an_etag_header(maker, made):
    response = maker.get(detail_url(made["id"]))

    assert response.status_code == 200
    assert response["ETag"] == made["etag"]
    assert response.json() == made


def test_a_client_sees_only_requests_it_made_or_can_decide(
    maker, made, team, funded_with_destination, custody1
):
    other_made = create_request(
        kind="reserve.allowlist_change",
        payload={"action": "add", "network": "bitcoin", "address": BC1, "label": "OTC desk"},
        maker=team.maker,
    )
    _client, stranger_secret = client_with_token("accounting", MAKER_SCOPES)
    stranger = bearer(stranger_secret)

    assert [r["id"] for r in maker.get(REQUESTS).json()["results"]] == [made["id"]]
    assert [r["id"] for r in custody1.api.get(REQUESTS).json()["results"]] == [made["id"]]
    assert stranger.get(REQUESTS).json()["results"] == []
    assert stranger.get(detail_url(made["id"])).status_code == 404
    assert custody1.api.get(detail_url(other_made.pk)).status_code == 404


def test_auditors_see_every_request(made, team):
    _client, secret = client_with_token("audit-office", [Scope.REQUESTS_READ], user=team.outsider)

    assert [r["id"] for r in bearer(secret).get(REQUESTS).json()["results"]] == [made["id"]]


def test_requests_are_listed_newest_first_a_page_at_a_time(maker, funded_with_destination):
    ids = [post_transfer(maker, amount=f"0.{n}").json()["id"] for n in range(1, 4)]

    first = maker.get(REQUESTS, {"page_size": 2}).json()
    second = maker.get(first["next"]).json()

    assert [r["id"] for r in first["results"]] == ids[::-1][:2]
    assert [r["id"] for r in second["results"]] == ids[:1]


def test_requests_filter_by_status_kind_asset_and_date(maker, made, team):
    ApprovalRequest.objects.filter(pk=made["id"]).update(created_at=timezone.now() - dt.timedelta(days=3))
    newer = post_transfer(maker, amount="0.5").json()
    ApprovalRequest.objects.filter(pk=newer["id"]).update(status=RequestStatus.CANCELLED)

    def ids(**params):
        response = maker.get(REQUESTS, params)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids(status="pending") == [made["id"]]
    assert ids(kind="reserve.transfer", asset="BTC") == [newer["id"], made["id"]]
    assert ids(kind="reserve.allowlist_change") == []
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert ids(created_after=yesterday) == [newer["id"]]
    assert ids(created_before=yesterday) == [made["id"]]
    assert ids(ordering="created_at") == [made["id"], newer["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"kind": "reserve.nothing"}, "kind"),
        ({"asset": "DOGE"}, "asset"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "9999-12-31T23:59:59-12:00"}, "created_before"),
    ],
)
def test_a_bad_filter_is_a_field_error(maker, made, params, field):
    response = maker.get(REQUESTS, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_request_list_costs_the_same_queries_for_one_request_or_many(maker, funded_with_destination):
    post_transfer(maker, amount="0.1")
    with CaptureQueriesContext(connection) as one:
        assert maker.get(REQUESTS).status_code == 200
    for n in range(2, 6):
        post_transfer(maker, amount=f"0.{n}")

    with CaptureQueriesContext(connection) as five:
        assert len(maker.get(REQUESTS).json()["results"]) == 5

    assert len(five) == len(one)


@pytest.mark.parametrize("pk", [999, 2**70])
def test_an_unknown_request_is_404(maker, made, pk):
    response = maker.get(detail_url(pk))

    assert response.status_code == 404
    assert_error_body(response.json(), "not_found")


# Deciding


def test_two_approvers_execute_a_transfer_through_the_api(
    made, custody1, custody2, wallet, other_wallet, asset
):
    first = custody1.decide(made["id"], digest=made["digest"])
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "pending"
    assert first.json()["progress"][0]["approvers"] == ["custody1"]
    assert balances(wallet, other_wallet, asset) == (500_000_000, 0)

    second = custody2.decide(made["id"], digest=made["digest"])

    assert second.status_code == 201, second.json()
    body = second.json()
    assert body["status"] == "executed"
    entry = JournalEntry.objects.get(request_id=made["id"])
    assert body["result"] == {"entry": entry.number}
    assert balances(wallet, other_wallet, asset) == (375_000_000, 125_000_000)
    decisions = Decision.objects.filter(request_id=made["id"]).order_by("id")
    assert [(d.approver.username, d.via, d.second_factor) for d in decisions] == [
        ("custody1", "api", True),
        ("custody2", "api", True),
    ]
    assert [d["approver"] for d in body["decisions"]] == ["custody1", "custody2"]


def test_a_decision_replayed_with_its_key_is_recorded_once(made, custody1):
    body = {
        "verdict": "approve",
        "comment": "Checked.",
        "digest": made["digest"],
        "otp_token": otp(custody1.device),
    }
    url = f"{REQUESTS}{made['id']}/decisions/"

    first = custody1.api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="decide-1")
    replay = custody1.api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="decide-1")

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert Decision.objects.count() == 1


def test_a_decision_without_an_idempotency_key_is_refused(made, custody1):
    response = custody1.api.post(
        f"{REQUESTS}{made['id']}/decisions/", {"verdict": "approve", "digest": made["digest"]}, format="json"
    )

    assert response.status_code == 400
    assert_error_body(response.json(), "idempotency_key_required")
    assert not Decision.objects.exists()


def assert_refused(response, status, code, message=None):
    assert response.status_code == status, response.json()
    assert_error_body(response.json(), code)
    if message:
        assert message in response.json()["message"]


def test_the_maker_cannot_approve_its_own_request(maker, made):
    response = maker.post(
        f"{REQUESTS}{made['id']}/decisions/",
        {"verdict": "approve", "digest": made["digest"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )

    assert_refused(response, 403, "refused", "maker cannot decide")
    assert not Decision.objects.exists()


def test_an_approver_outside_the_required_groups_is_refused(made, team):
    auditor = Approver(team.outsider)  # an auditor sees every request but approves none
    treasury = Approver(team.treasury1)  # an approver of other groups does not see it at all

    assert_refused(auditor.decide(made["id"], digest=made["digest"]), 403, "refused", "not an approver")
    assert_refused(treasury.decide(made["id"], digest=made["digest"]), 404, "not_found")
    assert not Decision.objects.exists()


def test_approving_twice_is_refused(made, custody1):
    custody1.decide(made["id"], digest=made["digest"])

    again = custody1.decide(made["id"], digest=made["digest"])

    assert_refused(again, 409, "already_decided", "already decided")
    assert Decision.objects.count() == 1


def test_approving_after_a_rejection_is_refused(made, custody1, custody2, wallet, other_wallet, asset):
    rejected = custody1.decide(made["id"], "reject", digest=made["digest"], comment="Wrong wallet.")
    assert rejected.json()["status"] == "rejected"

    response = custody2.decide(made["id"], digest=made["digest"])

    assert_refused(response, 409, "not_pending", "rejected")
    assert balances(wallet, other_wallet, asset) == (500_000_000, 0)


def test_a_rejection_needs_a_comment(made, custody1):
    response = custody1.decide(made["id"], "reject", digest=made["digest"], comment="  ")

    assert_refused(response, 400, "invalid")
    assert list(response.json()["errors"]) == ["comment"]


def test_approving_after_expiry_is_refused(made, custody1):
    ApprovalRequest.objects.filter(pk=made["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert_refused(custody1.decide(made["id"], digest=made["digest"]), 409, "expired", "expired")
    assert not Decision.objects.exists()


def test_approving_a_stale_digest_is_refused(made, custody1):
    response = custody1.decide(made["id"], digest="0" * 64)

    assert_refused(response, 409, "digest_mismatch", "digest mismatch")
    assert not Decision.objects.exists()


def test_a_decision_needs_the_second_factor(made, custody1):
    response = custody1.decide(made["id"], digest=made["digest"], otp_token=None)

    assert_refused(response, 400, "refused", "second factor")
    assert not Decision.objects.exists()


def test_a_wrong_code_is_refused_and_nothing_is_recorded(made, custody1):
    response = custody1.decide(made["id"], digest=made["digest"], otp_token="000000")

    assert_refused(response, 400, "invalid")
    assert list(response.json()["errors"]) == ["otp_token"]
    assert not Decision.objects.exists()


def test_a_code_of_another_person_is_refused(made, custody1, custody2):
    response = custody1.decide(made["id"], digest=made["digest"], otp_token=otp(custody2.device))

    assert_refused(response, 400, "invalid")


def test_a_superuser_cannot_approve_through_the_api(made, team):
    root = Approver(team.root, scopes=[Scope.REQUESTS_READ, Scope.REQUESTS_DECIDE])

    assert_refused(root.decide(made["id"], digest=made["digest"]), 403, "refused", "not an approver")
    assert not Decision.objects.exists()


# Amending


def amend(api, pk, body, *, if_match=None, method="put"):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return getattr(api, method)(f"{REQUESTS}{pk}/payload", body, format="json", **headers)


def payload_of(made, **changes):
    payload = dict(made["payload"])
    payload.update(changes)
    return payload


def test_the_maker_amends_with_the_current_etag(maker, made, custody1):
    custody1.decide(made["id"], digest=made["digest"])

    response = amend(maker, made["id"], payload_of(made, amount="1.5"), if_match=made["etag"])

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["revision"] == 2
    assert body["payload"]["amount"] == "1.50000000"
    assert response["ETag"] == body["etag"] != made["etag"]
    assert body["progress"][0]["approvers"] == []  # the earlier approval stops counting


def test_a_patch_changes_only_the_fields_given(maker, made):
    response = amend(maker, made["id"], {"fee": "0.0001"}, if_match=made["etag"], method="patch")

    assert response.status_code == 200, response.json()
    assert response.json()["payload"] == payload_of(made, fee="0.00010000")


def test_a_stale_if_match_is_refused_and_changes_nothing(maker, made):
    amend(maker, made["id"], payload_of(made, amount="1.5"), if_match=made["etag"])

    response = amend(maker, made["id"], payload_of(made, amount="2"), if_match=made["etag"])

    assert_refused(response, 412, "precondition_failed")
    stored = ApprovalRequest.objects.get(pk=made["id"])
    assert (stored.revision, stored.payload["amount"]) == (2, "1.50000000")


def test_an_amendment_without_if_match_is_refused(maker, made):
    response = amend(maker, made["id"], payload_of(made, amount="2"))

    assert_refused(response, 428, "precondition_required")
    assert ApprovalRequest.objects.get(pk=made["id"]).revision == 1


@pytest.mark.parametrize("if_match", ["*", 'W/"1-0000"', '"1-0000000000000000"'])
def test_only_the_exact_etag_matches(maker, made, if_match):
    response = amend(maker, made["id"], payload_of(made, amount="2"), if_match=if_match)

    assert response.status_code == 412


def test_a_decision_on_the_digest_before_an_amendment_is_refused(maker, made, custody1):
    amend(maker, made["id"], payload_of(made, amount="1.5"), if_match=made["etag"])

    assert_refused(custody1.decide(made["id"], digest=made["digest"]), 409, "digest_mismatch")


def test_only_the_maker_amends(made, team):
    _client, secret = client_with_token("custody2-desk", MAKER_SCOPES, user=team.custody2)

    response = amend(bearer(secret), made["id"], payload_of(made, amount="2"), if_match=made["etag"])

    assert_refused(response, 403, "permission_denied", "Only the maker")
    assert ApprovalRequest.objects.get(pk=made["id"]).revision == 1


def test_an_invalid_amendment_is_a_field_error(maker, made):
    response = amend(maker, made["id"], payload_of(made, amount="-1"), if_match=made["etag"])

    assert_refused(response, 400, "invalid")
    assert list(response.json()["errors"]) == ["amount"]


# Cancelling


def cancel(api, pk, key=None):
    return api.post(f"{REQUESTS}{pk}/cancel", format="json", HTTP_IDEMPOTENCY_KEY=key or new_key())


def test_the_maker_cancels_a_request(maker, made, custody1):
    response = cancel(maker, made["id"])

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert_refused(cancel(maker, made["id"]), 409, "not_pending")
    assert_refused(custody1.decide(made["id"], digest=made["digest"]), 409, "not_pending")


def test_only_the_maker_cancels(made, team):
    _client, secret = client_with_token("audit-office", MAKER_SCOPES, user=team.outsider)

    assert_refused(cancel(bearer(secret), made["id"]), 403, "permission_denied", "Only the maker")
    assert ApprovalRequest.objects.get(pk=made["id"]).status == RequestStatus.PENDING


# Throttling


def test_a_client_over_its_rate_gets_429_with_retry_after(settings, made):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_client": "3/min"}}
    _client, secret = client_with_token("accounting", MAKER_SCOPES)
    _client, other_secret = client_with_token("treasury-system", MAKER_SCOPES)
    api = bearer(secret)

    statuses = [api.get(REQUESTS).status_code for _ in range(4)]
    response = api.post(TRANSFERS, transfer_body(), format="json", HTTP_IDEMPOTENCY_KEY=new_key())

    assert statuses == [200, 200, 200, 429]
    assert_refused(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert bearer(other_secret).get(REQUESTS).status_code == 200  # counted per client


def test_people_signed_in_are_not_throttled_per_client(settings, auditor):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_client": "1/min"}}
    session = APIClient()
    session.force_authenticate(auditor)

    assert [session.get("/api/v1/assets/").status_code for _ in range(3)] == [200, 200, 200]


# Bad input is never a server error


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/requests/?asset=B%00",
        "/api/v1/requests/?created_after=2026%00",
        "/api/v1/balances/?wallet=c%00",
        "/api/v1/wallets/cold-a/lots/?asset=B%00",
    ],
)
def test_a_null_character_in_the_query_is_a_field_error(maker, made, url):
    response = maker.get(url)

    assert_refused(response, 400, "invalid")


@pytest.mark.parametrize(
    "url", ["/api/v1/assets/B%00/", "/api/v1/wallets/cold%00/", "/api/v1/wallets/a%00/lots/"]
)
def test_a_null_character_in_the_path_is_not_found(maker, made, url):
    assert_refused(maker.get(url), 404, "not_found")


def test_a_null_character_in_a_body_is_a_field_error(maker, funded_with_destination):
    response = post_transfer(maker, from_wallet="cold\x00a", comment="\x00")

    assert_refused(response, 400, "invalid")
    assert set(response.json()["errors"]) == {"from_wallet", "comment"}


@pytest.mark.parametrize("url", ["/api/v1/nothing/", "/api/v1/requests/abc/", "/api/v1/requests/1/payload/"])
def test_an_unknown_api_path_is_404_with_the_error_body(maker, url):
    assert_refused(maker.post(url, {}, format="json"), 404, "not_found")


# Documentation


def test_the_schema_documents_the_contract(db):
    response = APIClient().get("/api/schema/", {"format": "json"})

    schema = json.loads(response.content)
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": mock.ANY,
    }
    create = schema["paths"][TRANSFERS]["post"]
    assert {(p["in"], p["name"], p["required"]) for p in create["parameters"]} >= {
        ("header", "Idempotency-Key", True)
    }
    assert set(create["responses"]) >= {"201", "400", "401", "403", "409", "422", "429", "503"}
    assert create["x-required-scope"] == "requests:write"
    amend_ = schema["paths"]["/api/v1/requests/{id}/payload"]["put"]
    assert ("header", "If-Match") in {(p["in"], p["name"]) for p in amend_["parameters"]}
    assert set(amend_["responses"]) >= {"200", "412", "428"}
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "24 hours" in schema["info"]["description"]


def test_a_decision_after_a_stricter_policy_took_the_request_away_is_a_conflict(made, custody1):
    import datetime as dt

    from django.contrib.auth.models import Group

    from reserve.models import ApprovalPolicy, PolicyTier

    stricter = ApprovalPolicy.objects.create(
        priority=5,
        name="Transfers need the board",
        kind="reserve.transfer",
        expires_after=dt.timedelta(days=7),
    )
    PolicyTier.objects.create(
        policy=stricter, position=1, group=Group.objects.get(name="Board member"), required=2
    )

    assert_refused(custody1.decide(made["id"], digest=made["digest"]), 409, "policy_changed")
    assert not Decision.objects.exists()


def test_every_operation_with_query_parameters_documents_its_400():
    """A null character in any query parameter is a 400 field error before the view runs; the
    schema says so wherever a client can send query parameters (found by schemathesis)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if any(p.get("in") == "query" for p in operation.get("parameters", []))
        and "400" not in operation["responses"]
    ]
    assert missing == []
