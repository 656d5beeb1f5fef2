"""The first intake transition through the approval engine: seized coins taken into custody."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intake.custody_chain import verify_chain
from intake.models import ChainCheck, CustodyEvent, ItemState, SeizedItem
from intake.transitions import TAKE_INTO_CUSTODY, request_custody_intake
from reserve.approvals.errors import ApprovalError
from reserve.approvals.registry import get_kind
from reserve.models import Account, ApprovalRequest, Category, Lot
from tests.intake.esplora import esplora
from tests.support.factories import WalletAddressFactory

pytestmark = pytest.mark.django_db

CUSTODY_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
OTHER_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TXID = "ab" * 32


def pending_balance(wallet, asset) -> int:
    account = Account.objects.filter(wallet=wallet, category=Category.CUSTODY_PENDING, asset=asset).first()
    return account.balance if account else 0


def test_made_by_an_intake_clerk_and_approved_by_a_custody_officer(team, register, wallet, asset, approve):
    item = register()
    request = request_custody_intake(
        item=item,
        received_amount="0.5",
        evidence="Explorer page, block 840001, 6 confirmations",
        maker=team.maker,
    )
    assert request.kind == TAKE_INTO_CUSTODY and request.policy.name == "Seizure intake into custody"
    assert request.status == "pending"

    approve(request, team.custody1)

    request.refresh_from_db()
    item.refresh_from_db()
    assert request.status == "executed", request.result
    assert item.state == ItemState.IN_CUSTODY and item.received_amount == 50_000_000
    assert pending_balance(wallet, asset) == 50_000_000
    lot = Lot.objects.get(account__wallet=wallet, account__category=Category.CUSTODY_PENDING)
    assert lot.origin == item and lot.origin_kind == "intake.item"
    assert lot.origin_label == f"2-15/2026 / A-1 / item {item.pk}"
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.in_custody" and last.sequence == 2
    assert last.data["entry"] == request.result["entry"]
    assert verify_chain(item) == []


def test_the_maker_cannot_approve(team, register, approve):
    item = register()
    clerk_made = request_custody_intake(
        item=item, received_amount="0.5", evidence="Statement", maker=team.maker
    )
    with pytest.raises(ApprovalError):
        approve(clerk_made, team.maker)
    clerk_made.refresh_from_db()
    assert clerk_made.status == "pending"
    assert not SeizedItem.objects.filter(state=ItemState.IN_CUSTODY).exists()


def test_an_unexplained_discrepancy_is_refused_and_an_explained_one_is_accepted(
    team, register, approve, wallet, asset
):
    item = register()
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(item=item, received_amount="0.49", evidence="Statement", maker=team.maker)
    assert "Unexplained discrepancy" in str(refused.value.message_dict["discrepancy_explanation"])
    assert not ApprovalRequest.objects.filter(kind=TAKE_INTO_CUSTODY).exists()

    request = request_custody_intake(
        item=item,
        received_amount="0.49",
        evidence="Statement",
        discrepancy_explanation="The suspect's wallet paid the network fee out of the seized amount.",
        maker=team.maker,
    )
    kind = get_kind(TAKE_INTO_CUSTODY)
    assert any("Discrepancy" in notice for notice in kind.notices(kind.parse(request.payload)))
    approve(request, team.custody1)
    item.refresh_from_db()
    assert item.state == ItemState.IN_CUSTODY and item.received_amount == 49_000_000
    assert item.discrepancy_explanation.startswith("The suspect's wallet")
    assert pending_balance(wallet, asset) == 49_000_000


def test_an_item_already_in_custody_is_refused(team, register, approve):
    item = register()
    approve(
        request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.maker),
        team.custody1,
    )
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.maker)
    assert refused.value.error_dict["item"][0].code == "wrong_state"


def test_a_second_request_for_the_same_item_fails_when_the_first_executed(
    team, register, approve, wallet, asset
):
    item = register()
    first = request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.maker)
    second = request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.maker)
    approve(first, team.custody1)
    with pytest.raises(ValidationError):
        approve(second, team.custody2)
    second.refresh_from_db()
    assert second.status == "pending"
    assert pending_balance(wallet, asset) == 50_000_000


@pytest.mark.parametrize("amount", ["0.123456789", "abc", "-0.5", "0"])
def test_a_wrong_amount_is_refused(team, register, amount):
    item = register()
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(item=item, received_amount=amount, evidence="Statement", maker=team.maker)
    assert "received_amount" in refused.value.message_dict


def test_offline_the_clerks_evidence_is_required(team, register):
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(item=register(), received_amount="0.5", evidence="  ", maker=team.maker)
    assert "evidence" in refused.value.message_dict


def test_with_a_chain_source_the_facts_are_recorded_at_creation(
    settings, team, register, wallet, asset, approve
):
    WalletAddressFactory(wallet=wallet, address=CUSTODY_ADDRESS)
    item = register()
    transports, calls = esplora(settings, pays_to=CUSTODY_ADDRESS, value=50_000_000)

    request = request_custody_intake(
        item=item, received_amount="0.5", maker=team.maker, transports=transports
    )

    check = ChainCheck.objects.get(item=item)
    assert (check.paid_units, check.confirmations, check.source, check.addresses) == (
        50_000_000,
        6,
        "esplora",
        [CUSTODY_ADDRESS],
    )
    assert request.payload["chain_check"] == check.pk
    asked = len(calls)
    # The decision asks nothing: execution re-checks the stored facts only (no transport given).
    approve(request, team.custody1)
    assert len(calls) == asked
    item.refresh_from_db()
    assert item.state == ItemState.IN_CUSTODY and pending_balance(wallet, asset) == 50_000_000
    assert CustodyEvent.objects.filter(item=item).last().data["chain_check"] == check.pk


def test_a_transaction_that_does_not_pay_the_custody_address_is_refused(settings, team, register, wallet):
    WalletAddressFactory(wallet=wallet, address=CUSTODY_ADDRESS)
    item = register()
    transports, _calls = esplora(settings, pays_to=OTHER_ADDRESS, value=50_000_000)
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(item=item, received_amount="0.5", maker=team.maker, transports=transports)
    assert refused.value.error_dict["received_amount"][0].code == "not_paid"
    assert ChainCheck.objects.get(item=item).paid_units == 0  # the observation is kept
    assert not ApprovalRequest.objects.filter(kind=TAKE_INTO_CUSTODY).exists()


def test_too_few_confirmations_are_refused(settings, team, register, wallet):
    WalletAddressFactory(wallet=wallet, address=CUSTODY_ADDRESS)
    transports, _calls = esplora(
        settings, pays_to=CUSTODY_ADDRESS, value=50_000_000, height=840_004, tip=840_005
    )
    with pytest.raises(ValidationError) as refused:
        request_custody_intake(
            item=register(), received_amount="0.5", maker=team.maker, transports=transports
        )
    assert refused.value.error_dict["chain_check"][0].code == "unconfirmed"


def test_with_a_chain_source_every_face_asks_the_chain_before_the_request_is_made(
    settings, monkeypatch, team, register, wallet
):
    """``create_request`` itself (the admin, the workflow screens and the API all call it)
    asks the chain through the kind's ``prepare``: a payload naming no check gets one."""
    from reserve.approvals.services import create_request
    from reserve.chain import services as chain_services

    WalletAddressFactory(wallet=wallet, address=CUSTODY_ADDRESS)
    item = register()
    transports, calls = esplora(settings, pays_to=CUSTODY_ADDRESS, value=50_000_000)
    monkeypatch.setattr(
        "intake.transitions.custody.chain_source",
        lambda network, transport=None: chain_services.chain_source(network, transport=transports[network]),
    )
    request = create_request(
        kind=TAKE_INTO_CUSTODY,
        payload={"item": item.pk, "received_amount": "0.5", "evidence": ""},
        maker=team.maker,
    )
    assert calls and request.payload["chain_check"] == ChainCheck.objects.get(item=item).pk


def test_with_an_unreachable_chain_source_nothing_is_made(settings, team, register, wallet):
    from reserve.approvals.services import create_request

    WalletAddressFactory(wallet=wallet, address=CUSTODY_ADDRESS)
    item = register()
    esplora(settings, pays_to=CUSTODY_ADDRESS, value=50_000_000)  # configured, never reached
    with pytest.raises(ValidationError) as refused:
        create_request(
            kind=TAKE_INTO_CUSTODY,
            payload={"item": item.pk, "received_amount": "0.5", "evidence": "Trust me"},
            maker=team.maker,
        )
    assert refused.value.error_dict["item"][0].code == "source_unavailable"
    assert not ApprovalRequest.objects.filter(kind=TAKE_INTO_CUSTODY).exists()
