"""Settings that change only through an approved ``reserve.setting_change`` request."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class GovernedKey:
    key: str
    label: str
    default: int
    minimum: int
    maximum: int


ALLOWLIST_COOLING_OFF_HOURS = GovernedKey(
    "allowlist_cooling_off_hours", _("Hours before a new allow-list address can be used"), 48, 0, 24 * 30
)
KEYS = {k.key: k for k in [ALLOWLIST_COOLING_OFF_HOURS]}


def governed_value(key: GovernedKey) -> int:
    from reserve.models import GovernedSetting

    row = GovernedSetting.objects.filter(key=key.key).values_list("value", flat=True).first()
    return key.default if row is None else int(row)
