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


def destination_addresses(wallet: Wallet) -> list[str]:
    """The active receiving addresses of a custody wallet, sorted (what a transfer pins)."""
    return sorted(wallet.addresses.filter(is_active=True).values_list("address", flat=True))


def cooling_off() -> dt.timedelta:
    return dt.timedelta(hours=governed_value(ALLOWLIST_COOLING_OFF_HOURS))


def destination_ready_at(wallet: Wallet) -> dt.datetime:
    """A custody wallet registered by one clerk is a destination nobody approved: like an
    allow-listed address, it can receive only after the cooling-off period."""
    newest = max(
        [wallet.created_at, *wallet.addresses.filter(is_active=True).values_list("created_at", flat=True)]
    )
    return newest + cooling_off()


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


def ensure_destination_cooled_off(wallet: Wallet) -> None:
    ready = destination_ready_at(wallet)
    if timezone.now() < ready:
        raise ValidationError(
            {
                "to_wallet": [
                    _("Wallet %(code)s or one of its addresses is in its cooling-off period until %(when)s.")
                    % {"code": wallet.code, "when": local_time(ready)}
                ]
            }
        )
