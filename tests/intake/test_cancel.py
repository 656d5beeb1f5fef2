"""``intake.cancel``: the order was withdrawn before the coins arrived."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intake.custody_chain import verify_chain
from intake.models import CustodyEvent, ItemState
from intake.transitions import CANCEL, request_cancellation
from reserve.models import JournalEntry

pytestmark = pytest.mark.django_db


def test_a_registered_item_is_cancelled_with_a_reason_and_no_ledger_effect(team, register, approve):
    item = register()
    entries = JournalEntry.objects.count()
    request = request_cancellation(
        item=item, reason="The arrest order was withdrawn on appeal.", maker=team.maker
    )
    assert request.kind == CANCEL
    approve(request, team.custody1)
    request.refresh_from_db()
    item.refresh_from_db()
    assert request.status == "executed", request.result
    assert item.state == ItemState.CANCELLED
    assert JournalEntry.objects.count() == entries
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.cancelled" and last.data["reason"].startswith("The arrest order")
    assert verify_chain(item) == []
    assert item.history.first().history_user == team.custody1


def test_a_reason_is_required(team, register):
    with pytest.raises(ValidationError) as refused:
        request_cancellation(item=register(), reason="  ", maker=team.maker)
    assert "reason" in refused.value.message_dict


def test_coins_in_custody_cannot_be_cancelled_away(team, in_custody):
    with pytest.raises(ValidationError) as refused:
        request_cancellation(item=in_custody(), reason="Withdrawn", maker=team.maker)
    assert refused.value.error_dict["item"][0].code == "in_custody"


def test_a_cancelled_item_cannot_be_cancelled_again(team, register, approve):
    item = register()
    approve(request_cancellation(item=item, reason="Withdrawn", maker=team.maker), team.custody1)
    with pytest.raises(ValidationError) as refused:
        request_cancellation(item=item, reason="Withdrawn", maker=team.maker)
    assert refused.value.error_dict["item"][0].code == "wrong_state"
