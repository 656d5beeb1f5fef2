import pytest

from intake.models import SeizedItem
from intake.transitions import request_custody_intake
from tests.intake.api.conftest import ITEMS, TXID, post

pytestmark = pytest.mark.django_db


def test_a_court_system_registers_a_seized_output(court_system, item_body):
    response = post(court_system, ITEMS, item_body())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "registered"
    assert body["claimed_amount"] == "0.50000000" and body["received_amount"] is None
    assert body["txid"] == TXID and body["vout"] == 0
    assert body["custody_chain_head"]["sequence"] == 1
    assert body["custody_chain_head"]["action"] == "intake.item.registered"
    assert body["ledger_entries"] == []


def test_an_exchange_account_item_needs_the_courts_reference(court_system, item_body):
    body = item_body(source_kind="exchange_account", exchange_account="binance:12345", txid="", vout=None)
    body.pop("source_address")
    response = post(court_system, ITEMS, body)
    assert response.status_code == 400
    assert "court_reference" in response.json()["errors"]
    response = post(court_system, ITEMS, {**body, "court_reference": "KZ-SIC-ITEM-1"})
    assert response.status_code == 201, response.json()
    assert response.json()["court_reference"] == "KZ-SIC-ITEM-1"


def test_the_status_shows_custody_and_ledger_entries(court_system, item_body, team, approve):
    item_id = post(court_system, ITEMS, item_body()).json()["id"]
    item = SeizedItem.objects.get(pk=item_id)
    request = request_custody_intake(
        item=item, received_amount="0.5", evidence="Explorer page, 6 confirmations", maker=team.maker
    )
    approve(request, team.custody1)
    request.refresh_from_db()
    body = court_system.get(f"{ITEMS}{item_id}/").json()
    assert body["state"] == "in_custody"
    assert body["received_amount"] == "0.50000000"
    assert body["ledger_entries"] == [request.result["entry"]]
    assert body["custody_chain_head"]["action"] == "intake.item.in_custody"


def test_an_item_in_custody_keeps_its_txid_and_amount(court_system, item_body, team, approve):
    item_id = post(court_system, ITEMS, item_body()).json()["id"]
    item = SeizedItem.objects.get(pk=item_id)
    approve(
        request_custody_intake(item=item, received_amount="0.5", evidence="6 conf.", maker=team.maker),
        team.custody1,
    )
    response = post(court_system, ITEMS, item_body(claimed_amount="0.7"))
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["claimed_amount"]
    assert (
        court_system.patch(f"{ITEMS}{item_id}/", {"claimed_amount": "0.7"}, format="json").status_code == 405
    )
    item.refresh_from_db()
    assert item.claimed_amount == 50_000_000


@pytest.mark.parametrize(
    "overrides, field, says",
    [
        ({"claimed_amount": 0.5}, "claimed_amount", "strings"),
        ({"claimed_amount": 1}, "claimed_amount", "strings"),
        ({"claimed_amount": "0.123456789"}, "claimed_amount", ""),
        ({"claimed_amount": "-1"}, "claimed_amount", ""),
        ({"claimed_amount": "1e3"}, "claimed_amount", ""),
        ({"vout": -1}, "vout", ""),
        ({"vout": "0"}, "", ""),  # DRF reads "0" as 0: accepted
        ({"vout": 2**40}, "vout", ""),
        ({"vout": 1.5}, "vout", ""),
        ({"txid": "zz" * 32}, "txid", ""),
        ({"asset": "DOGE"}, "asset", ""),
        ({"custody_wallet": {"code": "cold-a"}}, "custody_wallet", ""),
        ({"source_kind": "cash"}, "source_kind", ""),
        ({"restriction": "No Sale!"}, "restriction", ""),
        ({"exchange_account": "x" * 10_000}, "exchange_account", ""),
        ({"order": None}, "order", ""),
        ({"admin": True}, "admin", "Unknown"),
    ],
)
def test_hostile_item_bodies_are_refused_field_by_field(court_system, item_body, overrides, field, says):
    response = post(court_system, ITEMS, item_body(**overrides))
    if not field:
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors
    assert says in " ".join(errors[field])
    assert not SeizedItem.objects.exists()


def test_the_item_list_costs_the_same_queries_for_many_items(
    court_system, item_body, django_assert_max_num_queries
):
    for vout in range(10):
        assert post(court_system, ITEMS, item_body(vout=vout)).status_code == 201
    with django_assert_max_num_queries(10):
        response = court_system.get(ITEMS)
    assert len(response.json()["results"]) == 10
    order = response.json()["results"][0]["order"]
    assert len(court_system.get(ITEMS, {"order": order}).json()["results"]) == 10
    assert court_system.get(ITEMS, {"order": "x"}).json()["results"] == []


def test_an_auditor_reads_items_and_an_outsider_does_not(auditor_api, outsider_api, court_system, item_body):
    item_id = post(court_system, ITEMS, item_body()).json()["id"]
    assert auditor_api.get(f"{ITEMS}{item_id}/").status_code == 200
    assert post(auditor_api, ITEMS, item_body(vout=1)).status_code == 403
    assert outsider_api.get(f"{ITEMS}{item_id}/").status_code == 403


def test_a_clerk_registers_an_item_with_a_session(clerk_api, item_body):
    assert post(clerk_api, ITEMS, item_body()).status_code == 201


def test_an_outsider_writing_to_a_read_only_endpoint_is_refused_not_told_405(
    outsider_api, auditor_api, court_system, item_body
):
    item_id = post(court_system, ITEMS, item_body()).json()["id"]
    assert outsider_api.patch(f"{ITEMS}{item_id}/", {}, format="json").status_code == 403
    assert auditor_api.patch(f"{ITEMS}{item_id}/", {}, format="json").status_code == 405
