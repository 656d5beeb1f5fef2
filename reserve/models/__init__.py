from reserve.models.assets import Asset, Network, Wallet, WalletAddress, WalletKind
from reserve.models.audit import AuditEvent
from reserve.models.immutable import ImmutableModel, ImmutableQuerySet, ImmutableRowError
from reserve.models.ledger import (
    HELD_CATEGORIES,
    RESERVE_CATEGORIES,
    Account,
    AccountDay,
    Category,
    JournalEntry,
    JournalSequence,
    Lot,
    LotMovement,
    Period,
    Posting,
)

__all__ = [
    "HELD_CATEGORIES",
    "RESERVE_CATEGORIES",
    "Account",
    "AccountDay",
    "Asset",
    "AuditEvent",
    "Category",
    "ImmutableModel",
    "ImmutableQuerySet",
    "ImmutableRowError",
    "JournalEntry",
    "JournalSequence",
    "Lot",
    "LotMovement",
    "Network",
    "Period",
    "Posting",
    "Wallet",
    "WalletAddress",
    "WalletKind",
]
