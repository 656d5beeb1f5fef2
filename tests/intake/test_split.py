"""A verdict that acts on part of an item splits it: each part is an item of its own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intake.custody_chain import verify_chain
from intake.models import CustodyEvent, ItemState, OrderKind, SeizedItem
from intake.transitions import request_forfeiture, request_release
from reserve.models import Account, Category, Lot

pytestmark = pytest.mark.django_db

OWNER = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def balance(wallet, asset, category) -> int:
    account = Account.objects.filter(wallet=wallet, category=category, asset=asset).first()
    return account.balance if account else 0


def forfeit(team, approve, item, order, amount):
    request = request_forfeiture(item=item, order=order, amount=amount, maker=team.maker)
    approve(request, team.board1)
    approve(request, team.board2)
    request.refresh_from_db()
    assert request.status == "executed", request.result
    return request


def test_forfeiting_part_splits_the_item_into_parts_that_sum_exactly(
    team, in_custody, final_order, approve, wallet, asset
):
    item = in_custody(received="0.50000001")
    request = forfeit(team, approve, item, final_order(), "0.12345678")

    item.refresh_from_db()
    assert item.state == ItemState.SPLIT
    forfeited, rest = item.parts.order_by("id")
    assert request.result == {"entry": request.result["entry"], "item": forfeited.pk, "rest": rest.pk}
    assert (forfeited.state, forfeited.received_amount) == (ItemState.FORFEITED, 12_345_678)
    assert (rest.state, rest.received_amount) == (ItemState.IN_CUSTODY, 37_654_323)
    assert forfeited.received_amount + rest.received_amount == item.received_amount
    assert forfeited.root == item and rest.root == item
    for one in (item, forfeited, rest):
        assert one.history.first().history_user == team.board2
    assert balance(wallet, asset, Category.RESERVE_FORFEITED) == 12_345_678
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 37_654_323
    lot = Lot.objects.get(account__category=Category.RESERVE_FORFEITED)
    assert lot.origin == item and lot.amount == 12_345_678  # the root's provenance
    for one in (item, forfeited, rest):
        assert verify_chain(one) == []
    assert CustodyEvent.objects.get(item=rest, sequence=1).action == "intake.item.split_from"


def test_the_rest_is_released_later_by_its_own_order(team, in_custody, final_order, approve, wallet, asset):
    item = in_custody()
    forfeit(team, approve, item, final_order(), "0.2")
    rest = SeizedItem.objects.get(parent=item, state=ItemState.IN_CUSTODY)
    request = request_release(
        item=rest, order=final_order(kind=OrderKind.RELEASE), destination=OWNER, maker=team.maker
    )
    approve(request, team.custody1)
    approve(request, team.board1)
    rest.refresh_from_db()
    assert rest.state == ItemState.RELEASED
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 0
    assert balance(wallet, asset, Category.RESERVE_FORFEITED) == 20_000_000
    assert balance(wallet, asset, Category.RELEASED) == 30_000_000


def test_a_part_larger_than_the_item_is_refused(team, in_custody, final_order):
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=in_custody(), order=final_order(), amount="0.50000001", maker=team.maker)
    assert refused.value.error_dict["amount"][0].code == "exceeds_item"


def test_a_split_item_can_no_longer_be_acted_on(team, in_custody, final_order, approve):
    item = in_custody()
    order = final_order()
    forfeit(team, approve, item, order, "0.1")
    item.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        request_forfeiture(item=item, order=order, maker=team.maker)
    assert refused.value.error_dict["item"][0].code == "wrong_state"
