"""Allow-list changes: adding an address the fund may dispose of assets to (usable after the
governed cooling-off period), or removing one."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.addresses import AddressError, normalize_address
from reserve.approvals import payload as checks
from reserve.approvals.registry import RequestKind
from reserve.custody.services import allowlist_address, remove_allowlisted_address
from reserve.models import AllowListedAddress, Network
from reserve.settings_governed import ALLOWLIST_COOLING_OFF_HOURS, governed_value


@dataclass(frozen=True)
class AllowListChangeAction:
    change: str  # "add" or "remove"
    network: str
    address: str
    label: str
    counterparty: str


class AllowListChangeKind(RequestKind):
    code = "reserve.allowlist_change"
    label = gettext_lazy("Allow-list change")
    slug = "allowlist-changes"
    api_serializer = "reserve.api.request_serializers.AllowListChangePayloadSerializer"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        action = checks.text(payload, "action", errors)
        if action and action not in ("add", "remove"):
            errors.add("action", _("Choose add or remove."))
        network = checks.text(payload, "network", errors)
        if network and network not in Network.values:
            errors.add("network", _("Choose one of: %(choices)s.") % {"choices": ", ".join(Network.values)})
            network = ""
        address = checks.text(payload, "address", errors, max_length=120)
        if address and network:
            try:
                address = normalize_address(network, address)
            except AddressError as exc:
                errors.add("address", str(exc))
        label = checks.text(payload, "label", errors, required=action == "add", max_length=120)
        counterparty = checks.text(payload, "counterparty", errors, required=False, max_length=200)
        errors.raise_if_any()
        return {
            "action": action,
            "network": network,
            "address": address,
            "label": label,
            "counterparty": counterparty,
        }

    def parse(self, payload: dict) -> AllowListChangeAction:
        return AllowListChangeAction(
            change=payload["action"],
            network=payload["network"],
            address=payload["address"],
            label=payload["label"],
            counterparty=payload["counterparty"],
        )

    def title(self, action: AllowListChangeAction) -> str:
        if action.change == "add":
            return _("Allow-list %(address)s (%(label)s)") % {
                "address": action.address,
                "label": action.label,
            }
        return _("Remove %(address)s from the allow-list") % {"address": action.address}

    def notices(self, action: AllowListChangeAction | dict) -> list[str]:
        if action.change != "add":
            return []
        hours = governed_value(ALLOWLIST_COOLING_OFF_HOURS)
        return [
            _("Once approved, the address can be used only after a cooling-off period of %(hours)d hours.")
            % {"hours": hours}
        ]

    def check_executable(self, action: AllowListChangeAction) -> None:
        active = AllowListedAddress.objects.filter(
            network=action.network, address=action.address, removed_at__isnull=True
        ).exists()
        if action.change == "add" and active:
            raise ValidationError({"address": [_("This address is already on the allow-list.")]})
        if action.change == "remove" and not active:
            raise ValidationError({"address": [_("This address is not on the allow-list.")]})

    def execute(self, *, request, action: AllowListChangeAction, actor) -> dict:
        if action.change == "add":
            entry = allowlist_address(
                network=action.network,
                address=action.address,
                label=action.label,
                counterparty=action.counterparty,
                actor=actor,
                request=request,
            )
            return {"allowlist_id": entry.pk, "usable_from": entry.usable_from.isoformat()}
        entry = remove_allowlisted_address(
            network=action.network, address=action.address, actor=actor, request=request
        )
        return {"allowlist_id": entry.pk, "removed_at": entry.removed_at.isoformat()}
