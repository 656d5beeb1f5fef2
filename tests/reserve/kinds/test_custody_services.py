"""Custody reference data changes through named services, each with its history and audit row."""

import pytest
from django.core.exceptions import ValidationError

from reserve.custody.services import (
    add_wallet_address,
    deactivate_asset,
    deactivate_wallet,
    deactivate_wallet_address,
    register_asset,
    register_wallet,
)
from reserve.models import Asset, AuditEvent, Wallet, WalletAddress
from tests.support.factories import UserFactory, WalletFactory, random_address

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return UserFactory(username="officer", roles=["Custody officer"])


def _codes() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_registering_a_wallet_records_its_addresses_history_and_audit_row(officer):
    address = random_address("bitcoin")
    wallet = register_wallet(
        code="cold-new",
        name="Cold new",
        kind="cold_multisig",
        network="bitcoin",
        addresses=[(address.upper(), "vault 1")],
        actor=officer,
    )
    assert list(wallet.addresses.values_list("address", flat=True)) == [address]  # canonical form
    assert wallet.history.get().history_user == officer
    event = AuditEvent.objects.get(action="reserve.wallet.registered")
    assert event.actor == officer
    assert event.data["addresses"] == [address]


def test_a_bad_address_registers_nothing(officer):
    with pytest.raises(ValidationError) as exc_info:
        register_wallet(
            code="cold-bad",
            name="Cold bad",
            kind="cold_multisig",
            network="bitcoin",
            addresses=[("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "")],
            actor=officer,
        )
    assert "anyone" in str(exc_info.value)
    assert not Wallet.objects.filter(code="cold-bad").exists()
    assert _codes() == []


def test_adding_and_deactivating_an_address_leave_audit_rows(officer):
    wallet = WalletFactory(code="cold-a")
    new = add_wallet_address(wallet=wallet, address=random_address("bitcoin"), label="vault 2", actor=officer)
    deactivate_wallet_address(address=new, actor=officer)
    new.refresh_from_db()
    assert new.is_active is False
    assert _codes() == ["reserve.wallet_address.added", "reserve.wallet_address.deactivated"]


def test_a_deactivated_wallet_takes_no_new_address(officer):
    wallet = WalletFactory(code="cold-a")
    before = WalletAddress.objects.filter(wallet=wallet).count()
    deactivate_wallet(wallet=wallet, actor=officer)
    with pytest.raises(ValidationError, match="deactivated"):
        add_wallet_address(wallet=wallet, address=random_address("bitcoin"), actor=officer)
    assert WalletAddress.objects.filter(wallet=wallet).count() == before
    with pytest.raises(ValidationError, match="already deactivated"):
        deactivate_wallet(wallet=wallet, actor=officer)


def test_an_address_of_another_network_is_refused(officer):
    wallet = WalletFactory(code="cold-a")
    with pytest.raises(ValidationError):
        add_wallet_address(wallet=wallet, address=random_address("bitcoin-testnet"), actor=officer)
    assert _codes() == []


def test_assets_are_registered_and_deactivated_with_audit_rows(officer):
    asset = register_asset(symbol="LTC", name="Litecoin", network="bitcoin", decimals=8, actor=officer)
    deactivate_asset(asset=asset, actor=officer)
    assert Asset.objects.get(symbol="LTC").is_active is False
    assert _codes() == ["reserve.asset.registered", "reserve.asset.deactivated"]
