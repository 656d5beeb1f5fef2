"""Registry of journal entry reasons (posting rules).

Each app registers the reasons it posts with, from its ``AppConfig.ready()``; ``reserve``
knows nothing of intake or mining. A reason says whether an inflow from outside the fund may
open new lots (seizure received, mining output, opening balance) — other reasons only move
lots that already exist.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Reason:
    code: str
    label: str | Promise
    opens_lots: bool = False
    #: Entries with this reason are posted only by an executing approval request.
    requires_approval: bool = True
    #: Lot restrictions this reason may never consume (e.g. a disposal and ``no_sale``).
    forbidden_restrictions: frozenset[str] = frozenset()


_REASONS: dict[str, Reason] = {}


class UnknownReason(LookupError):
    pass


def register_reason(
    code: str,
    label: str | Promise,
    *,
    opens_lots: bool = False,
    requires_approval: bool = True,
    forbidden_restrictions: frozenset[str] = frozenset(),
) -> Reason:
    existing = _REASONS.get(code)
    reason = Reason(
        code=code,
        label=label,
        opens_lots=opens_lots,
        requires_approval=requires_approval,
        forbidden_restrictions=forbidden_restrictions,
    )
    if existing is not None and existing != reason:
        raise ValueError(f"posting reason {code!r} is already registered differently")
    _REASONS[code] = reason
    return reason


def get_reason(code: str) -> Reason:
    try:
        return _REASONS[code]
    except KeyError:
        raise UnknownReason(code) from None


def reason_label(code: str) -> str:
    reason = _REASONS.get(code)
    return str(reason.label) if reason else code


def registered_reasons() -> list[Reason]:
    return sorted(_REASONS.values(), key=lambda r: r.code)


NO_SALE = "no_sale"

OPENING_BALANCE = register_reason(
    "reserve.opening_balance", _("Opening balance taken over from earlier records"), opens_lots=True
)
TRANSFER = register_reason("reserve.transfer", _("Transfer between wallets"))
DISPOSAL = register_reason(
    "reserve.disposal", _("Disposal (sale)"), forbidden_restrictions=frozenset({NO_SALE})
)
NETWORK_FEE = register_reason("reserve.network_fee", _("Network fee"))
RECLASSIFICATION = register_reason("reserve.reclassification", _("Change of legal category"))
REVERSAL = register_reason("reserve.reversal", _("Reversal of an entry"))
