from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command

from mining.models import DailyLine, OutputReport, ReportState, Site
from mining.payouts import payout_check
from mining.pools.reconcile import MismatchKind
from mining.sample_data import CURTAILMENT_EXPLANATION, UNDERPAID_DAYS
from mining.selectors import verify_report
from mining.transitions import ACCEPT_OUTPUT, record_verification
from reserve.approvals.selectors import requests_awaiting
from reserve.ledger.verification import verify_ledger
from reserve.models import Account, ApprovalRequest, Category, JournalEntry, Lot, RequestStatus

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_sample_data", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (Site, OutputReport, DailyLine, ApprovalRequest, JournalEntry, Lot)
    return {model.__name__: model.objects.count() for model in models}


def report(name: str, month: int) -> OutputReport:
    return OutputReport.objects.select_related("site").get(site__name=name, period_start__month=month)


def test_mining_sample_data_loads_twice_unchanged():
    load()
    first = counts()

    assert "nothing changed" in load()
    assert counts() == first


def test_three_sites_hydro_gas_coal_with_three_months_of_days():
    load()

    assert sorted(Site.objects.values_list("energy_source", flat=True)) == ["coal", "gas", "hydro"]
    for site in Site.objects.all():
        assert DailyLine.objects.filter(site=site).count() == 92
        assert site.fleets.count() == 1
    wallets = set(Site.objects.values_list("custody_wallet", flat=True))
    assert len(wallets) == 3


def test_every_report_state_is_present():
    load()

    states = {
        (r.site.energy_source, r.period_start.month): r.state
        for r in OutputReport.objects.select_related("site")
    }
    assert states == {
        ("coal", 10): ReportState.POSTED,
        ("coal", 11): ReportState.SUBMITTED,
        ("coal", 12): ReportState.DRAFT,
        ("gas", 10): ReportState.POSTED,
        ("gas", 11): ReportState.VERIFIED,
        ("gas", 12): ReportState.SUBMITTED,
        ("hydro", 10): ReportState.POSTED,
        ("hydro", 11): ReportState.VERIFIED,
        ("hydro", 12): ReportState.DRAFT,
    }


def test_the_november_acceptances_wait_in_both_treasury_officers_inboxes():
    load()

    for username in ("treasury_officer", "treasury_officer_2"):
        user = get_user_model().objects.get(username=username)
        waiting = [r for r in requests_awaiting(user) if r.kind == ACCEPT_OUTPUT]
        assert {r.payload["report"] for r in waiting} == {
            report("Zhanaozen gas", 11).pk,
            report("Shardara HPP", 11).pk,
        }
    assert ApprovalRequest.objects.filter(kind=ACCEPT_OUTPUT, status=RequestStatus.EXECUTED).count() == 3


def test_the_under_reported_month_is_beyond_tolerance_and_refused_without_explanation():
    load()
    november = report("Ekibastuz GRES-1 data centre", 11)

    total = verify_report(november).total
    assert total.exceeds_tolerance
    assert total.deviation_percent < -10
    with pytest.raises(ValidationError) as refused:
        record_verification(report=november, actor=get_user_model().objects.get(username="mining_clerk"))
    assert "explanation" in refused.value.message_dict
    november.refresh_from_db()
    assert november.state == ReportState.SUBMITTED


def test_the_pool_under_payment_shows_in_the_payout_check_with_both_figures():
    load()
    november = report("Zhanaozen gas", 11)

    check = payout_check(november)

    against_report = [m for m in check.mismatches if m.kind == MismatchKind.REPORT_VS_POOL]
    assert {m.day for m in against_report} == {day for day in UNDERPAID_DAYS if day.month == 11}
    for mismatch in against_report:  # the pool's figure below the report's
        assert mismatch.actual_figure > mismatch.expected_figure > 0


def test_the_curtailed_report_is_verified_with_its_explanation():
    load()
    november = report("Shardara HPP", 11)

    verification = november.verifications.get()
    assert verification.exceeds_tolerance
    assert verification.explanation == CURTAILMENT_EXPLANATION
    curtailed = november.lines.filter(curtailment_mwh__gt=0)
    assert curtailed.count() == 7


def test_posted_output_is_in_reserve_mined_and_one_site_was_swept_to_cold_storage():
    load()

    posted = {
        r.site.custody_wallet.code: sum(r.lines.values_list("btc_net", flat=True))
        for r in OutputReport.objects.filter(state=ReportState.POSTED).select_related("site__custody_wallet")
    }
    held = {
        a.wallet.code: a.balance
        for a in Account.objects.filter(
            category=Category.RESERVE_MINED, wallet__code__in=posted
        ).select_related("wallet")
    }
    assert held["btc-mining-ekibastuz"] == 0
    assert held["btc-mining-zhanaozen"] == posted["btc-mining-zhanaozen"]
    assert held["btc-mining-shardara"] == posted["btc-mining-shardara"]
    swept = Account.objects.get(category=Category.RESERVE_MINED, wallet__code="btc-cold-1")
    assert swept.balance == posted["btc-mining-ekibastuz"]
    assert verify_ledger().ok
