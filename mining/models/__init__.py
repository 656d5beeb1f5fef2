"""Mining's data, one module per feature: the network (difficulty epochs), the sites and their
fleets, the output reports and their daily lines."""

from mining.models.network import NetworkEpoch
from mining.models.reports import DailyLine, OutputReport, ReportState
from mining.models.sites import EnergySource, Fleet, PayoutScheme, Site, SiteStatus
from mining.models.workflow import ReportVerification

__all__ = [
    "DailyLine",
    "EnergySource",
    "Fleet",
    "NetworkEpoch",
    "OutputReport",
    "PayoutScheme",
    "ReportState",
    "ReportVerification",
    "Site",
    "SiteStatus",
]
