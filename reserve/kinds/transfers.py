"""Transfers between custody wallets: units move from one wallet's account to another's, in
the same category; a network fee, if any, is booked to the source wallet's fees account."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.amounts import parse_amount
from reserve.approvals import payload as checks
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.kinds.common import (
    destination_addresses,
    ensure_destination_cooled_off,
    young_destination_notices,
)
from reserve.ledger.reasons import TRANSFER
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import HELD_CATEGORIES, Asset, Category, Wallet


@dataclass(frozen=True)
class TransferAction:
    asset: Asset
    source: Wallet
    destination: Wallet
    category: str
    units: int
    fee: int
    #: The destination's receiving addresses when the request was made; approvers sign these.
    to_addresses: tuple[str, ...]

    @property
    def debited(self) -> int:
        """What leaves the source account: the amount and the fee."""
        return self.units + self.fee


class TransferKind(RequestKind):
    code = "reserve.transfer"
    label = gettext_lazy("Transfer between custody wallets")
    slug = "transfers"
    api_serializer = "reserve.api.request_serializers.TransferPayloadSerializer"
    form_class = "reserve.workflow.forms.TransferForm"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        asset = checks.asset(payload, errors)
        source = checks.wallet(payload, "from_wallet", errors, asset)
        destination = checks.wallet(payload, "to_wallet", errors, asset)
        category = checks.category(payload, "category", errors, [c.value for c in HELD_CATEGORIES])
        amount = checks.amount(payload, "amount", errors, asset)
        fee = checks.amount(payload, "fee", errors, asset, required=False, allow_zero=True)
        if source is not None and destination is not None and source.pk == destination.pk:
            errors.add("to_wallet", _("Source and destination are the same wallet."))
        errors.raise_if_any()
        return {
            "asset": asset.symbol,
            "amount": asset.format(amount),
            "from_wallet": source.code,
            "to_wallet": destination.code,
            "to_addresses": destination_addresses(destination),
            "category": category,
            "fee": asset.format(fee or 0),
        }

    def parse(self, payload: dict) -> TransferAction:
        asset = Asset.objects.get(symbol=payload["asset"])
        wallets = Wallet.objects.in_bulk([payload["from_wallet"], payload["to_wallet"]], field_name="code")
        if payload["from_wallet"] not in wallets or payload["to_wallet"] not in wallets:
            raise Wallet.DoesNotExist(f"no wallet {payload['from_wallet']} or {payload['to_wallet']}")
        return TransferAction(
            asset=asset,
            source=wallets[payload["from_wallet"]],
            destination=wallets[payload["to_wallet"]],
            category=payload["category"],
            units=asset.parse(payload["amount"]),
            fee=parse_amount(payload["fee"], asset.decimals, allow_zero=True),
            to_addresses=tuple(payload["to_addresses"]),
        )

    def title(self, action: TransferAction) -> str:
        return _("Transfer %(amount)s %(asset)s %(category)s from %(src)s to %(dst)s") % {
            "amount": action.asset.format(action.units),
            "asset": action.asset.symbol,
            "category": action.category,
            "src": action.source.code,
            "dst": action.destination.code,
        }

    def match_facts(self, action: TransferAction) -> MatchFacts:
        return MatchFacts(
            asset=action.asset,
            amount_units=action.debited,
            source_category=action.category,
            destination_category=action.category,
        )

    def ledger_effect(self, action: TransferAction | dict) -> list[EffectLine]:
        asset = action.asset
        lines = [
            EffectLine(
                checks.account_label(action.source, action.category), asset.format(action.debited), "debit"
            ),
            EffectLine(
                checks.account_label(action.destination, action.category),
                asset.format(action.units),
                "credit",
            ),
        ]
        if action.fee:
            lines.append(
                EffectLine(
                    checks.account_label(action.source, Category.FEES), asset.format(action.fee), "credit"
                )
            )
        return lines

    def notices(self, action: TransferAction | dict) -> list[str]:
        receiving = (
            _("The units will be received on: %(addresses)s.") % {"addresses": ", ".join(action.to_addresses)}
            if action.to_addresses
            else _("Wallet %(code)s has no on-chain address (a custodian account).")
            % {"code": action.destination.code}
        )
        return [receiving, *young_destination_notices(action.destination)]

    def check_executable(self, action: TransferAction) -> None:
        asset, source, destination = action.asset, action.source, action.destination
        checks.ensure_active(asset=asset, wallets=[source, destination])
        if destination_addresses(destination) != list(action.to_addresses):
            raise ValidationError(
                {
                    "to_wallet": [
                        _(
                            "The receiving addresses of %(code)s changed since the request was made; make it again."
                        )
                        % {"code": destination.code}
                    ]
                }
            )
        ensure_destination_cooled_off(destination)
        available = checks.held_units(source, action.category, asset)
        if available < action.debited:
            raise ValidationError(
                {
                    "amount": [
                        _("%(wallet)s holds %(available)s %(asset)s in %(category)s; %(needed)s needed.")
                        % {
                            "wallet": source.code,
                            "available": asset.format(available),
                            "asset": asset.symbol,
                            "category": action.category,
                            "needed": asset.format(action.debited),
                        }
                    ]
                }
            )

    def execute(self, *, request, action: TransferAction, actor) -> dict:
        asset = action.asset
        lines = [
            Line(get_account(wallet=action.source, category=action.category, asset=asset), -action.debited),
            Line(get_account(wallet=action.destination, category=action.category, asset=asset), action.units),
        ]
        if action.fee:
            lines.append(
                Line(get_account(wallet=action.source, category=Category.FEES, asset=asset), action.fee)
            )
        entry = post_entry(reason=TRANSFER.code, lines=lines, actor=actor, source=request, memo=request.title)
        return {"entry": entry.number}
