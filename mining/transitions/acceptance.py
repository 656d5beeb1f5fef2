"""``mining.accept_output``: approvers accept a verified output report, and its net output is
posted to the reserve.

Made by a mining clerk; decided by two treasury officers by default (treasury officers read
mining; the maker never approves its own request). The payload pins the report and the digest
of its frozen verification (:class:`~mining.models.ReportVerification`); before executing, the
figures are computed again and must still give that digest, so nothing the approvers did not
see can be posted.

Execution, in the engine's transaction that records the last approval, exactly once:
``verified → approved`` (the decision) then ``→ posted``: one journal entry per reported day
with output, ``external → reserve:mined`` at the site's custody wallet for the day's net
output, each opening a lot whose origin is the daily line (label ``site / day``). Per-day
entries because a lot names one origin, and per day is what a statement of provenance needs;
each entry carries the idempotency key ``mining.output:<line>``, so even a replay could not
post a day twice. The report becomes ``posted`` in the same transaction; the request's result
lists the entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mining.models import DailyLine, OutputReport, ReportState, ReportVerification
from mining.selectors import verify_report
from mining.transitions.common import (
    current_verification,
    ensure_state,
    paid_by_day,
    refuse,
    report_asset,
    report_label,
    snapshot,
    snapshot_digest,
)
from mining.transitions.workflow import ACCEPT_OUTPUT
from reserve import roles
from reserve.amounts import parse_amount
from reserve.approvals import payload as checks
from reserve.approvals.policies import DefaultPolicy
from reserve.approvals.registry import EffectLine, MatchFacts, RequestKind
from reserve.audit import record_event
from reserve.ledger.reasons import register_reason
from reserve.ledger.services import Line, Origin, get_account, post_entry
from reserve.models import Asset, Category

MINING_OUTPUT = register_reason(
    "mining.output", gettext_lazy("Mining output of a state site"), opens_lots=True, requires_approval=True
)

POLICIES = (DefaultPolicy(120, "Mining output acceptance", ACCEPT_OUTPUT, ((roles.TREASURY_OFFICER, 2),)),)

#: ``Lot.origin_kind`` of the lots mining output opens.
ORIGIN_KIND = "mining.output"


@dataclass(frozen=True)
class AcceptOutputAction:
    report: OutputReport
    verification: ReportVerification
    asset: Asset
    units: int


def request_acceptance(*, report: OutputReport, maker, comment: str = "", idempotency_key: str | None = None):
    """Make the ``mining.accept_output`` request for ``report`` (verified), pinning its current
    verification."""
    from reserve.approvals.services import create_request

    verification = current_verification(report)
    payload = {"report": report.pk, "verification_digest": verification.digest if verification else ""}
    return create_request(
        kind=ACCEPT_OUTPUT,
        payload=payload,
        maker=maker,
        comment=comment,
        idempotency_key=idempotency_key,
    )


def verification_evidence(report: OutputReport) -> list[dict]:
    """Links approvers can follow from the request page (whichever face made the request): the
    report in the admin, with its daily lines, frozen verification and payout check."""
    return [
        {
            "label": str(_("Output report %(report)s") % {"report": report_label(report)}),
            "url": reverse("admin:mining_outputreport_change", args=[report.pk]),
        }
    ]


def _read_report(payload: dict, errors: checks.PayloadErrors) -> OutputReport | None:
    raw = payload.get("report")
    if raw in (None, ""):
        errors.add("report", _("This field is required."))
        return None
    if isinstance(raw, bool) or not str(raw).isdigit():
        errors.add("report", _("Name the output report by its number."))
        return None
    report = OutputReport.objects.select_related("site__custody_wallet").filter(pk=int(raw)).first()
    if report is None:
        errors.add("report", _("No output report #%(report)s.") % {"report": raw})
    return report


class AcceptOutputKind(RequestKind):
    code = ACCEPT_OUTPUT
    label = gettext_lazy("Mining output accepted into the reserve")
    slug = "mining-output"
    maker_roles = (roles.MINING_CLERK,)
    api_serializer = "mining.transitions.serializers.AcceptOutputPayloadSerializer"

    def clean_payload(self, payload: dict) -> dict:
        errors = checks.PayloadErrors()
        report = _read_report(payload, errors)
        errors.raise_if_any()
        ensure_state(report, ReportState.VERIFIED, doing=_("accepted"))
        verification = current_verification(report)
        given = str(payload.get("verification_digest") or "")
        if given and given != verification.digest:
            raise refuse(
                "verification_digest",
                _("The report was verified again since; the current verification is %(digest)s.")
                % {"digest": verification.digest[:12]},
                "stale_verification",
            )
        asset = report_asset(report)
        units = verification.figures["total"]["btc_net"]
        return {
            "report": report.pk,
            "site": report.site.name,
            "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(),
            "verification": verification.pk,
            "verification_digest": verification.digest,
            "asset": asset.symbol,
            "amount": asset.format(units),
            "custody_wallet": report.site.custody_wallet.code,
        }

    def parse(self, payload: dict) -> AcceptOutputAction:
        report = OutputReport.objects.select_related("site__custody_wallet").get(pk=payload["report"])
        verification = ReportVerification.objects.get(pk=payload["verification"], report=report)
        asset = Asset.objects.get(symbol=payload["asset"])
        units = parse_amount(payload["amount"], asset.decimals, allow_zero=True)
        return AcceptOutputAction(report=report, verification=verification, asset=asset, units=units)

    def title(self, action: AcceptOutputAction) -> str:
        return _("Accept %(amount)s %(asset)s mined at %(report)s") % {
            "amount": action.asset.format(action.units),
            "asset": action.asset.symbol,
            "report": report_label(action.report),
        }

    def match_facts(self, action: AcceptOutputAction) -> MatchFacts:
        return MatchFacts(
            asset=action.asset,
            amount_units=action.units,
            source_category=Category.EXTERNAL,
            destination_category=Category.RESERVE_MINED,
        )

    def ledger_effect(self, action: AcceptOutputAction) -> list[EffectLine]:
        amount = action.asset.format(action.units)
        wallet = action.report.site.custody_wallet
        return [
            EffectLine(str(_("external (mining output)")), amount, "debit"),
            EffectLine(checks.account_label(wallet, Category.RESERVE_MINED), amount, "credit"),
        ]

    def notices(self, action: AcceptOutputAction) -> list[str]:
        """The verification as the approvers must see it: per day expected vs reported vs paid,
        the total, and the clerk's explanation."""
        from mining.payouts import payout_check

        figures = action.verification.figures
        check = payout_check(action.report)
        paid = {day.isoformat(): sats for day, sats in paid_by_day(action.report, check).items()}
        dash = "—"
        found = [
            _("Verified by %(user)s on %(when)s; tolerance %(tolerance)s%%; fees per block %(fees)s sats.")
            % {
                "user": action.verification.verified_by.get_username()
                if action.verification.verified_by
                else dash,
                "when": action.verification.verified_at.isoformat(timespec="minutes"),
                "tolerance": figures["tolerance_percent"],
                "fees": figures["fees_per_block_sats"],
            }
        ]
        for day in figures["days"]:
            found.append(
                _(
                    "%(day)s: expected %(expected)s sats, reported gross %(gross)s, net %(net)s, paid %(paid)s; "
                    "deviation %(percent)s%%%(flag)s."
                )
                % {
                    "day": day["day"],
                    "expected": day["expected_sats"] if day["expected_sats"] is not None else dash,
                    "gross": day["btc_gross"],
                    "net": day["btc_net"],
                    "paid": paid.get(day["day"], dash),
                    "percent": day["deviation_percent"] if day["deviation_percent"] is not None else dash,
                    "flag": _(" — beyond tolerance") if day["exceeds_tolerance"] else "",
                }
            )
        total = figures["total"]
        found.append(
            _(
                "Total: expected %(expected)s sats, reported gross %(gross)s, net %(net)s; deviation %(percent)s%%%(flag)s."
            )
            % {
                "expected": total["expected_sats"] if total["expected_sats"] is not None else dash,
                "gross": total["btc_gross"],
                "net": total["btc_net"],
                "percent": total["deviation_percent"] if total["deviation_percent"] is not None else dash,
                "flag": _(" — beyond tolerance") if total["exceeds_tolerance"] else "",
            }
        )
        if not paid:
            found.append(_("Paid figures: no pool statement is recorded against this report yet."))
        found += [_("Payout mismatch: %(message)s") % {"message": m.message} for m in check.mismatches]
        found += [str(note) for note in check.notes]
        if action.verification.explanation:
            found.append(_("Explanation: %(text)s") % {"text": action.verification.explanation})
        return found

    def evidence(self, action: AcceptOutputAction) -> list[dict]:
        return verification_evidence(action.report)

    def check_executable(self, action: AcceptOutputAction) -> None:
        report = action.report
        ensure_state(report, ReportState.VERIFIED, doing=_("accepted"))
        current = current_verification(report)
        if current is None or current.pk != action.verification.pk:
            raise refuse(
                "report",
                _("Report %(report)s was verified again since the request was made; make it again.")
                % {"report": report_label(report)},
                "stale_verification",
            )
        recomputed = snapshot_digest(snapshot(verify_report(report)), action.verification.explanation)
        if recomputed != action.verification.digest:
            raise refuse(
                "report",
                _(
                    "The verification figures of %(report)s no longer compute the same; return it to draft and verify again."
                )
                % {"report": report_label(report)},
                "figures_changed",
            )
        checks.ensure_active(asset=action.asset, wallets=[report.site.custody_wallet])

    def execute(self, *, request, action: AcceptOutputAction, actor) -> dict:
        report = (
            OutputReport.objects.select_for_update()
            .select_related("site__custody_wallet")
            .get(pk=action.report.pk)
        )
        ensure_state(report, ReportState.VERIFIED, doing=_("accepted"))
        report.state = ReportState.APPROVED
        report._history_user = actor
        report.save(update_fields=["state"])
        record_event(
            action="mining.report.approved",
            actor=actor,
            subject=report,
            data={
                "request": request.pk,
                "verification": action.verification.pk,
                "digest": action.verification.digest,
            },
        )
        entries = post_output(report=report, request=request, asset=action.asset, actor=actor)
        posted = sum(units for _number, _day, units in entries)
        if posted != action.units:
            raise refuse(
                "report", _("The daily lines no longer add up to the accepted amount."), "amount_changed"
            )
        report.state = ReportState.POSTED
        report._history_user = actor
        report.save(update_fields=["state"])
        result = {
            "report": report.pk,
            "entries": [number for number, _day, _units in entries],
            "amount": action.asset.format(posted),
        }
        record_event(
            action="mining.report.posted",
            actor=actor,
            subject=report,
            data={**result, "request": request.pk, "days": [day for _n, day, _u in entries]},
        )
        return result


def post_output(*, report: OutputReport, request, asset: Asset, actor) -> list[tuple[str, str, int]]:
    """Post each day's net output ``external → reserve:mined`` at the site's custody wallet,
    one entry per day with output, each opening a lot named ``site / day`` whose origin is the
    daily line. Returns ``(entry number, day, sats)`` per entry."""
    wallet = report.site.custody_wallet
    external = get_account(wallet=None, category=Category.EXTERNAL, asset=asset)
    mined = get_account(wallet=wallet, category=Category.RESERVE_MINED, asset=asset)
    posted = []
    for line in DailyLine.objects.filter(report=report).order_by("day"):
        if line.btc_net == 0:
            continue
        label = f"{report.site.name} / {line.day.isoformat()}"
        entry = post_entry(
            reason=MINING_OUTPUT.code,
            lines=[Line(external, -line.btc_net), Line(mined, line.btc_net)],
            actor=actor,
            source=request,
            memo=request.title,
            origin=Origin(kind=ORIGIN_KIND, label=label, document=line),
            idempotency_key=f"mining.output:{line.pk}",
        )
        posted.append((entry.number, line.day.isoformat(), line.btc_net))
    return posted
