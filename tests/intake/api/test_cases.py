import pytest

from intake import services
from intake.models import Case, PartyRole
from reserve.models import AuditEvent
from tests.intake.api.conftest import CASES, case_body, post
from tests.support.api import assert_error_body

pytestmark = pytest.mark.django_db


def test_a_court_system_registers_a_case(court_system, court):
    response = post(court_system, CASES, case_body())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["court"] == "astana-sic" and body["number"] == "2-15/2026"
    assert response["Location"] == f"{CASES}{body['id']}/"
    assert Case.objects.filter(pk=body["id"]).exists()


def test_a_clerk_with_a_session_registers_a_case(clerk_api, court):
    assert post(clerk_api, CASES, case_body()).status_code == 201


def test_an_auditor_reads_cases_but_cannot_register_one(auditor_api, case):
    assert auditor_api.get(CASES).status_code == 200
    assert auditor_api.get(f"{CASES}{case.pk}/").status_code == 200
    response = post(auditor_api, CASES, case_body(number="9-9/2026"))
    assert response.status_code == 403
    assert_error_body(response.json(), "permission_denied")
    assert (
        auditor_api.patch(f"{CASES}{case.pk}/", {"investigating_authority": "X"}, format="json").status_code
        == 403
    )


def test_an_outsider_and_an_anonymous_caller_are_refused(outsider_api, case):
    from rest_framework.test import APIClient

    assert outsider_api.get(CASES).status_code == 403
    assert APIClient().get(CASES).status_code == 401


def test_a_token_without_the_intake_scope_is_refused(reader_token, case):
    response = reader_token.get(f"{CASES}{case.pk}/")
    assert response.status_code == 403
    assert "intake:write" in response.json()["message"]


def test_the_investigating_authority_is_updated_with_history_and_audit(court_system, case):
    response = court_system.patch(
        f"{CASES}{case.pk}/", {"investigating_authority": "Financial Monitoring Agency"}, format="json"
    )
    assert response.status_code == 200, response.json()
    case.refresh_from_db()
    assert case.investigating_authority == "Financial Monitoring Agency"
    assert case.history.first().history_user.api_client.name == "court-system"
    event = AuditEvent.objects.filter(action="intake.case.updated").get()
    assert event.data["investigating_authority"]["after"] == "Financial Monitoring Agency"


def test_the_case_number_cannot_be_updated(court_system, case):
    response = court_system.patch(f"{CASES}{case.pk}/", {"number": "other"}, format="json")
    assert response.status_code == 400
    assert "number" in response.json()["errors"]
    case.refresh_from_db()
    assert case.number == "2-15/2026"


def test_party_names_are_shown_only_with_the_pii_permission(
    court_system, clerk_api, auditor_api, case, clerk
):
    services.add_party(
        case=case,
        role=PartyRole.SUSPECT,
        name="Aibek Nurlanov",
        identity_document_number="990101300123",
        actor=clerk,
    )
    for api in (court_system, auditor_api):
        party = api.get(f"{CASES}{case.pk}/").json()["parties"][0]
        assert party["role"] == "suspect"
        assert "name" not in party and "identity_document_number" not in party
        assert "Aibek" not in api.get(CASES).content.decode()
    party = clerk_api.get(f"{CASES}{case.pk}/").json()["parties"][0]
    assert party["name"] == "Aibek Nurlanov"


def test_the_case_list_costs_the_same_queries_for_many_cases(
    court_system, court, clerk, django_assert_max_num_queries
):
    import datetime as dt

    for number in range(12):
        case = services.open_case(
            court=court,
            number=f"N-{number}",
            investigating_authority="ACA",
            opened_on=dt.date(2026, 1, 1),
            actor=clerk,
        )
        services.add_party(case=case, role=PartyRole.VICTIM, name="V", actor=clerk)
    with django_assert_max_num_queries(12):
        response = court_system.get(CASES)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 12


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"court": 5}, "court"),
        ({"court": "no-such-court"}, "court"),
        ({"number": "x" * 61}, "number"),
        ({"number": ["a"]}, "number"),
        ({"opened_on": "yesterday"}, "opened_on"),
        ({"investigating_authority": ""}, "investigating_authority"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_hostile_case_bodies_are_refused_field_by_field(court_system, court, overrides, field):
    response = post(court_system, CASES, case_body(**overrides))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Case.objects.exists()


def test_a_json_array_body_is_refused(court_system, court):
    response = post(court_system, CASES, [1, 2])
    assert response.status_code == 400
    assert not Case.objects.exists()


def parties_url(case) -> str:
    return f"{CASES}{case.pk}/parties/"


def test_a_court_system_adds_a_party_once(court_system, clerk_api, case):
    from intake.models import Party

    body = {"role": "victim", "name": " Dana Seitkali ", "identity_document_number": "880202400456"}
    first = post(court_system, parties_url(case), body)
    assert first.status_code == 201, first.json()
    assert first.json()["role"] == "victim" and "name" not in first.json()  # no PII permission
    again = post(court_system, parties_url(case), body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = post(court_system, parties_url(case), {**body, "role": "owner"})
    assert other.status_code == 201
    party = Party.objects.get(pk=first.json()["id"])
    assert (
        party.name == "Dana Seitkali" and party.history.first().history_user.api_client.name == "court-system"
    )
    assert AuditEvent.objects.filter(action="intake.party.added").count() == 2
    assert "Dana" not in str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert clerk_api.get(f"{CASES}{case.pk}/").json()["parties"][0]["name"] == "Dana Seitkali"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "judge", "name": "X"}, "role"),
        ({"role": "victim", "name": ""}, "name"),
        ({"role": "victim", "name": "   "}, "name"),
        ({"role": "victim", "name": "X" * 201}, "name"),
        ({"role": "victim", "name": "X", "email": "x@example.org"}, "email"),
    ],
)
def test_hostile_party_bodies_are_refused_and_nothing_is_written(court_system, case, body, field):
    from intake.models import Party

    response = post(court_system, parties_url(case), body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Party.objects.exists()


def test_an_auditor_cannot_add_a_party_and_an_unknown_case_is_404(auditor_api, court_system, case):
    assert post(auditor_api, parties_url(case), {"role": "victim", "name": "X"}).status_code == 403
    assert post(court_system, f"{CASES}999999/parties/", {"role": "victim", "name": "X"}).status_code == 404


def test_a_change_made_since_the_caller_read_the_case_is_never_overwritten(court_system, case, clerk):
    url = f"{CASES}{case.pk}/"
    etag = court_system.get(url)["ETag"]
    services.update_case(case=case, investigating_authority="Changed by a clerk", actor=clerk)

    stale = court_system.patch(url, {"investigating_authority": "Mine"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert_error_body(stale.json(), "precondition_failed")
    case.refresh_from_db()
    assert case.investigating_authority == "Changed by a clerk"

    current = court_system.get(url)["ETag"]
    assert current != etag
    done = court_system.patch(url, {"investigating_authority": "Mine"}, format="json", HTTP_IF_MATCH=current)
    assert done.status_code == 200 and done["ETag"] not in (etag, current)
    weak = court_system.patch(
        url, {"investigating_authority": "X"}, format="json", HTTP_IF_MATCH="W/" + done["ETag"]
    )
    assert weak.status_code == 412
