"""Custody reference data: assets, custody wallets and their receiving addresses.

These records say where the fund receives coins and what a stored amount means, so nobody
changes them alone: the request kinds in :mod:`reserve.kinds.custody` call these services when
custody and board approvers have approved (DESIGN §4). Each write validates the record, keeps
its history (who, through which request) and writes its audit row in the same transaction.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from reserve.audit import record_event
from reserve.models import Asset, Wallet, WalletAddress


def _saved(instance, *, actor, request) -> None:
    """Validate and save with the history row naming the actor (and the approving request)."""
    instance.full_clean()
    instance._history_user = actor
    if request is not None:
        instance._change_reason = f"request #{request.pk}"
    instance.save()


def _source(request) -> dict:
    return {"request": request.pk} if request is not None else {}


@transaction.atomic
def register_asset(
    *, symbol: str, name: str, network: str, decimals: int, contract_address: str = "", actor, request=None
) -> Asset:
    asset = Asset(
        symbol=symbol, name=name, network=network, decimals=decimals, contract_address=contract_address
    )
    _saved(asset, actor=actor, request=request)
    record_event(
        action="reserve.asset.registered",
        actor=actor,
        subject=asset,
        data={
            "symbol": symbol,
            "network": network,
            "decimals": decimals,
            "contract_address": contract_address,
            **_source(request),
        },
    )
    return asset


@transaction.atomic
def deactivate_asset(*, asset: Asset, actor, request=None) -> Asset:
    asset = Asset.objects.select_for_update().get(pk=asset.pk)
    if not asset.is_active:
        raise ValidationError(_("Asset %(symbol)s is already deactivated.") % {"symbol": asset.symbol})
    asset.is_active = False
    _saved(asset, actor=actor, request=request)
    record_event(action="reserve.asset.deactivated", actor=actor, subject=asset, data=_source(request))
    return asset


@transaction.atomic
def register_wallet(
    *,
    code: str,
    name: str,
    kind: str,
    network: str,
    custodian: str = "",
    description: str = "",
    addresses: list[tuple[str, str]] = (),
    actor,
    request=None,
) -> Wallet:
    """A new custody wallet with its receiving addresses ``[(address, label), ...]``."""
    wallet = Wallet(
        code=code, name=name, kind=kind, network=network, custodian=custodian, description=description
    )
    _saved(wallet, actor=actor, request=request)
    added = [
        _add_address(wallet=wallet, address=address, label=label, actor=actor, request=request)
        for address, label in addresses
    ]
    record_event(
        action="reserve.wallet.registered",
        actor=actor,
        subject=wallet,
        data={
            "code": code,
            "kind": kind,
            "network": network,
            "addresses": [a.address for a in added],
            **_source(request),
        },
    )
    return wallet


@transaction.atomic
def deactivate_wallet(*, wallet: Wallet, actor, request=None) -> Wallet:
    """A deactivated wallet sends and receives nothing (transfers re-check at execution); its
    ledger accounts and history stay."""
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    if not wallet.is_active:
        raise ValidationError(_("Wallet %(code)s is already deactivated.") % {"code": wallet.code})
    wallet.is_active = False
    _saved(wallet, actor=actor, request=request)
    record_event(action="reserve.wallet.deactivated", actor=actor, subject=wallet, data=_source(request))
    return wallet


def _add_address(*, wallet: Wallet, address: str, label: str, actor, request) -> WalletAddress:
    if not wallet.is_active:
        raise ValidationError(
            _("Wallet %(code)s is deactivated; it takes no new address.") % {"code": wallet.code}
        )
    row = WalletAddress(wallet=wallet, address=address, label=label)
    _saved(row, actor=actor, request=request)
    return row


@transaction.atomic
def add_wallet_address(
    *, wallet: Wallet, address: str, label: str = "", actor, request=None
) -> WalletAddress:
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    row = _add_address(wallet=wallet, address=address, label=label, actor=actor, request=request)
    record_event(
        action="reserve.wallet_address.added",
        actor=actor,
        subject=row,
        data={"wallet": wallet.code, "address": row.address, "label": label, **_source(request)},
    )
    return row


@transaction.atomic
def deactivate_wallet_address(*, address: WalletAddress, actor, request=None) -> WalletAddress:
    row = WalletAddress.objects.select_for_update().select_related("wallet").get(pk=address.pk)
    if not row.is_active:
        raise ValidationError(_("Address %(address)s is already deactivated.") % {"address": row.address})
    row.is_active = False
    _saved(row, actor=actor, request=request)
    record_event(
        action="reserve.wallet_address.deactivated",
        actor=actor,
        subject=row,
        data={"wallet": row.wallet.code, "address": row.address, **_source(request)},
    )
    return row
