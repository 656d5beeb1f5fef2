"""Transfers between custody wallets: units move from one wallet's account to another's, in
the same category; a network fee, if any, is booked to the source wallet's fees account."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.amounts import parse_amount
from reserve.approvals import payload as checks
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.kinds.common import (
    active_address_rows,
    destination_addresses,
    ensure_destination_cooled_off,
    young_destination_notices,
)
from reserve.ledger.reasons import TRANSFER
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import HELD_CATEGORIES, Account, Asset, Category, Wallet


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
    #: Rows one step (making the request, or executing it) has already read, so that its next
    #: check reads them no second time: ``"address_rows"`` (the destination's active addresses,
    #: read when the payload was cleaned), ``"accounts"`` (the two wallets' accounts in the
    #: category, read when checking the balance). An action lives for one step only; it is
    #: parsed again from the stored payload for the next, so nothing here outlives its read.
    loaded: dict = field(default_factory=dict, compare=False, repr=False)

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
        return self.clean_and_parse(payload)[0]

    def clean_and_parse(self, payload: dict) -> tuple[dict, TransferAction]:
        """The clean payload, and the action built from the rows cleaning read (the asset, both
        wallets in one query, the destination's addresses) instead of reading them again."""
        errors = checks.PayloadErrors()
        asset = checks.asset(payload, errors)
        wallets = checks.wallets(payload, ("from_wallet", "to_wallet"), errors, asset)
        source, destination = wallets["from_wallet"], wallets["to_wallet"]
        category = checks.category(payload, "category", errors, [c.value for c in HELD_CATEGORIES])
        amount = checks.amount(payload, "amount", errors, asset)
        fee = checks.amount(payload, "fee", errors, asset, required=False, allow_zero=True)
        if source is not None and destination is not None and source.pk == destination.pk:
            errors.add("to_wallet", _("Source and destination are the same wallet."))
        errors.raise_if_any()
        address_rows = active_address_rows(destination)
        to_addresses = destination_addresses(destination, address_rows)
        clean = {
            "asset": asset.symbol,
            "amount": asset.format(amount),
            "from_wallet": source.code,
            "to_wallet": destination.code,
            "to_addresses": to_addresses,
            "category": category,
            "fee": asset.format(fee or 0),
        }
        action = TransferAction(
            asset=asset,
            source=source,
            destination=destination,
            category=category,
            units=amount,
            fee=fee or 0,
            to_addresses=tuple(to_addresses),
        )
        action.loaded["address_rows"] = address_rows
        return clean, action

    def parse(self, payload: dict) -> TransferAction:
        return self._action(payload, Asset.objects.get(symbol=payload["asset"]))

    def parse_request(self, request) -> TransferAction:
        """The request's own asset, read with the locked request in this transaction, is the
        row ``parse`` would read by its symbol: it is not read again."""
        asset = request.asset
        if asset is None or asset.symbol != request.payload["asset"]:
            return self.parse(request.payload)
        return self._action(request.payload, asset)

    @staticmethod
    def _action(payload: dict, asset: Asset) -> TransferAction:
        """The action ``payload`` names, ``asset`` being the row its symbol names."""
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
        # The action's asset and wallets were read in this step (by ``parse``, the asset with
        # the locked request when it executes, or by cleaning when the request is made): their
        # flags are current.
        checks.ensure_active(asset=asset, wallets=[source, destination], fresh=True)
        address_rows = action.loaded.get("address_rows")
        if address_rows is None:
            address_rows = active_address_rows(destination)
        if destination_addresses(destination, address_rows) != list(action.to_addresses):
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
        ensure_destination_cooled_off(destination, address_rows)
        # Both accounts in one read (an account not yet opened holds nothing and is not created
        # here); ``execute`` posts to the same rows.
        accounts = {
            account.wallet_id: account
            for account in Account.objects.filter(
                wallet_id__in=[source.pk, destination.pk], category=action.category, asset=asset
            ).order_by()
        }
        action.loaded["accounts"] = accounts
        available = accounts[source.pk].balance if source.pk in accounts else 0
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
            Line(self._account(action, action.source), -action.debited),
            Line(self._account(action, action.destination), action.units),
        ]
        if action.fee:
            lines.append(
                Line(get_account(wallet=action.source, category=Category.FEES, asset=asset), action.fee)
            )
        entry = post_entry(reason=TRANSFER.code, lines=lines, actor=actor, source=request, memo=request.title)
        return {"entry": entry.number}

    @staticmethod
    def _account(action: TransferAction, wallet: Wallet) -> Account:
        """The wallet's account in the transfer's category: the one ``check_executable`` read in
        this step if it exists and the wallet is still on the asset's network; otherwise the
        ledger's ``get_account`` (which opens it, or refuses a wallet moved to another network)."""
        known = action.loaded.get("accounts", {}).get(wallet.pk)
        if known is not None and wallet.network == action.asset.network:
            return known
        return get_account(wallet=wallet, category=action.category, asset=action.asset)
