"""The output report workflow, ``draft → submitted → verified → approved → posted``, through
its services and the approval engine."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from mining.models import ReportState
from mining.transitions import (
    ACCEPT_OUTPUT,
    ORIGIN_KIND,
    record_verification,
    reopen_report,
    request_acceptance,
    submit_report,
)
from mining.transitions.acceptance import verification_evidence
from reserve.approvals.errors import ApprovalError
from reserve.audit import AuditEvent
from reserve.models import Account, Category, JournalEntry, Lot
from tests.mining.workflow.conftest import WEEK, record_week
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def code_of(excinfo, field="report") -> str:
    return excinfo.value.error_dict[field][0].code


def mined_balance(site, asset) -> int:
    account = Account.objects.filter(
        wallet=site.custody_wallet, category=Category.RESERVE_MINED, asset=asset
    ).first()
    return account.balance if account else 0


# draft → submitted


def test_a_complete_draft_is_submitted_and_the_clerk_is_named(report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED
    assert report.history.first().history_user == mining_clerk
    event = AuditEvent.objects.get(action="mining.report.submitted")
    assert event.data["to"] == "submitted" and event.data["lines"] == 7


def test_a_report_without_lines_is_not_submitted(report, mining_clerk):
    with pytest.raises(ValidationError) as excinfo:
        submit_report(report=report, actor=mining_clerk)
    assert code_of(excinfo) == "no_lines"


def test_missing_days_are_named_in_the_refusal(report, mining_clerk, asset):
    record_week(report, mining_clerk, days=WEEK[:5])
    with pytest.raises(ValidationError) as excinfo:
        submit_report(report=report, actor=mining_clerk)
    assert code_of(excinfo) == "missing_days"
    assert "2019-01-19, 2019-01-20" in str(excinfo.value)
    report.refresh_from_db()
    assert report.state == ReportState.DRAFT


def test_a_treasury_officer_cannot_submit(team, report, week):
    with pytest.raises(ValidationError) as excinfo:
        submit_report(report=report, actor=team.treasury1)
    assert code_of(excinfo) == "wrong_role"


def test_a_submitted_report_is_not_submitted_twice(report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    with pytest.raises(ValidationError) as excinfo:
        submit_report(report=report, actor=mining_clerk)
    assert code_of(excinfo) == "wrong_state"


# submitted → verified


def test_verification_freezes_the_figures_with_their_digest(report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    verification = record_verification(report=report, actor=mining_clerk)
    report.refresh_from_db()
    assert report.state == ReportState.VERIFIED
    assert not verification.exceeds_tolerance and len(verification.figures["days"]) == 7
    assert verification.figures["total"]["btc_net"] == sum(line.btc_net for line in week)
    assert len(verification.digest) == 64 and verification.verified_by == mining_clerk
    assert AuditEvent.objects.get(action="mining.report.verified").data["digest"] == verification.digest


def test_a_draft_cannot_be_verified(report, week, mining_clerk):
    with pytest.raises(ValidationError) as excinfo:
        record_verification(report=report, actor=mining_clerk)
    assert code_of(excinfo) == "wrong_state"


def test_a_deviation_beyond_tolerance_needs_an_explanation_naming_the_day(report, mining_clerk, asset):
    record_week(report, mining_clerk, short_day=dt.date(2019, 1, 17))
    submit_report(report=report, actor=mining_clerk)
    with pytest.raises(ValidationError) as excinfo:
        record_verification(report=report, actor=mining_clerk)
    assert code_of(excinfo, "explanation") == "unexplained_deviation"
    message = str(excinfo.value)
    assert "2019-01-17" in message and "-20.0000%" in message
    assert "2019-01-16" not in message
    report.refresh_from_db()
    assert report.state == ReportState.SUBMITTED

    verification = record_verification(
        report=report, actor=mining_clerk, explanation="Curtailed by the grid operator on 17 January."
    )
    assert verification.exceeds_tolerance
    assert verification.explanation == "Curtailed by the grid operator on 17 January."


def test_a_board_member_cannot_verify(team, report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    with pytest.raises(ValidationError) as excinfo:
        record_verification(report=report, actor=team.board1)
    assert code_of(excinfo) == "wrong_role"


# verified → approved → posted


def test_two_treasury_officers_accept_and_the_output_is_posted_per_day(
    team, report, week, acceptance, approve, asset, site
):
    assert acceptance.kind == ACCEPT_OUTPUT and acceptance.policy.name == "Mining output acceptance"
    assert acceptance.payload["verification_digest"] == report.verifications.get().digest
    approve(acceptance, team.treasury1)
    report.refresh_from_db()
    assert report.state == ReportState.VERIFIED and mined_balance(site, asset) == 0

    approve(acceptance, team.treasury2)
    acceptance.refresh_from_db()
    report.refresh_from_db()
    assert acceptance.status == "executed", acceptance.result
    assert report.state == ReportState.POSTED
    total = sum(line.btc_net for line in week)
    assert mined_balance(site, asset) == total
    assert len(acceptance.result["entries"]) == 7
    lots = list(Lot.objects.filter(account__category=Category.RESERVE_MINED).order_by("origin_label"))
    assert [lot.origin_label for lot in lots] == [f"Ekibastuz DC-1 / {day.isoformat()}" for day in WEEK]
    assert {lot.origin_kind for lot in lots} == {ORIGIN_KIND}
    assert [lot.origin for lot in lots] == week
    assert [lot.amount for lot in lots] == [line.btc_net for line in week]
    assert report.history.first().history_user == team.treasury2
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="mining.report.").order_by("id")
    ] == [
        "mining.report.opened",
        "mining.report.submitted",
        "mining.report.verified",
        "mining.report.approved",
        "mining.report.posted",
    ]


def test_approving_again_does_not_post_twice(team, report, acceptance, approve, asset, site):
    approve(acceptance, team.treasury1)
    approve(acceptance, team.treasury2)
    posted = mined_balance(site, asset)
    with pytest.raises(ApprovalError):
        approve(acceptance, team.treasury2)
    with pytest.raises(ApprovalError):
        approve(acceptance, team.board1)
    assert mined_balance(site, asset) == posted
    assert JournalEntry.objects.filter(reason="mining.output").count() == 7
    with pytest.raises(ValidationError):
        request_acceptance(report=report, maker=report.history.last().history_user)


def test_the_maker_cannot_approve_its_own_request(team, acceptance, approve, mining_clerk):
    from django.contrib.auth.models import Group

    from reserve.models import ApproverMembership

    # Even a mining clerk who is also a treasury officer may not approve what they made.
    group = Group.objects.get(name="Treasury officer")
    ApproverMembership.objects.create(user=mining_clerk, group=group, granted_at=acceptance.created_at)
    with pytest.raises(ApprovalError):
        approve(acceptance, mining_clerk)


def test_a_mining_clerk_cannot_approve(team, acceptance, approve):
    other_clerk = UserFactory(username="miner-2", roles=["Mining clerk"])
    with pytest.raises(ApprovalError):
        approve(acceptance, other_clerk)


def test_only_a_mining_clerk_makes_the_acceptance_request(team, verified, report):
    with pytest.raises(ApprovalError) as excinfo:
        request_acceptance(report=report, maker=team.maker)
    assert "Mining clerk" in str(excinfo.value)


def test_a_submitted_report_cannot_be_put_for_acceptance(team, report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    with pytest.raises(ValidationError) as excinfo:
        request_acceptance(report=report, maker=mining_clerk)
    assert code_of(excinfo) == "wrong_state"


def test_the_request_page_facts_show_each_day_and_the_explanation(team, report, mining_clerk, asset):
    record_week(report, mining_clerk, short_day=dt.date(2019, 1, 17))
    submit_report(report=report, actor=mining_clerk)
    record_verification(report=report, actor=mining_clerk, explanation="Grid curtailment.")
    request = request_acceptance(report=report, maker=mining_clerk)
    from reserve.approvals.registry import get_kind

    kind = get_kind(ACCEPT_OUTPUT)
    notices = kind.notices(kind.parse(request.payload))
    day = next(n for n in notices if n.startswith("2019-01-17"))
    assert "expected" in day and "paid —" in day and "beyond tolerance" in day
    assert any(n == "Explanation: Grid curtailment." for n in notices)
    effect = kind.ledger_effect(kind.parse(request.payload))
    assert effect[1].account.startswith("mined-cold") and effect[1].direction == "credit"
    # The kind names the report itself, so a request made through any face links to it.
    assert kind.evidence(kind.parse(request.payload)) == verification_evidence(report)
    assert verification_evidence(report)[0]["url"] == f"/admin/mining/outputreport/{report.pk}/change/"


# rejection and return to draft


def test_a_rejected_request_leaves_the_report_verified_and_it_can_be_reopened(
    team, report, acceptance, approve, mining_clerk, asset, site
):
    approve(acceptance, team.treasury1, verdict="reject", comment="Pool statement missing.")
    report.refresh_from_db()
    assert report.state == ReportState.VERIFIED and mined_balance(site, asset) == 0
    reopen_report(report=report, actor=mining_clerk, reason="Correct 17 January.")
    report.refresh_from_db()
    assert report.state == ReportState.DRAFT
    assert AuditEvent.objects.get(action="mining.report.reopened").data["reason"] == "Correct 17 January."


def test_a_report_with_a_pending_request_cannot_be_reopened(report, acceptance, mining_clerk):
    with pytest.raises(ValidationError) as excinfo:
        reopen_report(report=report, actor=mining_clerk, reason="Oops")
    assert code_of(excinfo) == "request_pending"


def test_reopening_needs_a_reason(report, verified, mining_clerk):
    with pytest.raises(ValidationError) as excinfo:
        reopen_report(report=report, actor=mining_clerk, reason=" ")
    assert code_of(excinfo, "reason") == "required"


def test_a_request_naming_an_earlier_verification_is_refused(team, report, acceptance, mining_clerk):
    from reserve.approvals.services import cancel_request, create_request

    stale_payload = dict(acceptance.payload)
    cancel_request(request=acceptance, maker=mining_clerk)
    reopen_report(report=report, actor=mining_clerk, reason="Re-check")
    submit_report(report=report, actor=mining_clerk)
    record_verification(report=report, actor=mining_clerk, explanation="Checked against the pool.")
    with pytest.raises(ValidationError) as excinfo:
        create_request(kind=ACCEPT_OUTPUT, payload=stale_payload, maker=mining_clerk)
    assert code_of(excinfo, "verification_digest") == "stale_verification"


def test_figures_that_no_longer_compute_the_same_are_not_posted(
    team, report, acceptance, approve, asset, site
):
    site.tolerance_percent = 1
    site.save()
    approve(acceptance, team.treasury1)
    with pytest.raises(ValidationError) as excinfo:
        approve(acceptance, team.treasury2)
    assert code_of(excinfo) == "figures_changed"
    acceptance.refresh_from_db()
    report.refresh_from_db()
    assert acceptance.status == "pending" and report.state == ReportState.VERIFIED
    assert mined_balance(site, asset) == 0


def test_the_approver_sees_the_verification_on_the_request_page(client, team, report, mining_clerk, asset):
    record_week(report, mining_clerk, short_day=dt.date(2019, 1, 17))
    submit_report(report=report, actor=mining_clerk)
    record_verification(report=report, actor=mining_clerk, explanation="Grid curtailment on the 17th.")
    request = request_acceptance(report=report, maker=mining_clerk)
    client.force_login(team.treasury1)
    page = client.get(f"/workflow/requests/{request.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2019-01-17: expected" in text and "beyond tolerance" in text
    assert "Grid curtailment on the 17th." in text
    assert f"/admin/mining/outputreport/{report.pk}/change/" in text


def test_a_second_request_for_the_same_report_never_posts_again(
    team, report, acceptance, approve, mining_clerk, asset, site
):
    second = request_acceptance(report=report, maker=mining_clerk)
    approve(acceptance, team.treasury1)
    approve(acceptance, team.treasury2)
    posted = mined_balance(site, asset)
    approve(second, team.treasury1)
    with pytest.raises(ValidationError) as excinfo:
        approve(second, team.treasury2)
    assert code_of(excinfo) == "wrong_state"
    assert mined_balance(site, asset) == posted
    assert JournalEntry.objects.filter(reason="mining.output").count() == 7


def test_a_week_without_output_is_accepted_and_posts_nothing(
    team, report, mining_clerk, approve, asset, site
):
    from decimal import Decimal

    from mining import services
    from tests.mining.conftest import line_figures

    for day in WEEK:
        services.record_daily_line(
            report=report,
            actor=mining_clerk,
            **line_figures(
                day=day,
                average_hashrate_hs=Decimal(0),
                uptime_percent=Decimal(0),
                btc_gross=0,
                pool_fees=0,
                btc_net=0,
                payout_txids=[],
            ),
        )
    submit_report(report=report, actor=mining_clerk)
    record_verification(report=report, actor=mining_clerk)
    request = request_acceptance(report=report, maker=mining_clerk)
    approve(request, team.treasury1)
    approve(request, team.treasury2)
    request.refresh_from_db()
    report.refresh_from_db()
    assert request.status == "executed" and request.result["entries"] == []
    assert report.state == ReportState.POSTED and mined_balance(site, asset) == 0
