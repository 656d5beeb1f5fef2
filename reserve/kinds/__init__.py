"""The request kinds the reserve owns. Intake and mining register theirs the same way.

Payloads are plain JSON with exact strings for amounts ("1.50000000"), so the canonical
digest approvers sign covers exactly what will execute.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reserve import roles
from reserve.addresses import AddressError, normalize_address
from reserve.amounts import AmountError, parse_amount
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind, register_kind
from reserve.ledger.reasons import DISPOSAL, NO_SALE, OPENING_BALANCE, TRANSFER
from reserve.ledger.services import (
    Line,
    Origin,
    get_account,
    post_entry,
    reverse_entry,
)
from reserve.models import (
    HELD_CATEGORIES,
    Account,
    AllowListedAddress,
    ApprovalPolicy,
    ApproverMembership,
    Asset,
    Category,
    GovernedSetting,
    JournalEntry,
    Lot,
    Period,
    PolicyTier,
    Wallet,
)
from reserve.settings_governed import ALLOWLIST_COOLING_OFF_HOURS, KEYS, governed_value

User = get_user_model()


class _Errors:
    """Collects field errors so one response names every bad field."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _text(payload: dict, field: str, errors: _Errors, *, required: bool = True, max_length: int = 255) -> str:
    value = payload.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, _("This field is required."))
    if len(value) > max_length:
        errors.add(field, _("At most %(n)d characters.") % {"n": max_length})
    return value


def _asset(payload: dict, errors: _Errors, field: str = "asset") -> Asset | None:
    symbol = _text(payload, field, errors)
    if not symbol:
        return None
    asset = Asset.objects.filter(symbol=symbol, is_active=True).first()
    if asset is None:
        errors.add(field, _("No active asset %(symbol)s.") % {"symbol": symbol})
    return asset


def _wallet(payload: dict, field: str, errors: _Errors, asset: Asset | None) -> Wallet | None:
    code = _text(payload, field, errors)
    if not code:
        return None
    wallet = Wallet.objects.filter(code=code, is_active=True).first()
    if wallet is None:
        errors.add(field, _("No active custody wallet %(code)s.") % {"code": code})
    elif asset is not None and wallet.network != asset.network:
        errors.add(
            field,
            _("Wallet %(code)s is not on the %(network)s network.")
            % {"code": code, "network": asset.network},
        )
    return wallet


def _amount(
    payload: dict,
    field: str,
    errors: _Errors,
    asset: Asset | None,
    *,
    required: bool = True,
    allow_zero: bool = False,
) -> int | None:
    raw = payload.get(field)
    if raw in (None, ""):
        if required:
            errors.add(field, _("This field is required."))
        return None
    if asset is None:
        return None
    try:
        return parse_amount(raw, asset.decimals, allow_zero=allow_zero)
    except AmountError as exc:
        errors.add(field, str(exc))
        return None


def _category(payload: dict, field: str, errors: _Errors, allowed) -> str:
    value = _text(payload, field, errors)
    if value and value not in allowed:
        errors.add(field, _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
    return value


def _account_label(wallet: Wallet | str, category: str) -> str:
    code = wallet.code if isinstance(wallet, Wallet) else wallet
    return f"{code} / {category}"


def _held_units(wallet: Wallet, category: str, asset: Asset) -> int:
    """A read: an account that does not exist yet holds nothing (and is not created here)."""
    balance = (
        Account.objects.filter(wallet=wallet, category=category, asset=asset)
        .values_list("balance", flat=True)
        .first()
    )
    return balance or 0


def _ensure_active(*, asset: Asset, wallets: list[Wallet]) -> None:
    """Re-checked at execution: a wallet or asset deactivated since the request was made (keys
    suspected compromised, say) receives and sends nothing."""
    if not Asset.objects.filter(pk=asset.pk, is_active=True).exists():
        raise ValidationError(
            {"asset": [_("Asset %(symbol)s has been deactivated.") % {"symbol": asset.symbol}]}
        )
    for wallet in wallets:
        if not Wallet.objects.filter(pk=wallet.pk, is_active=True).exists():
            raise ValidationError(_("Wallet %(code)s has been deactivated.") % {"code": wallet.code})


def _destination_addresses(wallet: Wallet) -> list[str]:
    return sorted(wallet.addresses.filter(is_active=True).values_list("address", flat=True))


def _cooling_off() -> dt.timedelta:
    return dt.timedelta(hours=governed_value(ALLOWLIST_COOLING_OFF_HOURS))


def _young_destination_notices(wallet: Wallet) -> list[str]:
    ready = _destination_ready_at(wallet)
    if ready > timezone.now():
        return [
            _(
                "Wallet %(code)s or one of its addresses was registered recently; it can receive only from %(when)s (cooling-off)."
            )
            % {"code": wallet.code, "when": _local(ready)}
        ]
    return []


def _destination_ready_at(wallet: Wallet) -> dt.datetime:
    """A custody wallet registered by one clerk is a destination nobody approved: like an
    allow-listed address, it can receive only after the cooling-off period."""
    newest = max(
        [wallet.created_at, *wallet.addresses.filter(is_active=True).values_list("created_at", flat=True)]
    )
    return newest + _cooling_off()


def _ensure_destination_cooled_off(wallet: Wallet) -> None:
    ready = _destination_ready_at(wallet)
    if timezone.now() < ready:
        raise ValidationError(
            {
                "to_wallet": [
                    _("Wallet %(code)s or one of its addresses is in its cooling-off period until %(when)s.")
                    % {"code": wallet.code, "when": _local(ready)}
                ]
            }
        )


# --- transfers between custody wallets ----------------------------------------------------------


class TransferKind(RequestKind):
    code = "reserve.transfer"
    label = gettext_lazy("Transfer between custody wallets")
    slug = "transfers"
    api_serializer = "reserve.api.request_serializers.TransferPayloadSerializer"
    form_class = "reserve.forms.TransferForm"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        asset = _asset(payload, errors)
        source = _wallet(payload, "from_wallet", errors, asset)
        destination = _wallet(payload, "to_wallet", errors, asset)
        category = _category(payload, "category", errors, [c.value for c in HELD_CATEGORIES])
        amount = _amount(payload, "amount", errors, asset)
        fee = _amount(payload, "fee", errors, asset, required=False, allow_zero=True)
        if source is not None and destination is not None and source.pk == destination.pk:
            errors.add("to_wallet", _("Source and destination are the same wallet."))
        errors.raise_if_any()
        return {
            "asset": asset.symbol,
            "amount": asset.format(amount),
            "from_wallet": source.code,
            "to_wallet": destination.code,
            "to_addresses": _destination_addresses(destination),
            "category": category,
            "fee": asset.format(fee or 0),
        }

    def title(self, payload: dict) -> str:
        return _("Transfer %(amount)s %(asset)s %(category)s from %(src)s to %(dst)s") % {
            "amount": payload["amount"],
            "asset": payload["asset"],
            "category": payload["category"],
            "src": payload["from_wallet"],
            "dst": payload["to_wallet"],
        }

    def _parts(self, payload):
        asset = Asset.objects.get(symbol=payload["asset"])
        return (
            asset,
            asset.parse(payload["amount"]),
            parse_amount(payload["fee"], asset.decimals, allow_zero=True),
            Wallet.objects.get(code=payload["from_wallet"]),
            Wallet.objects.get(code=payload["to_wallet"]),
        )

    def match_facts(self, payload: dict) -> MatchFacts:
        asset, amount, fee, _s, _d = self._parts(payload)
        return MatchFacts(
            asset=asset,
            amount_units=amount + fee,
            source_category=payload["category"],
            destination_category=payload["category"],
        )

    def ledger_effect(self, payload: dict) -> list[EffectLine]:
        asset, amount, fee, source, destination = self._parts(payload)
        lines = [
            EffectLine(_account_label(source, payload["category"]), asset.format(amount + fee), "debit"),
            EffectLine(_account_label(destination, payload["category"]), payload["amount"], "credit"),
        ]
        if fee:
            lines.append(EffectLine(_account_label(source, Category.FEES), payload["fee"], "credit"))
        return lines

    def notices(self, payload: dict) -> list[str]:
        destination = Wallet.objects.get(code=payload["to_wallet"])
        receiving = (
            _("The units will be received on: %(addresses)s.")
            % {"addresses": ", ".join(payload["to_addresses"])}
            if payload["to_addresses"]
            else _("Wallet %(code)s has no on-chain address (a custodian account).")
            % {"code": destination.code}
        )
        return [receiving, *_young_destination_notices(destination)]

    def check_executable(self, payload: dict) -> None:
        asset, amount, fee, source, destination = self._parts(payload)
        _ensure_active(asset=asset, wallets=[source, destination])
        if _destination_addresses(destination) != payload["to_addresses"]:
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
        _ensure_destination_cooled_off(destination)
        available = _held_units(source, payload["category"], asset)
        if available < amount + fee:
            raise ValidationError(
                {
                    "amount": [
                        _("%(wallet)s holds %(available)s %(asset)s in %(category)s; %(needed)s needed.")
                        % {
                            "wallet": source.code,
                            "available": asset.format(available),
                            "asset": asset.symbol,
                            "category": payload["category"],
                            "needed": asset.format(amount + fee),
                        }
                    ]
                }
            )

    def execute(self, *, request, payload: dict, actor) -> dict:
        asset, amount, fee, source, destination = self._parts(payload)
        lines = [
            Line(get_account(wallet=source, category=payload["category"], asset=asset), -(amount + fee)),
            Line(get_account(wallet=destination, category=payload["category"], asset=asset), amount),
        ]
        if fee:
            lines.append(Line(get_account(wallet=source, category=Category.FEES, asset=asset), fee))
        entry = post_entry(reason=TRANSFER.code, lines=lines, actor=actor, source=request, memo=request.title)
        return {"entry": entry.number}


# --- disposal (sale) to an allow-listed address -------------------------------------------------


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def usable_allowlisted(network: str, address: str, now: dt.datetime | None = None) -> AllowListedAddress:
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
                    % {"when": _local(entry.usable_from)}
                ]
            }
        )
    return entry


class DisposalKind(RequestKind):
    code = "reserve.disposal"
    label = gettext_lazy("Disposal (sale) to an allow-listed address")
    slug = "disposals"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        asset = _asset(payload, errors)
        source = _wallet(payload, "from_wallet", errors, asset)
        category = _category(
            payload, "category", errors, [Category.RESERVE_FORFEITED.value, Category.RESERVE_MINED.value]
        )
        if payload.get("category") == Category.RESTRICTED:
            errors.errors["category"] = [_("Restricted assets can never be disposed.")]
        amount = _amount(payload, "amount", errors, asset)
        address = _text(payload, "to_address", errors, max_length=120)
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

    def title(self, payload: dict) -> str:
        return _("Dispose of %(amount)s %(asset)s from %(src)s to %(address)s") % {
            "amount": payload["amount"],
            "asset": payload["asset"],
            "src": payload["from_wallet"],
            "address": payload["to_address"],
        }

    def match_facts(self, payload: dict) -> MatchFacts:
        asset = Asset.objects.get(symbol=payload["asset"])
        return MatchFacts(
            asset=asset,
            amount_units=asset.parse(payload["amount"]),
            source_category=payload["category"],
            destination_category=Category.DISPOSED,
        )

    def ledger_effect(self, payload: dict) -> list[EffectLine]:
        return [
            EffectLine(
                _account_label(payload["from_wallet"], payload["category"]), payload["amount"], "debit"
            ),
            EffectLine(
                _account_label(payload["from_wallet"], Category.DISPOSED), payload["amount"], "credit"
            ),
        ]

    def notices(self, payload: dict) -> list[str]:
        asset = Asset.objects.get(symbol=payload["asset"])
        entry = AllowListedAddress.objects.filter(
            network=asset.network, address=payload["to_address"], removed_at__isnull=True
        ).first()
        if entry is None:
            return [_("The destination is not on the allow-list: this request cannot execute.")]
        if entry.usable_from > timezone.now():
            return [
                _(
                    "The destination “%(label)s” is in its cooling-off period until %(when)s; the request cannot execute before then."
                )
                % {"label": entry.label, "when": _local(entry.usable_from)}
            ]
        return [
            _(
                "The destination “%(label)s” has been allow-listed since %(added)s; its cooling-off period ended %(when)s."
            )
            % {"label": entry.label, "added": _local(entry.added_at), "when": _local(entry.usable_from)}
        ]

    def check_executable(self, payload: dict) -> None:
        asset = Asset.objects.get(symbol=payload["asset"])
        usable_allowlisted(asset.network, payload["to_address"])
        wallet = Wallet.objects.get(code=payload["from_wallet"])
        _ensure_active(asset=asset, wallets=[wallet])
        amount = asset.parse(payload["amount"])
        free = sum(
            Lot.objects.filter(
                account__wallet=wallet,
                account__category=payload["category"],
                account__asset=asset,
                remaining__gt=0,
            )
            .exclude(restriction=NO_SALE)
            .values_list("remaining", flat=True)
        )
        if free < amount:
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
                            "category": payload["category"],
                        }
                    ]
                }
            )

    def execute(self, *, request, payload: dict, actor) -> dict:
        asset = Asset.objects.get(symbol=payload["asset"])
        wallet = Wallet.objects.get(code=payload["from_wallet"])
        amount = asset.parse(payload["amount"])
        entry = post_entry(
            reason=DISPOSAL.code,
            lines=[
                Line(get_account(wallet=wallet, category=payload["category"], asset=asset), -amount),
                Line(get_account(wallet=wallet, category=Category.DISPOSED, asset=asset), amount),
            ],
            actor=actor,
            source=request,
            memo=request.title,
        )
        return {"entry": entry.number, "to_address": payload["to_address"]}


# --- opening balances taken over from earlier records -------------------------------------------


class OpeningBalanceKind(RequestKind):
    code = "reserve.opening_balance"
    label = gettext_lazy("Opening balance taken over from earlier records")
    slug = "opening-balances"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        asset = _asset(payload, errors)
        wallet = _wallet(payload, "wallet", errors, asset)
        category = _category(payload, "category", errors, [c.value for c in HELD_CATEGORIES])
        amount = _amount(payload, "amount", errors, asset)
        origin = _text(payload, "origin", errors)
        restriction = _text(payload, "restriction", errors, required=False, max_length=32)
        if restriction and restriction != NO_SALE:
            errors.add("restriction", _("Known restrictions: %(r)s.") % {"r": NO_SALE})
        effective_date = _text(payload, "effective_date", errors, required=False, max_length=10)
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

    def title(self, payload: dict) -> str:
        return _("Take over %(amount)s %(asset)s into %(wallet)s / %(category)s") % payload

    def match_facts(self, payload: dict) -> MatchFacts:
        asset = Asset.objects.get(symbol=payload["asset"])
        return MatchFacts(
            asset=asset,
            amount_units=asset.parse(payload["amount"]),
            source_category=Category.EXTERNAL,
            destination_category=payload["category"],
        )

    def check_executable(self, payload: dict) -> None:
        _ensure_active(
            asset=Asset.objects.get(symbol=payload["asset"]),
            wallets=[Wallet.objects.get(code=payload["wallet"])],
        )

    def ledger_effect(self, payload: dict) -> list[EffectLine]:
        return [
            EffectLine(_account_label("—", Category.EXTERNAL), payload["amount"], "debit"),
            EffectLine(_account_label(payload["wallet"], payload["category"]), payload["amount"], "credit"),
        ]

    @staticmethod
    def _effective_at(payload: dict) -> dt.datetime | None:
        """Noon (Almaty) of the date the holdings are taken over as of, if one is given."""
        if not payload.get("effective_date"):
            return None
        day = dt.date.fromisoformat(payload["effective_date"])
        return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))

    def execute(self, *, request, payload: dict, actor) -> dict:
        asset = Asset.objects.get(symbol=payload["asset"])
        wallet = Wallet.objects.get(code=payload["wallet"])
        amount = asset.parse(payload["amount"])
        entry = post_entry(
            reason=OPENING_BALANCE.code,
            lines=[
                Line(get_account(wallet=None, category=Category.EXTERNAL, asset=asset), -amount),
                Line(get_account(wallet=wallet, category=payload["category"], asset=asset), amount),
            ],
            origin=Origin(
                kind=OPENING_BALANCE.code,
                label=payload["origin"],
                document=request,
                restriction=payload["restriction"],
            ),
            actor=actor,
            source=request,
            memo=request.title,
            effective_at=self._effective_at(payload),
        )
        return {"entry": entry.number}


# --- reversal of a posted entry ------------------------------------------------------------------


class ReversalKind(RequestKind):
    code = "reserve.reversal"
    label = gettext_lazy("Reversal of a posted entry")
    slug = "reversals"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        number = _text(payload, "entry", errors, max_length=20)
        reason = _text(payload, "reason", errors)
        entry = JournalEntry.objects.filter(number=number).first() if number else None
        if number and entry is None:
            errors.add("entry", _("No journal entry %(number)s.") % {"number": number})
        errors.raise_if_any()
        return {"entry": number, "reason": reason}

    def title(self, payload: dict) -> str:
        return _("Reverse entry %(entry)s") % payload

    def match_facts(self, payload: dict) -> MatchFacts:
        """A reversal moves what the original moved: it is governed by the same asset and
        amount thresholds (from the original's held accounts)."""
        entry = JournalEntry.objects.get(number=payload["entry"])
        postings = list(entry.postings.select_related("account__asset"))
        held_in = [p for p in postings if p.amount > 0 and not p.account.may_go_negative]
        held_out = [p for p in postings if p.amount < 0 and not p.account.may_go_negative]
        moved = sum(p.amount for p in held_in) or -sum(p.amount for p in held_out)
        return MatchFacts(
            asset=postings[0].account.asset if postings else None,
            amount_units=moved,
            source_category=held_in[0].account.category if held_in else Category.EXTERNAL,
            destination_category=held_out[0].account.category if held_out else Category.EXTERNAL,
        )

    def check_executable(self, payload: dict) -> None:
        entry = JournalEntry.objects.get(number=payload["entry"])
        if entry.reverses_id is not None or JournalEntry.objects.filter(reverses=entry).exists():
            raise ValidationError({"entry": [_("This entry is a reversal or has been reversed already.")]})

    def ledger_effect(self, payload: dict) -> list[EffectLine]:
        entry = JournalEntry.objects.get(number=payload["entry"])
        return [
            EffectLine(
                str(p.account), p.account.asset.format(abs(p.amount)), "credit" if p.amount < 0 else "debit"
            )
            for p in entry.postings.select_related("account__asset", "account__wallet")
        ]

    def execute(self, *, request, payload: dict, actor) -> dict:
        entry = JournalEntry.objects.get(number=payload["entry"])
        reversal = reverse_entry(entry=entry, actor=actor, memo=payload["reason"], source=request)
        return {"entry": reversal.number, "reverses": entry.number}


# --- allow-list -----------------------------------------------------------------------------------


class AllowListChangeKind(RequestKind):
    code = "reserve.allowlist_change"
    label = gettext_lazy("Allow-list change")
    slug = "allowlist-changes"
    api_serializer = "reserve.api.request_serializers.AllowListChangePayloadSerializer"

    def clean_payload(self, payload: dict) -> dict:
        from reserve.models import Network

        errors = _Errors()
        action = _text(payload, "action", errors)
        if action and action not in ("add", "remove"):
            errors.add("action", _("Choose add or remove."))
        network = _text(payload, "network", errors)
        if network and network not in Network.values:
            errors.add("network", _("Choose one of: %(choices)s.") % {"choices": ", ".join(Network.values)})
            network = ""
        address = _text(payload, "address", errors, max_length=120)
        if address and network:
            try:
                address = normalize_address(network, address)
            except AddressError as exc:
                errors.add("address", str(exc))
        label = _text(payload, "label", errors, required=action == "add", max_length=120)
        counterparty = _text(payload, "counterparty", errors, required=False, max_length=200)
        errors.raise_if_any()
        return {
            "action": action,
            "network": network,
            "address": address,
            "label": label,
            "counterparty": counterparty,
        }

    def title(self, payload: dict) -> str:
        if payload["action"] == "add":
            return _("Allow-list %(address)s (%(label)s)") % payload
        return _("Remove %(address)s from the allow-list") % payload

    def notices(self, payload: dict) -> list[str]:
        if payload["action"] != "add":
            return []
        hours = governed_value(ALLOWLIST_COOLING_OFF_HOURS)
        return [
            _("Once approved, the address can be used only after a cooling-off period of %(hours)d hours.")
            % {"hours": hours}
        ]

    def check_executable(self, payload: dict) -> None:
        active = AllowListedAddress.objects.filter(
            network=payload["network"], address=payload["address"], removed_at__isnull=True
        ).exists()
        if payload["action"] == "add" and active:
            raise ValidationError({"address": [_("This address is already on the allow-list.")]})
        if payload["action"] == "remove" and not active:
            raise ValidationError({"address": [_("This address is not on the allow-list.")]})

    def execute(self, *, request, payload: dict, actor) -> dict:
        now = timezone.now()
        if payload["action"] == "add":
            hours = governed_value(ALLOWLIST_COOLING_OFF_HOURS)
            entry = AllowListedAddress.objects.create(
                network=payload["network"],
                address=payload["address"],
                label=payload["label"],
                counterparty=payload["counterparty"],
                added_at=now,
                usable_from=now + dt.timedelta(hours=hours),
                added_by_request=request,
            )
            return {"allowlist_id": entry.pk, "usable_from": entry.usable_from.isoformat()}
        entry = AllowListedAddress.objects.get(
            network=payload["network"], address=payload["address"], removed_at__isnull=True
        )
        entry.removed_at = now
        entry.removed_by_request = request
        entry.save(update_fields=["removed_at", "removed_by_request"])
        return {"allowlist_id": entry.pk, "removed_at": now.isoformat()}


# --- who approves: policies, approvers, governed settings -----------------------------------------


def _approver_group(name: str, errors: _Errors, field: str) -> Group | None:
    if name not in roles.APPROVER_ROLES:
        errors.add(field, _("Approver groups are: %(groups)s.") % {"groups": ", ".join(roles.APPROVER_ROLES)})
        return None
    return Group.objects.filter(name=name).first()


def _active_approvers(group: Group, *, without: tuple[int, int] | None = None) -> int:
    qs = ApproverMembership.objects.filter(group=group, revoked_at__isnull=True, user__is_active=True)
    if without is not None:
        qs = qs.exclude(user_id=without[0], group_id=without[1])
    return qs.count()


class PolicyChangeKind(RequestKind):
    code = "reserve.policy_change"
    label = gettext_lazy("Approval policy change")
    slug = "policy-changes"

    FIELDS = (
        "name",
        "priority",
        "is_active",
        "kind",
        "asset",
        "min_amount",
        "max_amount",
        "valuation_currency",
        "min_valuation",
        "max_valuation",
        "source_category",
        "destination_category",
        "maker_may_approve",
        "expires_after_hours",
        "requires_second_factor",
        "tiers",
    )

    def clean_payload(self, payload: dict) -> dict:
        from reserve.approvals.registry import registered_kinds

        errors = _Errors()
        policy_id = payload.get("policy")
        if policy_id is not None and not ApprovalPolicy.objects.filter(pk=policy_id).exists():
            errors.add("policy", _("No such policy."))
        name = _text(payload, "name", errors, max_length=120)
        priority = payload.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            errors.add("priority", _("A whole number from 1."))
        kind = _text(payload, "kind", errors, required=False, max_length=64)
        if kind and kind not in {k.code for k in registered_kinds()}:
            errors.add("kind", _("Unknown request kind."))
        asset = _asset(payload, errors) if payload.get("asset") else None
        min_amount = _amount(payload, "min_amount", errors, asset, required=False) if asset else None
        max_amount = _amount(payload, "max_amount", errors, asset, required=False) if asset else None
        if (payload.get("min_amount") or payload.get("max_amount")) and not asset:
            errors.add("asset", _("Amount bounds need an asset."))
        valuations = {}
        for field in ("min_valuation", "max_valuation"):
            raw = payload.get(field)
            if raw in (None, ""):
                valuations[field] = None
                continue
            try:
                value = Decimal(str(raw)) if isinstance(raw, str) else None
                if value is None or not value.is_finite() or value < 0:
                    raise InvalidOperation
                valuations[field] = str(value.quantize(Decimal("0.01")))
            except InvalidOperation:
                errors.add(field, _('A non-negative amount written as a string, such as "1000000.00".'))
        categories = [c.value for c in Category]
        source_category = (
            _category(payload, "source_category", errors, categories)
            if payload.get("source_category")
            else ""
        )
        destination_category = (
            _category(payload, "destination_category", errors, categories)
            if payload.get("destination_category")
            else ""
        )
        hours = payload.get("expires_after_hours")
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 24 * 90:
            errors.add("expires_after_hours", _("Between 1 and 2160 hours."))
        flags = {}
        for flag, default in (
            ("is_active", True),
            ("maker_may_approve", False),
            ("requires_second_factor", True),
        ):
            value = payload.get(flag, default)
            if not isinstance(value, bool):
                errors.add(flag, _("true or false."))
            flags[flag] = value
        tiers = []
        raw_tiers = payload.get("tiers")
        if not isinstance(raw_tiers, list) or not raw_tiers:
            errors.add("tiers", _("At least one tier of approvers."))
            raw_tiers = []
        for index, tier in enumerate(raw_tiers):
            if not isinstance(tier, dict):
                errors.add("tiers", _('Each tier is {"group": ..., "required": M}.'))
                continue
            group = _approver_group(str(tier.get("group", "")), errors, "tiers")
            required = tier.get("required")
            if not isinstance(required, int) or isinstance(required, bool) or required < 1:
                errors.add(
                    "tiers", _("Tier %(n)d: required approvals is a whole number from 1.") % {"n": index + 1}
                )
                continue
            if group is not None:
                tiers.append({"group": group.name, "required": required})
        total = sum(t["required"] for t in tiers)
        if tiers and total < 2:
            errors.add(
                "tiers", _("At least two distinct approvers in all: one person can never decide alone.")
            )
        if flags["maker_may_approve"] and tiers and total < 3:
            errors.add(
                "maker_may_approve",
                _(
                    "When the maker may approve, the tiers must need at least three approvers, so that two others always decide too."
                ),
            )
        for tier in tiers:
            group = Group.objects.get(name=tier["group"])
            available = _active_approvers(group)
            if tier["required"] > available:
                errors.add(
                    "tiers",
                    _(
                        "%(group)s has %(available)d active approvers; a tier needing %(required)d could never be met."
                    )
                    % {"group": group.name, "available": available, "required": tier["required"]},
                )
        errors.raise_if_any()
        return {
            "policy": policy_id,
            "name": name,
            "priority": priority,
            "kind": kind,
            "asset": asset.symbol if asset else "",
            "min_amount": asset.format(min_amount) if min_amount is not None else "",
            "max_amount": asset.format(max_amount) if max_amount is not None else "",
            "valuation_currency": "USD",
            **valuations,
            "source_category": source_category,
            "destination_category": destination_category,
            "expires_after_hours": hours,
            **flags,
            "tiers": tiers,
        }

    def title(self, payload: dict) -> str:
        if payload["policy"] is None:
            return _("New approval policy “%(name)s”") % payload
        return _("Change approval policy “%(name)s”") % payload

    def check_executable(self, payload: dict) -> None:
        clash = (
            ApprovalPolicy.objects.filter(priority=payload["priority"]).exclude(pk=payload["policy"]).first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "priority": [
                        _("Priority %(p)d is taken by “%(name)s”.")
                        % {"p": payload["priority"], "name": clash.name}
                    ]
                }
            )
        clash = ApprovalPolicy.objects.filter(name=payload["name"]).exclude(pk=payload["policy"]).first()
        if clash is not None:
            raise ValidationError({"name": [_("Another policy has this name.")]})

    def execute(self, *, request, payload: dict, actor) -> dict:
        asset = Asset.objects.get(symbol=payload["asset"]) if payload["asset"] else None
        values = {
            "name": payload["name"],
            "priority": payload["priority"],
            "is_active": payload["is_active"],
            "kind": payload["kind"],
            "asset": asset,
            "min_units": asset.parse(payload["min_amount"]) if asset and payload["min_amount"] else None,
            "max_units": asset.parse(payload["max_amount"]) if asset and payload["max_amount"] else None,
            "valuation_currency": payload["valuation_currency"],
            "min_valuation": Decimal(payload["min_valuation"]) if payload["min_valuation"] else None,
            "max_valuation": Decimal(payload["max_valuation"]) if payload["max_valuation"] else None,
            "source_category": payload["source_category"],
            "destination_category": payload["destination_category"],
            "maker_may_approve": payload["maker_may_approve"],
            "expires_after": dt.timedelta(hours=payload["expires_after_hours"]),
            "requires_second_factor": payload["requires_second_factor"],
        }
        if payload["policy"] is None:
            policy = ApprovalPolicy(**values)
        else:
            policy = ApprovalPolicy.objects.select_for_update().get(pk=payload["policy"])
            for name, value in values.items():
                setattr(policy, name, value)
            policy.version += 1
        policy._history_user = actor
        policy.save()
        PolicyTier.objects.filter(policy=policy).delete()
        for position, tier in enumerate(payload["tiers"], start=1):
            PolicyTier.objects.create(
                policy=policy,
                position=position,
                group=Group.objects.get(name=tier["group"]),
                required=tier["required"],
            )
        ensure_governance_possible()
        return {"policy": policy.pk, "version": policy.version}


def ensure_governance_possible() -> None:
    """Refuse a state in which policy changes could never again be approved."""
    from reserve.approvals.services import ApprovalError, match_policy

    try:
        policy = match_policy(PolicyChangeKind.code, MatchFacts())
    except ApprovalError:
        raise ValidationError(_("After this change no policy would govern policy changes; refused."))
    for tier in policy.tiers.select_related("group"):
        if _active_approvers(tier.group) < tier.required:
            raise ValidationError(
                _("After this change policy changes could never again be approved; refused.")
            )


class ApproverChangeKind(RequestKind):
    code = "reserve.approver_change"
    label = gettext_lazy("Approver group membership change")
    slug = "approver-changes"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        action = _text(payload, "action", errors)
        if action and action not in ("grant", "revoke"):
            errors.add("action", _("Choose grant or revoke."))
        username = _text(payload, "user", errors, max_length=150)
        user = User.objects.filter(username=username).first() if username else None
        if username and user is None:
            errors.add("user", _("No such user."))
        group_name = _text(payload, "group", errors)
        if group_name:
            _approver_group(group_name, errors, "group")
        errors.raise_if_any()
        # The id pins the person: a username renamed after approval cannot redirect the grant.
        return {"action": action, "user": username, "user_id": user.pk, "group": group_name}

    def title(self, payload: dict) -> str:
        if payload["action"] == "grant":
            return _("Make %(user)s an approver in %(group)s") % payload
        return _("Remove %(user)s from the approvers in %(group)s") % payload

    @staticmethod
    def _user(payload: dict):
        user = User.objects.filter(pk=payload["user_id"], username=payload["user"]).first()
        if user is None:
            raise ValidationError(
                {"user": [_("This user was renamed or removed since the request was made.")]}
            )
        return user

    def check_executable(self, payload: dict) -> None:
        user = self._user(payload)
        group = Group.objects.get(name=payload["group"])
        member = ApproverMembership.objects.filter(user=user, group=group, revoked_at__isnull=True).exists()
        if payload["action"] == "grant":
            if member:
                raise ValidationError({"user": [_("Already an approver in this group.")]})
            if not user.is_active:
                raise ValidationError({"user": [_("This user is deactivated.")]})
            if user.groups.filter(name=roles.INTEGRATION_CLIENT).exists():
                raise ValidationError({"user": [_("An integration client cannot be an approver.")]})
        else:
            if not member:
                raise ValidationError({"user": [_("Not an approver in this group.")]})
            for tier in PolicyTier.objects.filter(group=group, policy__is_active=True).select_related(
                "policy"
            ):
                if _active_approvers(group, without=(user.pk, group.pk)) < tier.required:
                    raise ValidationError(
                        {
                            "user": [
                                _(
                                    "Without this approver, policy “%(policy)s” could never be met; change the policy first."
                                )
                                % {"policy": tier.policy.name}
                            ]
                        }
                    )

    def execute(self, *, request, payload: dict, actor) -> dict:
        user = self._user(payload)
        group = Group.objects.get(name=payload["group"])
        now = timezone.now()
        if payload["action"] == "grant":
            membership = ApproverMembership.objects.create(
                user=user, group=group, granted_at=now, granted_by_request=request
            )
            user.groups.add(group)
        else:
            membership = ApproverMembership.objects.get(user=user, group=group, revoked_at__isnull=True)
            membership.revoked_at = now
            membership.revoked_by_request = request
            membership.save(update_fields=["revoked_at", "revoked_by_request"])
            user.groups.remove(group)
        return {"membership": membership.pk}


class SettingChangeKind(RequestKind):
    code = "reserve.setting_change"
    label = gettext_lazy("Governed setting change")
    slug = "setting-changes"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        key = _text(payload, "key", errors, max_length=64)
        spec = KEYS.get(key)
        if key and spec is None:
            errors.add("key", _("Governed settings: %(keys)s.") % {"keys": ", ".join(KEYS)})
        value = payload.get("value")
        if spec is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not spec.minimum <= value <= spec.maximum
        ):
            errors.add(
                "value", _("A whole number from %(lo)d to %(hi)d.") % {"lo": spec.minimum, "hi": spec.maximum}
            )
        errors.raise_if_any()
        return {"key": key, "value": value}

    def title(self, payload: dict) -> str:
        return _("Set %(key)s to %(value)s") % payload

    def execute(self, *, request, payload: dict, actor) -> dict:
        GovernedSetting.objects.update_or_create(
            key=payload["key"],
            defaults={"value": payload["value"], "changed_at": timezone.now(), "changed_by_request": request},
        )
        return payload


class PeriodCloseKind(RequestKind):
    code = "reserve.period_close"
    label = gettext_lazy("Period close")
    slug = "period-closes"

    def clean_payload(self, payload: dict) -> dict:
        errors = _Errors()
        year, month = payload.get("year"), payload.get("month")
        if not isinstance(year, int) or isinstance(year, bool) or not 2009 <= year <= 9999:
            errors.add("year", _("A year such as 2026."))
        if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
            errors.add("month", _("A month from 1 to 12."))
        errors.raise_if_any()
        return {"year": year, "month": month}

    def title(self, payload: dict) -> str:
        return _("Close period %(year)d-%(month)02d") % payload

    def check_executable(self, payload: dict) -> None:
        today = timezone.localdate()
        if (payload["year"], payload["month"]) >= (today.year, today.month):
            raise ValidationError({"month": [_("Only a month that has ended can be closed.")]})
        if Period.objects.filter(
            year=payload["year"], month=payload["month"], closed_at__isnull=False
        ).exists():
            raise ValidationError({"month": [_("This period is already closed.")]})

    def execute(self, *, request, payload: dict, actor) -> dict:
        from reserve.models import JournalSequence

        # Postings dated in this year take this row's lock before they check the periods:
        # holding it here means no posting slips into the month while it closes.
        JournalSequence.objects.bulk_create([JournalSequence(year=payload["year"])], ignore_conflicts=True)
        JournalSequence.objects.select_for_update().get(year=payload["year"])
        period, _created = Period.objects.get_or_create(year=payload["year"], month=payload["month"])
        period.closed_at = timezone.now()
        period.closed_by = actor
        period._history_user = actor
        period.save()
        return {"period": str(period)}


def register_reserve_kinds() -> None:
    for kind in (
        TransferKind(),
        DisposalKind(),
        OpeningBalanceKind(),
        ReversalKind(),
        AllowListChangeKind(),
        PolicyChangeKind(),
        ApproverChangeKind(),
        SettingChangeKind(),
        PeriodCloseKind(),
    ):
        register_kind(kind)
