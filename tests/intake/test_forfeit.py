"""``intake.forfeit``: a final confiscation verdict of the item's case makes its coins reserve."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from intake import services
from intake.custody_chain import verify_chain
from intake.models import CustodyEvent, ItemState, OrderKind
from intake.transitions import FORFEIT, request_forfeiture
from reserve.approvals.errors import ApprovalError
from reserve.audit import AuditEvent
from reserve.models import Account, ApprovalRequest, Category, Lot
from tests.intake.conftest import days_ago

pytestmark = pytest.mark.django_db


def balance(wallet, asset, category) -> int:
    account = Account.objects.filter(wallet=wallet, category=category, asset=asset).first()
    return account.balance if account else 0


def refusal_code(excinfo, field="order") -> str:
    return excinfo.value.error_dict[field][0].code


def test_a_final_verdict_forfeits_the_item_after_two_board_members_approve(
    team, in_custody, final_order, approve, wallet, asset
):
    item = in_custody()
    verdict = final_order()
    request = request_forfeiture(item=item, order=verdict, maker=team.maker)
    assert request.kind == FORFEIT and request.policy.name == "Forfeiture of seized coins"

    approve(request, team.board1)
    request.refresh_from_db()
    assert request.status == "pending"
    approve(request, team.board2)

    request.refresh_from_db()
    item.refresh_from_db()
    assert request.status == "executed", request.result
    assert item.state == ItemState.FORFEITED
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 0
    assert balance(wallet, asset, Category.RESERVE_FORFEITED) == 50_000_000
    lot = Lot.objects.get(account__category=Category.RESERVE_FORFEITED, remaining__gt=0)
    assert lot.origin == item and lot.amount == 50_000_000
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.forfeited" and last.data["entry"] == request.result["entry"]
    assert verify_chain(item) == []
    assert AuditEvent.objects.filter(action="intake.item.forfeited").count() == 1
    assert item.history.first().history_user == team.board2


def test_custody_pending_is_never_counted_as_reserve(team, in_custody, wallet, asset):
    in_custody()
    from reserve.models import RESERVE_CATEGORIES

    assert Category.CUSTODY_PENDING not in RESERVE_CATEGORIES
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 50_000_000
    assert sum(balance(wallet, asset, c) for c in RESERVE_CATEGORIES) == 0


def test_a_restricted_item_goes_to_restricted_with_its_restriction(
    team, in_custody, final_order, approve, wallet, asset
):
    item = in_custody(restriction="no_sale")
    request = request_forfeiture(item=item, order=final_order(), maker=team.maker)
    assert request.payload["destination"] == Category.RESTRICTED
    approve(request, team.board1)
    approve(request, team.board2)
    assert balance(wallet, asset, Category.RESTRICTED) == 50_000_000
    assert balance(wallet, asset, Category.RESERVE_FORFEITED) == 0
    assert Lot.objects.get(account__category=Category.RESTRICTED).restriction == "no_sale"


def test_the_coins_of_the_forfeited_item_leave_not_those_of_another_case(
    team, in_custody, final_order, approve, wallet, asset
):
    earlier = in_custody(txid="cd" * 32)
    item = in_custody()
    request = request_forfeiture(item=item, order=final_order(), maker=team.maker)
    approve(request, team.board1)
    approve(request, team.board2)
    forfeited = Lot.objects.get(account__category=Category.RESERVE_FORFEITED)
    assert forfeited.origin == item
    pending = Lot.objects.get(account__category=Category.CUSTODY_PENDING, remaining__gt=0)
    assert pending.origin == earlier


def test_a_missing_order_is_refused(team, in_custody):
    item = in_custody()
    from reserve.approvals.services import create_request

    with pytest.raises(ValidationError) as refused:
        create_request(kind=FORFEIT, payload={"item": item.pk}, maker=team.maker)
    assert "Name the court order" in str(refused.value.message_dict["order"])


def test_an_order_that_is_not_a_confiscation_verdict_is_refused(team, in_custody, final_order):
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=in_custody(), order=final_order(kind=OrderKind.RELEASE), maker=team.maker)
    assert refusal_code(refused) == "wrong_order_kind"
    assert not ApprovalRequest.objects.filter(kind=FORFEIT).exists()


def test_a_verdict_of_another_case_is_refused(team, in_custody, final_order, court, clerk):
    other = services.open_case(
        court=court,
        number="2-99/2026",
        investigating_authority="Police",
        opened_on=dt.date(2026, 1, 1),
        actor=clerk,
    )
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=in_custody(), order=final_order(case=other), maker=team.maker)
    assert refusal_code(refused) == "other_case"


def test_a_verdict_not_in_force_is_refused(team, in_custody, final_order):
    item = in_custody()
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=item, order=final_order(in_force_on=None), maker=team.maker)
    assert refusal_code(refused) == "not_in_force"
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=item, order=final_order(in_force_on=days_ago(-3)), maker=team.maker)
    assert refusal_code(refused) == "not_in_force"


def test_a_verdict_whose_appeal_term_is_running_is_refused(team, in_custody, final_order):
    order = final_order(appeal_deadline=days_ago(-5), in_force_on=None)
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=in_custody(), order=order, maker=team.maker)
    assert refusal_code(refused) in {"not_in_force", "appeal_term_running"}
    # Nor can the order be said to be in force while its appeal term runs.
    with pytest.raises(ValidationError) as refused:
        services.record_appeal_outcome(
            order=order, appeal_lodged=False, in_force_on=days_ago(1), actor=team.maker
        )
    assert refused.value.error_dict["in_force_on"][0].code == "before_appeal_deadline"


def test_a_verdict_under_appeal_is_refused_until_the_appellate_ruling(team, in_custody, final_order, approve):
    item = in_custody()
    order = final_order(appeal_lodged=True)
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=item, order=order, maker=team.maker)
    assert refusal_code(refused) == "appeal_pending"

    services.record_appeal_outcome(
        order=order,
        appeal_lodged=True,
        appellate_ruling_on=days_ago(2),
        in_force_on=days_ago(2),
        actor=team.maker,
    )
    request = request_forfeiture(item=item, order=order, maker=team.maker)
    approve(request, team.board1)
    approve(request, team.board2)
    item.refresh_from_db()
    assert item.state == ItemState.FORFEITED


def test_an_item_not_in_custody_is_refused(team, register, final_order):
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=register(), order=final_order(), maker=team.maker)
    assert refusal_code(refused, "item") == "wrong_state"


def test_the_rule_is_checked_again_on_the_day_of_execution(team, in_custody, final_order, approve):
    item = in_custody()
    order = final_order()
    request = request_forfeiture(item=item, order=order, maker=team.maker)
    services.record_appeal_outcome(order=order, appeal_lodged=True, actor=team.maker)  # restored appeal term
    approve(request, team.board1)
    with pytest.raises(ValidationError):
        approve(request, team.board2)
    item.refresh_from_db()
    assert item.state == ItemState.IN_CUSTODY


def test_a_custody_officer_may_not_make_a_forfeiture(team, in_custody, final_order):
    with pytest.raises(ApprovalError) as refused:
        request_forfeiture(item=in_custody(), order=final_order(), maker=team.custody1)
    assert refused.value.code == "refused"


def test_an_appellate_ruling_needs_a_lodged_appeal(team, final_order):
    order = final_order()
    with pytest.raises(ValidationError) as refused:
        services.record_appeal_outcome(
            order=order, appeal_lodged=False, appellate_ruling_on=days_ago(1), actor=team.maker
        )
    assert refused.value.error_dict["appellate_ruling_on"][0].code == "no_appeal"
    order.refresh_from_db()
    assert order.appellate_ruling_on is None
