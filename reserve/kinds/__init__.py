"""The request kinds the reserve owns, one module per feature. Intake and mining register
theirs the same way, with the payload checks of :mod:`reserve.approvals.payload`.

Payloads are plain JSON with exact strings for amounts ("1.50000000"), so the canonical
digest approvers sign covers exactly what will execute. Each kind parses a stored payload once
into a typed action (a frozen dataclass) and executes it through named services.

- :mod:`~reserve.kinds.transfers`: transfers between custody wallets
- :mod:`~reserve.kinds.disposals`: disposals (sales) to an allow-listed address
- :mod:`~reserve.kinds.entries`: opening balances and reversals
- :mod:`~reserve.kinds.allowlist`: allow-list changes
- :mod:`~reserve.kinds.governance`: policies, approvers, governed settings, period close
"""

from __future__ import annotations

from reserve.approvals.registry import register_kind
from reserve.kinds.allowlist import AllowListChangeAction, AllowListChangeKind
from reserve.kinds.authenticators import AuthenticatorResetAction, AuthenticatorResetKind
from reserve.kinds.custody import CustodyChangeAction, CustodyChangeKind
from reserve.kinds.disposals import DisposalAction, DisposalKind, usable_allowlisted
from reserve.kinds.entries import OpeningBalanceAction, OpeningBalanceKind, ReversalAction, ReversalKind
from reserve.kinds.governance import (
    ApproverChangeAction,
    ApproverChangeKind,
    PeriodCloseAction,
    PeriodCloseKind,
    PolicyChangeAction,
    PolicyChangeKind,
    SettingChangeAction,
    SettingChangeKind,
    ensure_governance_possible,
)
from reserve.kinds.transfers import TransferAction, TransferKind

__all__ = [
    "AllowListChangeAction",
    "AllowListChangeKind",
    "ApproverChangeAction",
    "ApproverChangeKind",
    "DisposalAction",
    "DisposalKind",
    "OpeningBalanceAction",
    "OpeningBalanceKind",
    "PeriodCloseAction",
    "PeriodCloseKind",
    "PolicyChangeAction",
    "PolicyChangeKind",
    "ReversalAction",
    "ReversalKind",
    "SettingChangeAction",
    "SettingChangeKind",
    "TransferAction",
    "TransferKind",
    "ensure_governance_possible",
    "AuthenticatorResetAction",
    "AuthenticatorResetKind",
    "CustodyChangeAction",
    "CustodyChangeKind",
    "register_reserve_kinds",
    "usable_allowlisted",
]


def register_reserve_kinds() -> None:
    for kind in (
        TransferKind(),
        DisposalKind(),
        OpeningBalanceKind(),
        ReversalKind(),
        AllowListChangeKind(),
        CustodyChangeKind(),
        AuthenticatorResetKind(),
        PolicyChangeKind(),
        ApproverChangeKind(),
        SettingChangeKind(),
        PeriodCloseKind(),
    ):
        register_kind(kind)
