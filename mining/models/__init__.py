"""Mining's data, one module per feature: the network (difficulty epochs), the sites and their
fleets, the output reports and their daily lines, the pools' statements and the payout receipts."""

from mining.models.network import NetworkEpoch
from mining.models.pools import PayoutReceipt, PoolStatement, PoolStatementLine, StatementFormat
from mining.models.reports import DailyLine, OutputReport, ReportState
from mining.models.sites import EnergySource, Fleet, PayoutScheme, Site, SiteStatus

__all__ = [
    "DailyLine",
    "EnergySource",
    "Fleet",
    "NetworkEpoch",
    "OutputReport",
    "PayoutReceipt",
    "PayoutScheme",
    "PoolStatement",
    "PoolStatementLine",
    "ReportState",
    "Site",
    "SiteStatus",
    "StatementFormat",
]
