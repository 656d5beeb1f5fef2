"""The same call from a court system twice makes one record; the same identifier with other
content is refused with the differing fields named; concurrent duplicates make one record."""

import pytest

from intake.models import Case, CourtOrder, SeizedItem
from reserve.models import AuditEvent
from tests.intake.api.conftest import CASES, ITEMS, ORDERS, case_body, order_body, post
from tests.support.api import assert_error_body


@pytest.mark.django_db
def test_the_same_case_twice_is_one_case(court_system, court):
    first = post(court_system, CASES, case_body())
    second = post(court_system, CASES, case_body(number=" 2-15/2026 "))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="intake.case.opened").count() == 1


@pytest.mark.django_db
def test_the_same_case_with_other_content_is_a_conflict_naming_the_fields(court_system, court):
    post(court_system, CASES, case_body())
    response = post(court_system, CASES, case_body(opened_on="2026-02-01", investigating_authority="Police"))
    assert response.status_code == 409
    body = response.json()
    assert_error_body(body, "reference_conflict")
    assert sorted(body["errors"]) == ["investigating_authority", "opened_on"]
    assert "investigating_authority, opened_on" in body["message"]
    assert Case.objects.get().investigating_authority == "Anti-Corruption Agency"


@pytest.mark.django_db
def test_the_same_order_reference_twice_is_one_order(court_system, case):
    first = post(court_system, ORDERS, order_body(case.pk))
    second = post(court_system, ORDERS, order_body(case.pk))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert CourtOrder.objects.count() == 1


@pytest.mark.django_db
def test_a_retry_after_the_appeal_facts_arrived_still_matches(court_system, case):
    order_id = post(court_system, ORDERS, order_body(case.pk)).json()["id"]
    court_system.patch(f"{ORDERS}{order_id}/", {"appeal_lodged": True}, format="json")
    assert post(court_system, ORDERS, order_body(case.pk)).status_code == 200


@pytest.mark.django_db
def test_the_same_order_reference_with_another_number_is_a_conflict(court_system, case):
    post(court_system, ORDERS, order_body(case.pk))
    response = post(court_system, ORDERS, order_body(case.pk, number="A-2", kind="confiscation"))
    assert response.status_code == 409
    assert sorted(response.json()["errors"]) == ["kind", "number"]
    assert CourtOrder.objects.get().number == "A-1"


@pytest.mark.django_db
def test_the_same_output_twice_is_one_item(court_system, item_body):
    first = post(court_system, ITEMS, item_body())
    second = post(court_system, ITEMS, item_body(txid=item_body()["txid"].upper(), claimed_amount="0.50"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert SeizedItem.objects.count() == 1
    assert AuditEvent.objects.filter(action="intake.item.registered").count() == 1


@pytest.mark.django_db
def test_the_same_output_with_another_amount_or_wallet_is_a_conflict(court_system, item_body, other_wallet):
    post(court_system, ITEMS, item_body())
    response = post(court_system, ITEMS, item_body(claimed_amount="0.6", custody_wallet=other_wallet.code))
    assert response.status_code == 409
    assert sorted(response.json()["errors"]) == ["claimed_amount", "custody_wallet"]


@pytest.mark.django_db
def test_the_same_exchange_item_reference_twice_is_one_item(court_system, item_body):
    body = item_body(
        source_kind="exchange_account",
        source_address="",
        exchange_account="binance:12345",
        txid="",
        vout=None,
        court_reference="KZ-SIC-ITEM-9",
    )
    assert post(court_system, ITEMS, body).status_code == 201
    assert post(court_system, ITEMS, body).status_code == 200
    response = post(court_system, ITEMS, {**body, "exchange_account": "binance:99999"})
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["exchange_account"]
    assert SeizedItem.objects.count() == 1


@pytest.mark.django_db
def test_the_same_idempotency_key_replays_the_first_reply(court_system, court):
    first = post(court_system, CASES, case_body(), key="case-1")
    replay = post(court_system, CASES, case_body(), key="case-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert post(court_system, CASES, case_body(number="other"), key="case-1").status_code == 422


@pytest.mark.django_db
def test_a_post_without_an_idempotency_key_is_refused(court_system, court):
    response = court_system.post(CASES, case_body(), format="json")
    assert response.status_code == 400
    assert_error_body(response.json(), "idempotency_key_required")


# -- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_registrations_make_one_record(item_body, case):
    from reserve.models import Scope
    from tests.support.api import bearer, client_with_token
    from tests.support.concurrency import run_threads

    _client, secret = client_with_token("court-system", [Scope.INTAKE_WRITE])

    statuses: dict[str, list[int]] = {"case": [], "order": [], "item": []}

    def work(index):
        court_system = bearer(secret)  # one HTTP client per thread
        statuses["case"].append(post(court_system, CASES, case_body(number="C-77")).status_code)
        statuses["order"].append(post(court_system, ORDERS, order_body(case.pk)).status_code)
        statuses["item"].append(post(court_system, ITEMS, item_body()).status_code)

    errors = run_threads(4, work)
    assert errors == []
    for kind, codes in statuses.items():
        assert sorted(codes) == [200, 200, 200, 201], kind
    assert Case.objects.filter(number="C-77").count() == 1
    assert CourtOrder.objects.filter(court_reference="KZ-SIC-2026-000123").count() == 1
    assert SeizedItem.objects.count() == 1
