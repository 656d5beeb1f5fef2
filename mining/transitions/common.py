"""What mining's transitions share: refusals, the mining clerk rule, the frozen verification
snapshot and its digest, the report's asset, and the hook for what the pool actually paid."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mining.models import OutputReport, ReportVerification
from mining.selectors import Figures
from mining.selectors import ReportVerification as Verification
from reserve import roles
from reserve.models import Asset


def refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def report_label(report: OutputReport) -> str:
    """``site / period``: how a report is named in titles, memos and lot origins."""
    return f"{report.site.name} / {period_label(report)}"


def period_label(report: OutputReport) -> str:
    if report.period_start == report.period_end:
        return report.period_start.isoformat()
    return f"{report.period_start.isoformat()}…{report.period_end.isoformat()}"


def ensure_mining_clerk(actor, *, doing: str, field: str = "report") -> None:
    """Only a mining clerk (or a superuser) moves a report through the clerks' steps; an
    approver's power is in the approval engine, not here."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise refuse(
            field, _("Only an active, signed-in mining clerk can %(doing)s.") % {"doing": doing}, "refused"
        )
    if actor.is_superuser or actor.groups.filter(name=roles.MINING_CLERK).exists():
        return
    raise refuse(
        field,
        _("Only a mining clerk can %(doing)s; your role may not.") % {"doing": doing},
        "wrong_role",
    )


def ensure_state(report: OutputReport, *states: str, doing: str) -> None:
    if report.state not in states:
        raise refuse(
            "report",
            _("Report %(report)s is %(state)s; it cannot be %(doing)s.")
            % {"report": report_label(report), "state": report.get_state_display(), "doing": doing},
            "wrong_state",
        )


def report_asset(report: OutputReport) -> Asset:
    """The native coin of the site's network (BTC on Bitcoin)."""
    asset = Asset.objects.filter(network=report.site.network, contract_address="", is_active=True).first()
    if asset is None:
        raise refuse(
            "report",
            _("No active native asset on the %(network)s network.") % {"network": report.site.network},
        )
    return asset


def _text(value) -> str | None:
    return None if value is None else str(value)


def _figures_json(figures: Figures) -> dict:
    return {
        "expected_sats": figures.expected_sats,
        "btc_gross": figures.btc_gross,
        "btc_net": figures.btc_net,
        "deviation_sats": figures.deviation_sats,
        "deviation_percent": _text(figures.deviation_percent),
        "implied_hashrate_hs": _text(figures.implied_hashrate_hs),
        "energy_mwh": _text(figures.energy_mwh),
        "j_per_th": _text(figures.j_per_th),
        "btc_per_mwh": _text(figures.btc_per_mwh),
        "kzt_per_btc": _text(figures.kzt_per_btc),
        "exceeds_tolerance": figures.exceeds_tolerance,
    }


def snapshot(verification: Verification) -> dict:
    """The verification as plain JSON: exact integers (sats) and decimal strings."""
    return {
        "report": verification.report_id,
        "tolerance_percent": str(verification.tolerance_percent),
        "fees_per_block_sats": verification.fees_per_block_sats,
        "days": [
            {
                "day": d.day.isoformat(),
                "line": d.line_id,
                "average_hashrate_hs": str(d.average_hashrate_hs),
                "uptime_percent": str(d.uptime_percent),
                "error": d.error,
                **_figures_json(d.figures),
            }
            for d in verification.days
        ],
        "missing_days": [d.isoformat() for d in verification.missing_days],
        "total": _figures_json(verification.total),
    }


def snapshot_digest(figures: dict, explanation: str = "") -> str:
    """SHA-256 of the figures and the clerk's explanation: what the approvers decide on."""
    signed = {"figures": figures, "explanation": explanation}
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def current_verification(report: OutputReport) -> ReportVerification | None:
    """The verification the report's state rests on: the latest one, while the report is
    verified or later; none for a draft or a submitted report."""
    if report.state in ("draft", "submitted"):
        return None
    return report.verifications.order_by("-verified_at", "-id").first()


def paid_by_day(report: OutputReport, check=None) -> dict[dt.date, int]:
    """What the pool paid per local day, in sats: the pool statement's net for the day, else
    what was received at the payout address that day (:func:`mining.payouts.payout_check`).
    Days with neither are left out (the request page shows "—", never an invented figure)."""
    from mining.payouts import payout_check

    check = check if check is not None else payout_check(report)
    paid = {}
    for day in check.days:
        if day.pool_net is not None:
            paid[day.day] = day.pool_net
        elif day.received:
            paid[day.day] = day.received
    return paid
