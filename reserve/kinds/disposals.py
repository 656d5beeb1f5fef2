"""Disposal (sale) of reserve assets to an address on the allow-list, after its cooling-off
period. Restricted assets and lots under a no-sale restriction are never disposed of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.addresses import AddressError, normalize_address
from reserve.approvals import payload as checks
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.kinds.common import local_time
from reserve.ledger.reasons import DISPOSAL, NO_SALE
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import AllowListedAddress, Asset, Category, Lot, Wallet


def usable_allowlisted(network: str, address: str, now: dt.datetime | None = None) -> AllowListedAddress:
    """The allow-list entry for ``address``, refused if there is none or it is still cooling off."""
    entry = AllowListedAddress.objects.filter(
        network=network, address=address, removed_at__isnull=True
    ).first()
    if entry is None:
        raise ValidationError({"to_address": [_("This address is not on the allow-list.")]})
    if (now or timezone.now()) < entry.usable_from:
        raise ValidationError(
            {
                "to_address": [
                    _("This allow-listed address is in its cooling-off period until %(when)s.")
                    % {"when": local_time(entry.usable_from)}
                ]
            }
        )
    return entry


@dataclass(frozen=True)
class DisposalAction:
    asset: Asset
    source: Wallet
    category: str
    units: int
    to_address: str


class DisposalKind(RequestKind):
    code = "reserve.disposal"
    label = gettext_lazy("Disposal (sale) to an allow-listed address")
    slug = "disposals"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        asset = checks.asset(payload, errors)
        source = checks.wallet(payload, "from_wallet", errors, asset)
        category = checks.category(
            payload, "category", errors, [Category.RESERVE_FORFEITED.value, Category.RESERVE_MINED.value]
        )
        if payload.get("category") == Category.RESTRICTED:
            errors.errors["category"] = [_("Restricted assets can never be disposed.")]
        amount = checks.amount(payload, "amount", errors, asset)
        address = checks.text(payload, "to_address", errors, max_length=120)
        if address and asset is not None:
            try:
                address = normalize_address(asset.network, address)
            except AddressError as exc:
                errors.add("to_address", str(exc))
        errors.raise_if_any()
        return {
            "asset": asset.symbol,
            "amount": asset.format(amount),
            "from_wallet": source.code,
            "category": category,
            "to_address": address,
        }

    def parse(self, payload: dict) -> DisposalAction:
        asset = Asset.objects.get(symbol=payload["asset"])
        return DisposalAction(
            asset=asset,
            source=Wallet.objects.get(code=payload["from_wallet"]),
            category=payload["category"],
            units=asset.parse(payload["amount"]),
            to_address=payload["to_address"],
        )

    def title(self, action: DisposalAction) -> str:
        return _("Dispose of %(amount)s %(asset)s from %(src)s to %(address)s") % {
            "amount": action.asset.format(action.units),
            "asset": action.asset.symbol,
            "src": action.source.code,
            "address": action.to_address,
        }

    def match_facts(self, action: DisposalAction) -> MatchFacts:
        return MatchFacts(
            asset=action.asset,
            amount_units=action.units,
            source_category=action.category,
            destination_category=Category.DISPOSED,
        )

    def ledger_effect(self, action: DisposalAction | dict) -> list[EffectLine]:
        amount = action.asset.format(action.units)
        return [
            EffectLine(checks.account_label(action.source, action.category), amount, "debit"),
            EffectLine(checks.account_label(action.source, Category.DISPOSED), amount, "credit"),
        ]

    def notices(self, action: DisposalAction | dict) -> list[str]:
        entry = AllowListedAddress.objects.filter(
            network=action.asset.network, address=action.to_address, removed_at__isnull=True
        ).first()
        if entry is None:
            return [_("The destination is not on the allow-list: this request cannot execute.")]
        if entry.usable_from > timezone.now():
            return [
                _(
                    "The destination “%(label)s” is in its cooling-off period until %(when)s; the request cannot execute before then."
                )
                % {"label": entry.label, "when": local_time(entry.usable_from)}
            ]
        return [
            _(
                "The destination “%(label)s” has been allow-listed since %(added)s; its cooling-off period ended %(when)s."
            )
            % {
                "label": entry.label,
                "added": local_time(entry.added_at),
                "when": local_time(entry.usable_from),
            }
        ]

    def check_executable(self, action: DisposalAction) -> None:
        asset, wallet = action.asset, action.source
        usable_allowlisted(asset.network, action.to_address)
        checks.ensure_active(asset=asset, wallets=[wallet])
        free = sum(
            Lot.objects.filter(
                account__wallet=wallet,
                account__category=action.category,
                account__asset=asset,
                remaining__gt=0,
            )
            .exclude(restriction=NO_SALE)
            .values_list("remaining", flat=True)
        )
        if free < action.units:
            raise ValidationError(
                {
                    "amount": [
                        _(
                            "Only %(free)s %(asset)s in %(wallet)s / %(category)s may be sold (the rest is under a no-sale restriction or absent)."
                        )
                        % {
                            "free": asset.format(free),
                            "asset": asset.symbol,
                            "wallet": wallet.code,
                            "category": action.category,
                        }
                    ]
                }
            )

    def execute(self, *, request, action: DisposalAction, actor) -> dict:
        asset, wallet = action.asset, action.source
        entry = post_entry(
            reason=DISPOSAL.code,
            lines=[
                Line(get_account(wallet=wallet, category=action.category, asset=asset), -action.units),
                Line(get_account(wallet=wallet, category=Category.DISPOSED, asset=asset), action.units),
            ],
            actor=actor,
            source=request,
            memo=request.title,
        )
        return {"entry": entry.number, "to_address": action.to_address}
