"""The report workflow from the admin: actions call the services, proposals make requests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from mining.models import ReportState
from mining.transitions import ACCEPT_OUTPUT
from reserve.audit import AuditEvent
from reserve.models import ApprovalRequest
from tests.mining.workflow.conftest import record_week
from tests.support.factories import WalletFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:mining_outputreport_changelist"


@pytest.fixture
def staff_clerk(mining_clerk):
    mining_clerk.is_staff = True
    mining_clerk.save()
    return mining_clerk


def act(client, action, report, explanation=""):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [report.pk], "explanation": explanation},
        follow=True,
    )


def propose_url(report, slug):
    return reverse("admin:mining_outputreport_propose_row", args=[report.pk, slug])


def test_a_clerk_submits_verifies_and_requests_acceptance_from_the_changelist(
    client, team, report, staff_clerk, asset
):
    record_week(report, staff_clerk, short_day=dt.date(2019, 1, 17))
    client.force_login(staff_clerk)

    page = act(client, "submit_reports", report)
    assert "submitted." in page.content.decode()
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED

    refused = act(client, "verify_reports", report)
    assert "2019-01-17" in refused.content.decode() and "Explain the deviation" in refused.content.decode()
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED

    act(client, "verify_reports", report, explanation="Curtailment ordered by the grid operator.")
    report.refresh_from_db()
    assert report.state == ReportState.VERIFIED
    assert report.verifications.get().explanation == "Curtailment ordered by the grid operator."

    response = client.post(reverse(CHANGELIST), {"action": "propose_accept", "_selected_action": [report.pk]})
    assert response.status_code == 302 and response.url == propose_url(report, "accept")
    made = client.post(propose_url(report, "accept"), {"comment": "Week 3"})
    assert made.status_code == 302, made.content.decode()[:2000]
    request = ApprovalRequest.objects.get(kind=ACCEPT_OUTPUT)
    assert request.maker == staff_clerk and request.payload["report"] == report.pk
    report.refresh_from_db()
    assert report.state == ReportState.VERIFIED  # nothing changes before the approvals


def test_a_treasury_officer_has_no_workflow_actions(client, team, report):
    team.treasury1.is_staff = True
    team.treasury1.save()
    client.force_login(team.treasury1)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "submit_reports" not in page.content.decode()


def test_the_sweep_form_shows_the_refusal_and_then_makes_the_transfer(
    client, site, staff_clerk, posted, asset
):
    cold = WalletFactory(code="reserve-cold")
    report = posted.payload["report"]
    client.force_login(staff_clerk)
    url = reverse("admin:mining_outputreport_propose_row", args=[report, "sweep"])
    too_much = client.post(url, {"to_wallet": cold.pk, "amount": "1000"})
    assert too_much.status_code == 200 and "cannot be swept" in too_much.content.decode()
    made = client.post(url, {"to_wallet": cold.pk, "amount": "0.5"})
    assert made.status_code == 302, made.content.decode()[:2000]
    sweep = ApprovalRequest.objects.get(kind="reserve.transfer")
    assert sweep.payload["category"] == "reserve:mined" and "Ekibastuz DC-1" in sweep.comment
    assert AuditEvent.objects.get(action="mining.site.sweep_requested").data["request"] == sweep.pk


def test_the_report_page_shows_the_frozen_verification(client, report, verified, staff_clerk):
    client.force_login(staff_clerk)
    page = client.get(reverse("admin:mining_outputreport_change", args=[report.pk]))
    assert page.status_code == 200
    assert verified.digest[:12] in page.content.decode()
