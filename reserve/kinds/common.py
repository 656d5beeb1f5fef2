"""What transfers and disposals share: when a destination may receive, and how a moment reads.

A destination nobody approved yet (a custody wallet or receiving address registered recently,
an address newly allow-listed) can receive only after the governed cooling-off period.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve.models import Wallet
from reserve.settings_governed import ALLOWLIST_COOLING_OFF_HOURS, governed_value


def local_time(moment: dt.datetime) -> str:
    """A moment as approvers read it: local time with the zone's abbreviation."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


#: A custody wallet's active receiving addresses as read once: ``(address, registered at)``.
AddressRows = list[tuple[str, dt.datetime]]


def active_address_rows(wallet: Wallet) -> AddressRows:
    """One read of what both :func:`destination_addresses` and :func:`destination_ready_at`
    need, for a step that asks both."""
    return list(wallet.addresses.filter(is_active=True).order_by().values_list("address", "created_at"))


def destination_addresses(wallet: Wallet, rows: AddressRows | None = None) -> list[str]:
    """The active receiving addresses of a custody wallet, sorted (what a transfer pins);
    ``rows`` if already read (:func:`active_address_rows`)."""
    if rows is None:
        return sorted(wallet.addresses.filter(is_active=True).values_list("address", flat=True))
    return sorted(address for address, _registered in rows)


def cooling_off() -> dt.timedelta:
    return dt.timedelta(hours=governed_value(ALLOWLIST_COOLING_OFF_HOURS))


def destination_ready_at(wallet: Wallet, rows: AddressRows | None = None) -> dt.datetime:
    """A custody wallet registered by one clerk is a destination nobody approved: like an
    allow-listed address, it can receive only after the cooling-off period."""
    if rows is None:
        registered = list(wallet.addresses.filter(is_active=True).values_list("created_at", flat=True))
    else:
        registered = [moment for _address, moment in rows]
    return max([wallet.created_at, *registered]) + cooling_off()


def young_destination_notices(wallet: Wallet) -> list[str]:
    ready = destination_ready_at(wallet)
    if ready > timezone.now():
        return [
            _(
                "Wallet %(code)s or one of its addresses was registered recently; it can receive only from %(when)s (cooling-off)."
            )
            % {"code": wallet.code, "when": local_time(ready)}
        ]
    return []


def ensure_destination_cooled_off(wallet: Wallet, rows: AddressRows | None = None) -> None:
    ready = destination_ready_at(wallet, rows)
    if timezone.now() < ready:
        raise ValidationError(
            {
                "to_wallet": [
                    _("Wallet %(code)s or one of its addresses is in its cooling-off period until %(when)s.")
                    % {"code": wallet.code, "when": local_time(ready)}
                ]
            }
        )
