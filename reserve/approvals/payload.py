"""Checks for request payloads, shared by every app's request kinds.

A kind's ``clean_payload`` turns what a maker sent (plain JSON) into the normalised payload
approvers sign. These helpers read one field each, add a message per bad field to a
:class:`PayloadErrors`, and return the value found (or ``None``/``""``), so that one response
names every bad field at once. The execution-time checks (:func:`ensure_active`,
:func:`held_units`) are reads, never writes.

They belong to the engine, not to :mod:`reserve.kinds`: intake and mining validate their
payloads with the same rules and messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from reserve.amounts import AmountError, parse_amount
from reserve.approvals.errors import ApprovalError
from reserve.models import Account, Asset, Wallet


class PayloadErrors:
    """Collects field errors so one response names every bad field."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        """Raise one ``ValidationError`` with every field's messages, if there are any."""
        if self.errors:
            raise ValidationError(self.errors)


def text(
    payload: dict, field: str, errors: PayloadErrors, *, required: bool = True, max_length: int = 255
) -> str:
    """The stripped text of ``field``; ``""`` if absent (an error when ``required``)."""
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


def asset(payload: dict, errors: PayloadErrors, field: str = "asset") -> Asset | None:
    """The active asset whose symbol ``field`` names."""
    symbol = text(payload, field, errors)
    if not symbol:
        return None
    found = Asset.objects.filter(symbol=symbol, is_active=True).first()
    if found is None:
        errors.add(field, _("No active asset %(symbol)s.") % {"symbol": symbol})
    return found


def wallet(payload: dict, field: str, errors: PayloadErrors, asset: Asset | None) -> Wallet | None:
    """The active custody wallet whose code ``field`` names, on ``asset``'s network if given."""
    code = text(payload, field, errors)
    if not code:
        return None
    found = Wallet.objects.filter(code=code, is_active=True).first()
    if found is None:
        errors.add(field, _("No active custody wallet %(code)s.") % {"code": code})
    elif asset is not None and found.network != asset.network:
        errors.add(
            field,
            _("Wallet %(code)s is not on the %(network)s network.")
            % {"code": code, "network": asset.network},
        )
    return found


def wallets(
    payload: dict, fields: Iterable[str], errors: PayloadErrors, asset: Asset | None
) -> dict[str, Wallet | None]:
    """:func:`wallet` for several fields at once, read in one query: ``{field: wallet or None}``,
    with the same message per bad field."""
    fields = list(fields)
    codes = {field: text(payload, field, errors) for field in fields}
    found = Wallet.objects.in_bulk([code for code in codes.values() if code], field_name="code")
    chosen: dict[str, Wallet | None] = {}
    for field, code in codes.items():
        each = found.get(code) if code else None
        if each is not None and not each.is_active:
            each = None
        if code and each is None:
            errors.add(field, _("No active custody wallet %(code)s.") % {"code": code})
        elif each is not None and asset is not None and each.network != asset.network:
            errors.add(
                field,
                _("Wallet %(code)s is not on the %(network)s network.")
                % {"code": code, "network": asset.network},
            )
        chosen[field] = each
    return chosen


def amount(
    payload: dict,
    field: str,
    errors: PayloadErrors,
    asset: Asset | None,
    *,
    required: bool = True,
    allow_zero: bool = False,
) -> int | None:
    """The exact decimal string in ``field`` as the asset's smallest units. Without an asset
    (itself an error reported elsewhere) the amount cannot be read and ``None`` is returned."""
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


def category(payload: dict, field: str, errors: PayloadErrors, allowed: Iterable[str]) -> str:
    """The ledger category in ``field``, one of ``allowed``."""
    allowed = list(allowed)
    value = text(payload, field, errors)
    if value and value not in allowed:
        errors.add(field, _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)})
    return value


def account_label(wallet: Wallet | str, category: str) -> str:
    """How an account reads in a ledger effect: ``"cold-a / reserve_forfeited"``."""
    code = wallet.code if isinstance(wallet, Wallet) else wallet
    return f"{code} / {category}"


def held_units(wallet: Wallet, category: str, asset: Asset) -> int:
    """A read: an account that does not exist yet holds nothing (and is not created here)."""
    balance = (
        Account.objects.filter(wallet=wallet, category=category, asset=asset)
        .values_list("balance", flat=True)
        .first()
    )
    return balance or 0


def ensure_active(*, asset: Asset, wallets: Iterable[Wallet], fresh: bool = False) -> None:
    """Re-checked at execution: a wallet or asset deactivated since the request was made (keys
    suspected compromised, say) receives and sends nothing. The request's state is in the way,
    not the decider's input: the refusal's code is ``deactivated`` (a conflict, 409 in the API).

    ``fresh``: the caller read ``asset`` and ``wallets`` from the database in this very step (a
    kind's ``parse`` inside the deciding transaction), so their own ``is_active`` is what a new
    read would return; they are not read again."""
    wallets = list(wallets)
    if not (asset.is_active if fresh else Asset.objects.filter(pk=asset.pk, is_active=True).exists()):
        raise ApprovalError(
            _("Asset %(symbol)s has been deactivated.") % {"symbol": asset.symbol}, code="deactivated"
        )
    if fresh:
        inactive = {w.pk for w in wallets if not w.is_active}
    else:
        inactive = set(
            Wallet.objects.filter(pk__in=[w.pk for w in wallets], is_active=False).values_list(
                "pk", flat=True
            )
        )
    for each in wallets:  # one query for every wallet; the first inactive one in order is named
        if each.pk in inactive:
            raise ApprovalError(
                _("Wallet %(code)s has been deactivated.") % {"code": each.code}, code="deactivated"
            )
