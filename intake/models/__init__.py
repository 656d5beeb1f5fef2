"""Intake's data, one module per feature: the court side (courts, cases, parties, orders),
the evidence (court documents), the seized items and their chain of custody."""

from intake.models.cases import Case, Court, CourtOrder, OrderKind, Party, PartyRole
from intake.models.custody import ChainCheck, CustodyEvent, ReleaseTransfer
from intake.models.documents import CourtDocument
from intake.models.items import ItemState, SeizedItem, SourceKind

__all__ = [
    "Case",
    "ChainCheck",
    "Court",
    "CourtDocument",
    "CourtOrder",
    "CustodyEvent",
    "ItemState",
    "OrderKind",
    "Party",
    "PartyRole",
    "ReleaseTransfer",
    "SeizedItem",
    "SourceKind",
]
