"""Executing a transfer re-checks that its asset and wallets are still active, that the
destination's addresses are still the ones approved and that the source still holds enough.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from reserve.approvals.services import ApprovalError, create_request
from reserve.models import Account, Asset, RequestStatus, Wallet
from tests.support.factories import WalletAddressFactory, transfer_payload


def test_a_transfer_into_a_wallet_deactivated_since_the_request_is_not_executed(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    other_wallet.is_active = False  # e.g. its keys are suspected compromised
    other_wallet.save()
    approve(transfer, team.custody1)
    with pytest.raises(ValidationError, match="has been deactivated"):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status != RequestStatus.EXECUTED


def test_a_transfer_of_an_asset_deactivated_since_the_request_is_not_executed(
    team, funded_opening_balance, asset, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    Asset.objects.filter(pk=asset.pk).update(is_active=False)
    approve(transfer, team.custody1)
    with pytest.raises(ApprovalError, match="Asset BTC has been deactivated"):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status == RequestStatus.PENDING


def test_a_transfer_from_a_wallet_deactivated_since_the_request_names_it(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    Wallet.objects.filter(pk=wallet.pk).update(is_active=False)
    approve(transfer, team.custody1)
    with pytest.raises(ApprovalError, match=f"Wallet {wallet.code} has been deactivated"):
        approve(transfer, team.custody2)


def test_a_transfer_whose_destination_got_a_new_address_is_not_executed(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    assert transfer.payload["to_addresses"] == []
    WalletAddressFactory(wallet=other_wallet)
    approve(transfer, team.custody1)
    with pytest.raises(ValidationError, match="receiving addresses of cold-b changed"):
        approve(transfer, team.custody2)


def test_a_transfer_the_source_no_longer_covers_is_not_executed(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    first, second = (
        create_request(
            kind="reserve.transfer",
            payload=transfer_payload(wallet, other_wallet, amount="3"),
            maker=team.maker,
        )
        for _ in range(2)
    )
    for transfer in (first, second):
        approve(transfer, team.custody1)
    approve(first, team.custody2)
    with pytest.raises(ValidationError, match="holds 2.00000000 BTC"):
        approve(second, team.custody2)
    second.refresh_from_db()
    assert second.status == RequestStatus.PENDING
    assert Account.objects.get(wallet=other_wallet, category="reserve:forfeited").balance == 3 * 10**8
