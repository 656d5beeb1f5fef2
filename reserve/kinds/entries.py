"""Ledger entries made by request rather than by an operation: holdings taken over from earlier
records (opening balances) and the reversal of a posted entry (corrections are new entries)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve.approvals import payload as checks
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.ledger.reasons import NO_SALE, OPENING_BALANCE
from reserve.ledger.services import Line, Origin, get_account, post_entry, reverse_entry
from reserve.models import HELD_CATEGORIES, Asset, Category, JournalEntry, Wallet


@dataclass(frozen=True)
class OpeningBalanceAction:
    asset: Asset
    wallet: Wallet
    category: str
    units: int
    #: The earlier record the holdings are taken over from.
    origin: str
    restriction: str
    #: Noon (Almaty) of the date the holdings are taken over as of; ``None``: when posted.
    effective_at: dt.datetime | None


class OpeningBalanceKind(RequestKind):
    code = "reserve.opening_balance"
    label = gettext_lazy("Opening balance taken over from earlier records")
    slug = "opening-balances"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        asset = checks.asset(payload, errors)
        wallet = checks.wallet(payload, "wallet", errors, asset)
        category = checks.category(payload, "category", errors, [c.value for c in HELD_CATEGORIES])
        amount = checks.amount(payload, "amount", errors, asset)
        origin = checks.text(payload, "origin", errors)
        restriction = checks.text(payload, "restriction", errors, required=False, max_length=32)
        if restriction and restriction != NO_SALE:
            errors.add("restriction", _("Known restrictions: %(r)s.") % {"r": NO_SALE})
        effective_date = checks.text(payload, "effective_date", errors, required=False, max_length=10)
        if effective_date:
            try:
                day = dt.date.fromisoformat(effective_date)
            except ValueError:
                errors.add("effective_date", _("A date written as YYYY-MM-DD."))
            else:
                if day > timezone.localdate():
                    errors.add("effective_date", _("An opening balance cannot be dated in the future."))
        errors.raise_if_any()
        clean = {
            "asset": asset.symbol,
            "amount": asset.format(amount),
            "wallet": wallet.code,
            "category": category,
            "origin": origin,
            "restriction": restriction,
        }
        if effective_date:
            clean["effective_date"] = effective_date
        return clean

    def parse(self, payload: dict) -> OpeningBalanceAction:
        asset = Asset.objects.get(symbol=payload["asset"])
        effective_at = None
        if payload.get("effective_date"):
            day = dt.date.fromisoformat(payload["effective_date"])
            effective_at = timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))
        return OpeningBalanceAction(
            asset=asset,
            wallet=Wallet.objects.get(code=payload["wallet"]),
            category=payload["category"],
            units=asset.parse(payload["amount"]),
            origin=payload["origin"],
            restriction=payload["restriction"],
            effective_at=effective_at,
        )

    def title(self, action: OpeningBalanceAction) -> str:
        return _("Take over %(amount)s %(asset)s into %(wallet)s / %(category)s") % {
            "amount": action.asset.format(action.units),
            "asset": action.asset.symbol,
            "wallet": action.wallet.code,
            "category": action.category,
        }

    def match_facts(self, action: OpeningBalanceAction) -> MatchFacts:
        return MatchFacts(
            asset=action.asset,
            amount_units=action.units,
            source_category=Category.EXTERNAL,
            destination_category=action.category,
        )

    def check_executable(self, action: OpeningBalanceAction) -> None:
        checks.ensure_active(asset=action.asset, wallets=[action.wallet])

    def ledger_effect(self, action: OpeningBalanceAction | dict) -> list[EffectLine]:
        amount = action.asset.format(action.units)
        return [
            EffectLine(checks.account_label("—", Category.EXTERNAL), amount, "debit"),
            EffectLine(checks.account_label(action.wallet, action.category), amount, "credit"),
        ]

    def execute(self, *, request, action: OpeningBalanceAction, actor) -> dict:
        asset = action.asset
        entry = post_entry(
            reason=OPENING_BALANCE.code,
            lines=[
                Line(get_account(wallet=None, category=Category.EXTERNAL, asset=asset), -action.units),
                Line(get_account(wallet=action.wallet, category=action.category, asset=asset), action.units),
            ],
            origin=Origin(
                kind=OPENING_BALANCE.code,
                label=action.origin,
                document=request,
                restriction=action.restriction,
            ),
            actor=actor,
            source=request,
            memo=request.title,
            effective_at=action.effective_at,
        )
        return {"entry": entry.number}


@dataclass(frozen=True)
class ReversalAction:
    entry: JournalEntry
    reason: str


class ReversalKind(RequestKind):
    code = "reserve.reversal"
    label = gettext_lazy("Reversal of a posted entry")
    slug = "reversals"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        number = checks.text(payload, "entry", errors, max_length=20)
        reason = checks.text(payload, "reason", errors)
        entry = JournalEntry.objects.filter(number=number).first() if number else None
        if number and entry is None:
            errors.add("entry", _("No journal entry %(number)s.") % {"number": number})
        errors.raise_if_any()
        return {"entry": number, "reason": reason}

    def parse(self, payload: dict) -> ReversalAction:
        return ReversalAction(
            entry=JournalEntry.objects.get(number=payload["entry"]), reason=payload["reason"]
        )

    def title(self, action: ReversalAction) -> str:
        return _("Reverse entry %(entry)s") % {"entry": action.entry.number}

    def match_facts(self, action: ReversalAction) -> MatchFacts:
        """A reversal moves what the original moved: it is governed by the same asset and
        amount thresholds (from the original's held accounts)."""
        postings = list(action.entry.postings.select_related("account__asset"))
        held_in = [p for p in postings if p.amount > 0 and not p.account.may_go_negative]
        held_out = [p for p in postings if p.amount < 0 and not p.account.may_go_negative]
        moved = sum(p.amount for p in held_in) or -sum(p.amount for p in held_out)
        return MatchFacts(
            asset=postings[0].account.asset if postings else None,
            amount_units=moved,
            source_category=held_in[0].account.category if held_in else Category.EXTERNAL,
            destination_category=held_out[0].account.category if held_out else Category.EXTERNAL,
        )

    def check_executable(self, action: ReversalAction) -> None:
        entry = action.entry
        if entry.reverses_id is not None or JournalEntry.objects.filter(reverses=entry).exists():
            raise ValidationError({"entry": [_("This entry is a reversal or has been reversed already.")]})

    def ledger_effect(self, action: ReversalAction | dict) -> list[EffectLine]:
        return [
            EffectLine(
                str(p.account), p.account.asset.format(abs(p.amount)), "credit" if p.amount < 0 else "debit"
            )
            for p in action.entry.postings.select_related("account__asset", "account__wallet")
        ]

    def execute(self, *, request, action: ReversalAction, actor) -> dict:
        reversal = reverse_entry(entry=action.entry, actor=actor, memo=action.reason, source=request)
        return {"entry": reversal.number, "reverses": action.entry.number}
