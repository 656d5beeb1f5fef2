"""Factories shared by the whole suite."""

import datetime as dt
import os

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from reserve.approvals.services import create_request
from reserve.models import Asset, Network, Wallet, WalletAddress, WalletKind


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@fund.example")
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get(name=role))


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("symbol",)

    symbol = "BTC"
    name = "Bitcoin"
    network = Network.BITCOIN
    decimals = 8


def btc() -> Asset:
    return AssetFactory(symbol="BTC", name="Bitcoin", network=Network.BITCOIN, decimals=8)


def eth() -> Asset:
    return AssetFactory(symbol="ETH", name="Ether", network=Network.ETHEREUM, decimals=18)


def usdt() -> Asset:
    return AssetFactory(
        symbol="USDT-TRC20",
        name="Tether USD (TRC-20)",
        network=Network.TRON,
        decimals=6,
        contract_address="TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    )


def random_address(network: str) -> str:
    """A valid, unique address on ``network`` (random key material)."""
    import base58

    from reserve.addresses import encode_segwit

    payload = os.urandom(20)
    if network == Network.BITCOIN:
        return encode_segwit("bc", 0, payload)
    if network == Network.BITCOIN_TESTNET:
        return encode_segwit("tb", 0, payload)
    if network == Network.ETHEREUM:
        return "0x" + payload.hex()
    if network == Network.TRON:
        return base58.b58encode_check(b"\x41" + payload).decode()
    raise ValueError(network)


class WalletFactory(factory.django.DjangoModelFactory):
    """A custody wallet registered long enough ago to be past the cooling-off period
    (``registered_ago=dt.timedelta(0)`` for one registered just now)."""

    class Meta:
        model = Wallet
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"wallet-{n}")
    name = factory.LazyAttribute(lambda w: f"Wallet {w.code}")
    kind = WalletKind.COLD_MULTISIG
    network = Network.BITCOIN
    custodian = "Central Securities Depository"

    @factory.post_generation
    def registered_ago(self, create, extracted, **kwargs):
        if not create:
            return
        age = dt.timedelta(days=30) if extracted is None else extracted
        if age:
            past = timezone.now() - age
            Wallet.objects.filter(pk=self.pk).update(created_at=past)
            WalletAddress.objects.filter(wallet=self).update(created_at=past)
            self.created_at = past


class WalletAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WalletAddress

    wallet = factory.SubFactory(WalletFactory)
    address = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def make_transfer(team, wallet, other_wallet, amount="1.25", **extra):
    payload = {
        "asset": "BTC",
        "amount": amount,
        "from_wallet": wallet.code,
        "to_wallet": other_wallet.code,
        "category": "reserve:forfeited",
        **extra,
    }
    return create_request(kind="reserve.transfer", payload=payload, maker=team.maker)


FORFEITED = "reserve:forfeited"


def transfer_payload(src, dst, amount="1"):
    return {
        "asset": "BTC",
        "amount": amount,
        "from_wallet": src.code,
        "to_wallet": dst.code,
        "category": FORFEITED,
    }
