"""The clerks' steps of an output report: ``draft → submitted → verified`` and back to draft.

The approvers' step (``verified → approved → posted``) is the ``mining.accept_output`` request
kind (:mod:`.acceptance`). Each service is keyword-only and atomic: it locks the report row,
checks its state and the actor's role, writes the change with the actor in its history and the
audit event in the same transaction.

Decisions:

* **Submitting needs every day.** A report is submitted only with a line for each local day of
  its period; otherwise it is refused (``missing_days``) naming the days. A period with a day
  the site did not run is reported with a zero line, which says so explicitly.
* **Verification is frozen.** :func:`record_verification` stores the figures of
  :func:`mining.selectors.verify_report` as a :class:`~mining.models.ReportVerification`
  snapshot with its digest; the acceptance request pins that digest and re-computes it before
  executing, so approvers decide on the figures that were verified.
* **Deviation needs words.** When a day or the total is beyond the site's tolerance (or a
  day's expected output cannot be computed) the verification needs an explanation
  (``unexplained_deviation``), naming the days and figures.
* **Rejected is not undone.** A rejected or expired acceptance request leaves the report
  verified: the clerk may ask again, or return it to draft with :func:`reopen_report` (with a
  reason) to correct its lines. A report with an open acceptance request cannot be reopened.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mining.models import OutputReport, ReportState, ReportVerification
from mining.selectors import verify_report
from mining.transitions.common import (
    ensure_mining_clerk,
    ensure_state,
    refuse,
    report_label,
    snapshot,
    snapshot_digest,
)
from reserve.audit import record_event
from reserve.models import ApprovalRequest, RequestStatus

ACCEPT_OUTPUT = "mining.accept_output"


def _locked(report: OutputReport) -> OutputReport:
    return OutputReport.objects.select_for_update().select_related("site").get(pk=report.pk)


def _move(report: OutputReport, state: str, *, actor) -> str:
    before = report.state
    report.state = state
    report._history_user = actor
    report.save(update_fields=["state"])
    return before


@transaction.atomic
def submit_report(*, report: OutputReport, actor) -> OutputReport:
    """``draft → submitted``: the clerk declares the report complete."""
    ensure_mining_clerk(actor, doing=_("submit a report"))
    report = _locked(report)
    ensure_state(report, ReportState.DRAFT, doing=_("submitted"))
    days = set(report.lines.values_list("day", flat=True))
    if not days:
        raise refuse("report", _("A report without daily lines cannot be submitted."), "no_lines")
    span = (report.period_end - report.period_start).days + 1
    missing = [
        report.period_start + dt.timedelta(days=i)
        for i in range(span)
        if report.period_start + dt.timedelta(days=i) not in days
    ]
    if missing:
        raise refuse(
            "report",
            _(
                "Days without a line: %(days)s. Record every day of the period (a day without output as a zero line)."
            )
            % {"days": ", ".join(d.isoformat() for d in missing)},
            "missing_days",
        )
    before = _move(report, ReportState.SUBMITTED, actor=actor)
    record_event(
        action="mining.report.submitted",
        actor=actor,
        subject=report,
        data={"from": before, "to": report.state, "lines": len(days)},
    )
    return report


def _deviations(figures: dict) -> list[str]:
    """The days (and the total) beyond tolerance, each with its figures, for the refusal."""
    found = []
    for day in figures["days"]:
        if day["error"]:
            found.append(
                _("%(day)s: expected output unknown (%(error)s)") % {"day": day["day"], "error": day["error"]}
            )
        elif day["exceeds_tolerance"]:
            found.append(
                _("%(day)s: expected %(expected)s sats, reported gross %(gross)s sats (%(percent)s%%)")
                % {
                    "day": day["day"],
                    "expected": day["expected_sats"],
                    "gross": day["btc_gross"],
                    "percent": day["deviation_percent"] if day["deviation_percent"] is not None else "—",
                }
            )
    total = figures["total"]
    if total["exceeds_tolerance"]:
        found.append(
            _("total: expected %(expected)s sats, reported gross %(gross)s sats (%(percent)s%%)")
            % {
                "expected": total["expected_sats"],
                "gross": total["btc_gross"],
                "percent": total["deviation_percent"] if total["deviation_percent"] is not None else "—",
            }
        )
    return found


@transaction.atomic
def record_verification(*, report: OutputReport, actor, explanation: str = "") -> ReportVerification:
    """``submitted → verified``: compute expected vs reported, freeze the figures, and require a
    written explanation when any day or the total is beyond the site's tolerance."""
    ensure_mining_clerk(actor, doing=_("verify a report"))
    report = _locked(report)
    ensure_state(report, ReportState.SUBMITTED, doing=_("verified"))
    explanation = (explanation or "").strip()
    figures = snapshot(verify_report(report))
    deviations = _deviations(figures)
    if deviations and not explanation:
        raise refuse(
            "explanation",
            _(
                "Beyond the site's tolerance of %(tolerance)s%%: %(days)s. Explain the deviation before verifying."
            )
            % {"tolerance": figures["tolerance_percent"], "days": "; ".join(deviations)},
            "unexplained_deviation",
        )
    verification = ReportVerification.objects.create(
        report=report,
        figures=figures,
        digest=snapshot_digest(figures, explanation),
        exceeds_tolerance=bool(deviations),
        explanation=explanation,
        verified_by=actor,
        verified_at=timezone.now(),
    )
    report.explanation = explanation
    before = report.state
    report.state = ReportState.VERIFIED
    report._history_user = actor
    report.save(update_fields=["state", "explanation"])
    record_event(
        action="mining.report.verified",
        actor=actor,
        subject=report,
        data={
            "from": before,
            "to": report.state,
            "verification": verification.pk,
            "digest": verification.digest,
            "expected_sats": figures["total"]["expected_sats"],
            "btc_gross": figures["total"]["btc_gross"],
            "btc_net": figures["total"]["btc_net"],
            "beyond_tolerance": deviations,
            "explanation": explanation,
        },
    )
    return verification


def open_acceptance_requests(report: OutputReport):
    return ApprovalRequest.objects.filter(
        kind=ACCEPT_OUTPUT, status=RequestStatus.PENDING, payload__report=report.pk
    )


@transaction.atomic
def reopen_report(*, report: OutputReport, actor, reason: str) -> OutputReport:
    """``submitted | verified → draft``: return the report to the clerk to correct its lines
    (the verifications made so far stay, as history). Refused while an acceptance request is
    pending: cancel it first."""
    ensure_mining_clerk(actor, doing=_("return a report to draft"))
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason", _("Say why the report goes back to draft."), "required")
    report = _locked(report)
    ensure_state(report, ReportState.SUBMITTED, ReportState.VERIFIED, doing=_("returned to draft"))
    pending = open_acceptance_requests(report).first()
    if pending is not None:
        raise refuse(
            "report",
            _("Request %(reference)s to accept %(report)s is pending; cancel it first.")
            % {"reference": pending.reference, "report": report_label(report)},
            "request_pending",
        )
    before = _move(report, ReportState.DRAFT, actor=actor)
    record_event(
        action="mining.report.reopened",
        actor=actor,
        subject=report,
        data={"from": before, "to": report.state, "reason": reason},
    )
    return report
