import datetime as dt

import pytest

from intake.models import CourtOrder
from reserve.models import AuditEvent
from tests.intake.api.conftest import ORDERS, order_body, post

pytestmark = pytest.mark.django_db


def test_a_court_system_records_an_order_under_its_reference(court_system, case):
    response = post(court_system, ORDERS, order_body(case.pk))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["court_reference"] == "KZ-SIC-2026-000123"
    assert body["document"] is None and body["items"] == []
    order = CourtOrder.objects.get(pk=body["id"])
    assert order.recorded_by.api_client.name == "court-system"


def test_an_order_needs_the_courts_reference(court_system, case):
    body = order_body(case.pk)
    del body["court_reference"]
    response = post(court_system, ORDERS, body)
    assert response.status_code == 400
    assert "court_reference" in response.json()["errors"]


def test_the_appeal_term_facts_are_updated_with_history_and_audit(court_system, api_order):
    response = court_system.patch(
        f"{ORDERS}{api_order.pk}/",
        {"appeal_deadline": "2026-01-27", "in_force_on": "2026-01-28"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    api_order.refresh_from_db()
    assert api_order.in_force_on == dt.date(2026, 1, 28)
    event = AuditEvent.objects.filter(action="intake.order.updated").get()
    assert event.data["in_force_on"] == {"before": None, "after": "2026-01-28"}
    assert api_order.history.first().history_user.api_client.name == "court-system"

    response = court_system.patch(f"{ORDERS}{api_order.pk}/", {"appeal_lodged": True}, format="json")
    assert response.json()["appeal_lodged"] is True
    assert response.json()["in_force_on"] == "2026-01-28"


def test_an_order_cannot_enter_into_force_before_its_appeal_deadline(court_system, api_order):
    response = court_system.patch(
        f"{ORDERS}{api_order.pk}/",
        {"appeal_deadline": "2026-01-27", "in_force_on": "2026-01-20"},
        format="json",
    )
    assert response.status_code == 400
    assert "in_force_on" in response.json()["errors"]
    api_order.refresh_from_db()
    assert api_order.appeal_deadline is None
    assert not AuditEvent.objects.filter(action="intake.order.updated").exists()


@pytest.mark.parametrize("body", [{}, {"number": "B-2"}, {"kind": "release"}, {"appeal_lodged": "perhaps"}])
def test_only_the_appeal_term_facts_may_change(court_system, api_order, body):
    response = court_system.patch(f"{ORDERS}{api_order.pk}/", body, format="json")
    assert response.status_code == 400
    api_order.refresh_from_db()
    assert api_order.number == "A-7" and api_order.kind == "arrest"


def test_an_auditor_reads_an_order_but_cannot_change_it(auditor_api, api_order):
    assert auditor_api.get(f"{ORDERS}{api_order.pk}/").status_code == 200
    response = auditor_api.patch(f"{ORDERS}{api_order.pk}/", {"appeal_lodged": True}, format="json")
    assert response.status_code == 403


def test_an_unknown_order_is_404(court_system, db):
    assert court_system.get(f"{ORDERS}999999/").status_code == 404
    assert court_system.get(f"{ORDERS}99999999999999999999999/").status_code == 404


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"kind": "execution"}, "kind"),
        ({"issued_on": 20260112}, "issued_on"),
        ({"court_reference": "r" * 101}, "court_reference"),
        ({"case": "one"}, "case"),
        ({"case": 10**30}, "case"),
        ({"in_force_on": "2026-01-01"}, "in_force_on"),
        ({"appeal_lodged": [True]}, "appeal_lodged"),
    ],
)
def test_hostile_order_bodies_are_refused_field_by_field(court_system, case, overrides, field):
    response = post(court_system, ORDERS, order_body(case.pk, **overrides))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not CourtOrder.objects.exists()


def test_an_appeal_recorded_since_the_caller_read_the_order_is_not_overwritten(
    court_system, api_order, clerk
):
    from intake import services

    url = f"{ORDERS}{api_order.pk}/"
    etag = court_system.get(url)["ETag"]
    services.update_order_status(order=api_order, appeal_lodged=True, actor=clerk)
    stale = court_system.patch(url, {"appeal_lodged": False}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    api_order.refresh_from_db()
    assert api_order.appeal_lodged is True
    fresh = court_system.get(url)["ETag"]
    assert (
        court_system.patch(url, {"appeal_lodged": False}, format="json", HTTP_IF_MATCH=fresh).status_code
        == 200
    )
