"""Custody reference data: assets, custody wallets, their receiving addresses, and the
allow-list of addresses the fund may send to.

These records say where the fund receives and sends coins and what a stored amount means, so
nobody changes them alone: request kinds call these services when custody, treasury and board
approvers have approved (DESIGN §4; the allow-list through :mod:`reserve.kinds.allowlist`). Each write validates the record, keeps
its history (who, through which request) and writes its audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve.audit import record_event, request_source
from reserve.models import AllowListedAddress, Asset, Wallet, WalletAddress
from reserve.settings_governed import ALLOWLIST_COOLING_OFF_HOURS, governed_value


def _saved(instance, *, actor, request) -> None:
    """Validate and save with the history row naming the actor (and the approving request)."""
    instance.full_clean()
    instance._history_user = actor
    if request is not None:
        instance._change_reason = f"request #{request.pk}"
    instance.save()


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
            **request_source(request),
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
    record_event(action="reserve.asset.deactivated", actor=actor, subject=asset, data=request_source(request))
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
            **request_source(request),
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
    record_event(
        action="reserve.wallet.deactivated", actor=actor, subject=wallet, data=request_source(request)
    )
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
        data={"wallet": wallet.code, "address": row.address, "label": label, **request_source(request)},
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
        data={"wallet": row.wallet.code, "address": row.address, **request_source(request)},
    )
    return row


@transaction.atomic
def allowlist_address(
    *, network: str, address: str, label: str, counterparty: str = "", actor, request
) -> AllowListedAddress:
    """Put ``address`` on the allow-list; it becomes usable after the governed cooling-off
    period. ``request`` is the approved allow-list change (every entry names one)."""
    if AllowListedAddress.objects.filter(network=network, address=address, removed_at__isnull=True).exists():
        raise ValidationError({"address": [_("This address is already on the allow-list.")]})
    now = timezone.now()
    entry = AllowListedAddress(
        network=network,
        address=address,
        label=label,
        counterparty=counterparty,
        added_at=now,
        usable_from=now + dt.timedelta(hours=governed_value(ALLOWLIST_COOLING_OFF_HOURS)),
        added_by_request=request,
    )
    entry._history_user = actor
    entry.save()
    record_event(
        action="reserve.allowlisted_address.added",
        actor=actor,
        subject=entry,
        data={
            "network": network,
            "address": address,
            "label": label,
            "usable_from": entry.usable_from.isoformat(),
            **request_source(request),
        },
    )
    return entry


@transaction.atomic
def remove_allowlisted_address(*, network: str, address: str, actor, request) -> AllowListedAddress:
    """Take ``address`` off the allow-list; the row stays as the record of when it was usable."""
    entry = (
        AllowListedAddress.objects.select_for_update()
        .filter(network=network, address=address, removed_at__isnull=True)
        .first()
    )
    if entry is None:
        raise ValidationError({"address": [_("This address is not on the allow-list.")]})
    entry.removed_at = timezone.now()
    entry.removed_by_request = request
    entry._history_user = actor
    entry.save(update_fields=["removed_at", "removed_by_request"])
    record_event(
        action="reserve.allowlisted_address.removed",
        actor=actor,
        subject=entry,
        data={"network": network, "address": address, **request_source(request)},
    )
    return entry
