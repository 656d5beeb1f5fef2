"""Custody records are governed: adding, replacing or deactivating a custody wallet's address,
and registering or deactivating a wallet or an asset, is a request that custody and board
approvers decide (the attack: an intake clerk alone substituted the cold wallet's address)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from reserve.addresses import encode_segwit
from reserve.approvals.errors import ApprovalError
from reserve.approvals.services import create_request
from reserve.models import ApprovalRequest, AuditEvent, Wallet, WalletAddress

pytestmark = pytest.mark.django_db

NEW_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def propose(maker, **payload):
    return create_request(kind="reserve.custody_change", payload=payload, maker=maker)


def test_a_clerk_proposes_a_new_address_in_the_admin_and_nothing_changes_until_approved(
    client, team, wallet, approve
):
    client.force_login(team.maker)
    response = client.post(
        reverse("admin:reserve_wallet_propose_row", args=[wallet.pk, "add-address"]),
        {"code": wallet.code, "address": NEW_ADDRESS, "label": "vault 3", "comment": "New vault."},
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    request = ApprovalRequest.objects.get(kind="reserve.custody_change")
    assert request.policy.name == "Custody changes"
    assert not WalletAddress.objects.filter(address=NEW_ADDRESS).exists()
    with pytest.raises(ApprovalError, match="maker cannot decide"):
        approve(request, team.maker)
    approve(request, team.custody1)
    assert not WalletAddress.objects.filter(address=NEW_ADDRESS).exists()
    approve(request, team.board1)
    row = WalletAddress.objects.get(address=NEW_ADDRESS)
    assert (row.wallet, row.label, row.is_active) == (wallet, "vault 3", True)
    event = AuditEvent.objects.get(action="reserve.wallet_address.added")
    assert event.data["request"] == request.pk


@pytest.mark.parametrize(
    "address,message",
    [
        ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "address"),
        ("not-an-address", "address"),
        (encode_segwit("bc", 2, bytes(32)), "witness version"),
    ],
    ids=["testnet", "garbage", "segwit-v2"],
)
def test_a_bad_address_is_refused_when_proposed(team, wallet, address, message):
    with pytest.raises(ValidationError) as refused:
        propose(team.maker, action="add_address", code=wallet.code, address=address, label="")
    assert "address" in refused.value.message_dict
    assert not ApprovalRequest.objects.exists()


def test_an_address_already_recorded_is_refused_when_proposed(team, wallet):
    WalletAddress.objects.create(wallet=wallet, address=NEW_ADDRESS)
    with pytest.raises(ValidationError, match="already recorded"):
        propose(team.maker, action="add_address", code=wallet.code, address=NEW_ADDRESS, label="")


def test_deactivating_an_address_and_a_wallet_needs_the_approvers(team, wallet, approve):
    row = WalletAddress.objects.create(wallet=wallet, address=NEW_ADDRESS)
    request = propose(team.maker, action="deactivate_address", code=wallet.code, address=NEW_ADDRESS)
    approve(request, team.custody1)
    approve(request, team.board1)
    row.refresh_from_db()
    assert not row.is_active
    request = propose(team.maker, action="deactivate_wallet", code=wallet.code)
    approve(request, team.custody2)
    approve(request, team.board2)
    wallet.refresh_from_db()
    assert not wallet.is_active
    assert AuditEvent.objects.filter(action="reserve.wallet.deactivated").count() == 1


def test_registering_a_wallet_and_an_asset_needs_the_approvers(team, approve):
    request = propose(
        team.maker,
        action="register_wallet",
        code="hot-x",
        name="Hot X",
        kind="hot",
        network="bitcoin",
        custodian="",
        description="",
    )
    assert not Wallet.objects.filter(code="hot-x").exists()
    approve(request, team.custody1)
    approve(request, team.board1)
    assert Wallet.objects.get(code="hot-x").is_active
    asset = propose(
        team.maker,
        action="register_asset",
        symbol="WBTC",
        name="Wrapped",
        network="ethereum",
        decimals=8,
        contract_address="0x2260fac5e5542a773aa44fbcfedf7c193bc2c599",
    )
    approve(asset, team.custody1)
    approve(asset, team.board1)
    assert AuditEvent.objects.filter(action="reserve.asset.registered").count() == 1


def test_a_duplicate_wallet_code_is_refused_when_proposed(team, wallet):
    with pytest.raises(ValidationError) as refused:
        propose(
            team.maker,
            action="register_wallet",
            code=wallet.code,
            name="X",
            kind="hot",
            network="bitcoin",
            custodian="",
            description="",
        )
    assert "code" in refused.value.message_dict
