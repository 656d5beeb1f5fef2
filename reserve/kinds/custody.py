"""Custody changes: registering or deactivating an asset or a custody wallet, and adding or
deactivating a wallet's receiving address. These records say where the fund receives coins and
what a stored amount means, so nobody changes them alone: custody and board approvers decide
them like an allow-list change, and :mod:`reserve.custody.services` writes each change with its
history and audit row."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.approvals import payload as checks
from reserve.approvals.registry import RequestKind
from reserve.custody import services
from reserve.models import Asset, Wallet, WalletAddress

#: What a custody change does, and the payload fields each action uses.
ACTIONS = {
    "register_asset": ("symbol", "name", "network", "decimals", "contract_address"),
    "deactivate_asset": ("symbol",),
    "register_wallet": ("code", "name", "kind", "network", "custodian", "description"),
    "deactivate_wallet": ("code",),
    "add_address": ("code", "address", "label"),
    "deactivate_address": ("code", "address"),
}


@dataclass(frozen=True)
class CustodyChangeAction:
    change: str
    fields: dict


def _model_errors(instance, *, exclude=()) -> dict:
    """Field errors of a record that is not saved (``full_clean`` writes nothing)."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        return exc.message_dict
    return {}


class CustodyChangeKind(RequestKind):
    code = "reserve.custody_change"
    label = gettext_lazy("Custody change")
    slug = "custody-changes"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        change = checks.text(payload, "action", errors)
        if change and change not in ACTIONS:
            errors.add("action", _("Choose one of: %(choices)s.") % {"choices": ", ".join(ACTIONS)})
        errors.raise_if_any()
        fields = {}
        for name in ACTIONS[change]:
            value = payload.get(name, "")
            fields[name] = (
                value if isinstance(value, int) and not isinstance(value, bool) else str(value).strip()
            )
        problems = self._problems(change, fields)
        for name, messages in problems.items():
            for message in messages:
                errors.add(name if name in fields else "action", message)
        errors.raise_if_any()
        return {"action": change, **fields}

    def _address_row(self, fields: dict) -> WalletAddress:
        wallet = Wallet.objects.filter(code=fields["code"]).first()
        return WalletAddress(wallet=wallet, address=fields["address"], label=fields.get("label", ""))

    def _problems(self, change: str, fields: dict) -> dict:
        if change == "register_asset":
            try:
                fields["decimals"] = int(fields["decimals"])
            except (TypeError, ValueError):
                return {"decimals": [_("A whole number of decimal places.")]}
            return _model_errors(Asset(**fields))
        if change == "register_wallet":
            return _model_errors(Wallet(**fields))
        if change == "deactivate_asset":
            if not Asset.objects.filter(symbol=fields["symbol"], is_active=True).exists():
                return {"symbol": [_("No active asset has this symbol.")]}
            return {}
        wallet = Wallet.objects.filter(code=fields["code"]).first()
        if wallet is None or not wallet.is_active:
            return {"code": [_("No active custody wallet has this code.")]}
        if change == "add_address":
            row = self._address_row(fields)
            problems = _model_errors(row)
            fields["address"] = row.address  # normalised for its network by the model's clean()
            return problems
        active = WalletAddress.objects.filter(wallet=wallet, address=fields.get("address"), is_active=True)
        if change == "deactivate_address" and not active.exists():
            return {"address": [_("This wallet has no active address %(address)s.") % fields]}
        return {}

    def parse(self, payload: dict) -> CustodyChangeAction:
        return CustodyChangeAction(
            change=payload["action"], fields={k: v for k, v in payload.items() if k != "action"}
        )

    def title(self, action: CustodyChangeAction) -> str:
        f = action.fields
        titles = {
            "register_asset": _("Register asset %(symbol)s on %(network)s"),
            "deactivate_asset": _("Deactivate asset %(symbol)s"),
            "register_wallet": _("Register custody wallet %(code)s"),
            "deactivate_wallet": _("Deactivate custody wallet %(code)s"),
            "add_address": _("Add address %(address)s to wallet %(code)s"),
            "deactivate_address": _("Deactivate address %(address)s of wallet %(code)s"),
        }
        return titles[action.change] % f

    def notices(self, action) -> list[str]:
        if action.change == "add_address":
            return [
                _(
                    "Coins sent to this address will be held in wallet %(code)s. Check the address "
                    "against the custodian's own record before approving."
                )
                % action.fields
            ]
        return []

    def check_executable(self, action: CustodyChangeAction) -> None:
        problems = self._problems(action.change, dict(action.fields))
        if problems:
            raise ValidationError(problems)

    def execute(self, *, request, action: CustodyChangeAction, actor) -> dict:
        f = action.fields
        if action.change == "register_asset":
            asset = services.register_asset(**f, actor=actor, request=request)
            return {"asset_id": asset.pk}
        if action.change == "deactivate_asset":
            asset = services.deactivate_asset(
                asset=Asset.objects.get(symbol=f["symbol"]), actor=actor, request=request
            )
            return {"asset_id": asset.pk}
        if action.change == "register_wallet":
            wallet = services.register_wallet(**f, actor=actor, request=request)
            return {"wallet_id": wallet.pk}
        wallet = Wallet.objects.get(code=f["code"])
        if action.change == "deactivate_wallet":
            services.deactivate_wallet(wallet=wallet, actor=actor, request=request)
            return {"wallet_id": wallet.pk}
        if action.change == "add_address":
            row = services.add_wallet_address(
                wallet=wallet, address=f["address"], label=f["label"], actor=actor, request=request
            )
            return {"address_id": row.pk}
        row = WalletAddress.objects.get(wallet=wallet, address=f["address"], is_active=True)
        services.deactivate_wallet_address(address=row, actor=actor, request=request)
        return {"address_id": row.pk}
