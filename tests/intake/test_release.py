"""``intake.release``: a final release order returns the coins to the owner's address."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intake.custody_chain import verify_chain
from intake.models import CustodyEvent, ItemState, OrderKind
from intake.transitions import RELEASE, request_release
from reserve.approvals.services import action_digest
from reserve.models import Account, Category

pytestmark = pytest.mark.django_db

OWNER = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def balance(wallet, asset, category) -> int:
    account = Account.objects.filter(wallet=wallet, category=category, asset=asset).first()
    return account.balance if account else 0


def test_a_final_release_order_returns_the_coins_after_an_officer_and_a_board_member(
    team, in_custody, final_order, approve, wallet, asset
):
    item = in_custody()
    request = request_release(
        item=item, order=final_order(kind=OrderKind.RELEASE), destination=OWNER.upper(), maker=team.maker
    )
    assert request.kind == RELEASE and request.policy.name == "Release of seized coins"
    assert request.payload["destination"] == OWNER  # normalised and pinned
    assert request.payload_digest == action_digest(RELEASE, request.payload)
    from reserve.approvals.registry import get_kind

    kind = get_kind(RELEASE)
    assert any(OWNER in notice for notice in kind.notices(kind.parse(request.payload)))

    approve(request, team.custody1)
    approve(request, team.board1)
    request.refresh_from_db()
    item.refresh_from_db()
    assert request.status == "executed", request.result
    assert item.state == ItemState.RELEASED
    assert item.history.first().history_user == team.board1
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 0
    assert balance(wallet, asset, Category.RELEASED) == 50_000_000
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.released" and last.data["destination"] == OWNER
    assert verify_chain(item) == []


def test_an_address_of_another_network_is_refused(team, in_custody, final_order):
    with pytest.raises(ValidationError) as refused:
        request_release(
            item=in_custody(),
            order=final_order(kind=OrderKind.RELEASE),
            destination="0x52908400098527886E0F7030069857D2E4169EE7",
            maker=team.maker,
        )
    assert "destination" in refused.value.message_dict


def test_a_confiscation_verdict_does_not_release(team, in_custody, final_order):
    with pytest.raises(ValidationError) as refused:
        request_release(item=in_custody(), order=final_order(), destination=OWNER, maker=team.maker)
    assert refused.value.error_dict["order"][0].code == "wrong_order_kind"


def test_a_release_order_under_appeal_is_refused(team, in_custody, final_order):
    with pytest.raises(ValidationError) as refused:
        request_release(
            item=in_custody(),
            order=final_order(kind=OrderKind.RELEASE, appeal_lodged=True),
            destination=OWNER,
            maker=team.maker,
        )
    assert refused.value.error_dict["order"][0].code == "appeal_pending"


def test_a_partial_release_splits_the_item(team, in_custody, final_order, approve, wallet, asset):
    item = in_custody()
    request = request_release(
        item=item,
        order=final_order(kind=OrderKind.RELEASE),
        destination=OWNER,
        amount="0.3",
        maker=team.maker,
    )
    approve(request, team.custody1)
    approve(request, team.board1)
    item.refresh_from_db()
    released, rest = item.parts.order_by("id")
    assert item.state == ItemState.SPLIT
    assert (released.state, released.received_amount) == (ItemState.RELEASED, 30_000_000)
    assert (rest.state, rest.received_amount) == (ItemState.IN_CUSTODY, 20_000_000)
    assert balance(wallet, asset, Category.RELEASED) == 30_000_000
    assert balance(wallet, asset, Category.CUSTODY_PENDING) == 20_000_000


def test_an_address_of_the_funds_own_wallets_is_refused(team, in_custody, final_order, wallet):
    from tests.support.factories import WalletAddressFactory

    WalletAddressFactory(wallet=wallet, address=OWNER)
    with pytest.raises(ValidationError) as refused:
        request_release(
            item=in_custody(), order=final_order(kind=OrderKind.RELEASE), destination=OWNER, maker=team.maker
        )
    assert "own wallets" in str(refused.value.message_dict["destination"])


def test_the_approver_sees_the_pinned_destination_on_the_request_page(client, team, in_custody, final_order):
    request = request_release(
        item=in_custody(), order=final_order(kind=OrderKind.RELEASE), destination=OWNER, maker=team.maker
    )
    client.force_login(team.custody1)
    page = client.get(f"/workflow/requests/{request.pk}/")
    assert page.status_code == 200
    assert OWNER in page.content.decode() and request.payload_digest in page.content.decode()
