"""The admin lists requests and decisions by the rule of the workflow screens and the API:
:func:`reserve.approvals.access.requests_visible_to`; superusers and auditors read them all."""

import pytest
from django.urls import reverse

from reserve.approvals.access import requests_visible_to
from reserve.approvals.services import create_request
from reserve.models import ApprovalRequest, Decision
from tests.support.factories import UserFactory


def setting_request(maker, hours: int) -> ApprovalRequest:
    return create_request(
        kind="reserve.setting_change",
        payload={"key": "allowlist_cooling_off_hours", "value": hours},
        maker=maker,
    )


@pytest.fixture
def other_clerk(db):
    """A staff clerk who made none of the team's requests and sits in no approver group."""
    return UserFactory(username="other-clerk", roles=["Intake clerk"], is_staff=True)


@pytest.fixture
def requests(team, approve, other_clerk):
    theirs = setting_request(team.maker, 12)
    approve(theirs, team.board1)
    own = setting_request(other_clerk, 36)
    return theirs, own


def listed(client, model: str) -> set[int]:
    response = client.get(reverse(f"admin:reserve_{model}_changelist"))
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_a_clerk_lists_exactly_the_requests_the_engine_lets_them_see(client, other_clerk, requests):
    theirs, own = requests
    client.force_login(other_clerk)

    shown = listed(client, "approvalrequest")

    assert shown == set(requests_visible_to(other_clerk).values_list("pk", flat=True))
    assert shown == {own.pk}


def test_a_clerk_cannot_open_a_request_someone_else_made(client, other_clerk, requests):
    theirs, _own = requests
    client.force_login(other_clerk)

    page = client.get(reverse("admin:reserve_approvalrequest_change", args=[theirs.pk]))
    history = client.get(reverse("admin:reserve_approvalrequest_history", args=[theirs.pk]))

    assert page.status_code == 302 and page["Location"] == reverse("admin:index")
    assert history.status_code == 404


def test_a_clerk_opens_their_own_request(client, other_clerk, requests):
    _theirs, own = requests
    client.force_login(other_clerk)

    page = client.get(reverse("admin:reserve_approvalrequest_change", args=[own.pk]))

    assert page.status_code == 200 and own.reference in page.content.decode()


def test_a_clerk_sees_no_decision_on_a_request_hidden_from_them(client, other_clerk, requests):
    theirs, _own = requests
    decision = Decision.objects.get(request=theirs)
    client.force_login(other_clerk)

    page = client.get(reverse("admin:reserve_decision_change", args=[decision.pk]))

    assert listed(client, "decision") == set()
    assert page.status_code == 302


def test_an_approver_of_the_policy_lists_the_request_they_may_decide(client, team, requests):
    theirs, own = requests
    approver = team.board2
    approver.is_staff = True
    approver.save(update_fields=["is_staff"])
    client.force_login(approver)

    assert listed(client, "approvalrequest") == set(
        requests_visible_to(approver).values_list("pk", flat=True)
    )
    assert {theirs.pk, own.pk} <= listed(client, "approvalrequest")


@pytest.mark.parametrize("reader", ["root", "outsider"])
def test_superusers_and_auditors_list_every_request_and_decision(client, team, requests, reader):
    user = getattr(team, reader)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    assert listed(client, "approvalrequest") == set(ApprovalRequest.objects.values_list("pk", flat=True))
    assert listed(client, "decision") == set(Decision.objects.values_list("pk", flat=True))
