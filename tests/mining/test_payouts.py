"""Pool payout verification through the services and the selector (mining/payouts.py).

FPPS figures: 2019-01-20 at 50 PH/s with 0.15 BTC of fees a block is expected to earn
216 243 270 sats (see test_verification); less a 2 % pool fee, floor(216 243 270 × 0.98) =
211 918 404 sats is what an FPPS pool owes for the day.
"""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from mining import payouts, services
from mining.models import PayoutReceipt, PoolStatement, PoolStatementLine
from mining.pools.reconcile import MismatchKind
from reserve.models import AuditEvent
from tests.mining.chain_fakes import OBSERVED_BLOCK, OBSERVED_TXID, esplora_serving
from tests.mining.conftest import line_figures
from tests.support.factories import WalletFactory, random_address

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).parent / "pools" / "recorded"
DAY = dt.date(2019, 1, 20)
EXPECTED = 216_243_270
FPPS_PAYOUT = 211_918_404
TXID = "ab" * 32


@pytest.fixture(autouse=True)
def fees(settings):
    settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS = 15_000_000


@pytest.fixture
def fpps_site(site, mining_clerk):
    return payouts.set_pool_fee(site=site, fee_percent="2", actor=mining_clerk)


def csv_statement(*rows: str) -> bytes:
    return ("day,gross_btc,fee_btc,net_btc,payout_txid\n" + "".join(f"{row}\n" for row in rows)).encode()


def reported_day(report, clerk, *, gross=EXPECTED, fees=EXPECTED - FPPS_PAYOUT):
    return services.record_daily_line(
        report=report,
        actor=clerk,
        **line_figures(day=DAY, btc_gross=gross, pool_fees=fees, btc_net=gross - fees, payout_txids=[TXID]),
    )


# The pool fee


def test_setting_the_pool_fee_is_audited_and_a_fee_of_100_is_refused(fpps_site, mining_clerk):
    assert fpps_site.pool_fee_percent == Decimal("2")
    event = AuditEvent.objects.get(action="mining.site.pool_fee_set")
    assert event.data == {"before": None, "after": "2"}
    for impossible in ("100", "-1", 2.5):
        with pytest.raises(ValidationError) as caught:
            payouts.set_pool_fee(site=fpps_site, fee_percent=impossible, actor=mining_clerk)
        assert "pool_fee_percent" in caught.value.message_dict


def test_a_site_may_be_registered_with_its_pool_fee(mining_clerk):
    def register(name, fee):
        return services.register_site(
            name=name,
            region="Almaty",
            operator="Op",
            licence_number=f"ML-{name}",
            licence_date=dt.date(2020, 1, 1),
            energy_source="hydro",
            power_capacity_mw=Decimal("10"),
            commissioned_on=dt.date(2020, 2, 1),
            pool_name="Pool",
            payout_scheme="fpps",
            payout_address=random_address("bitcoin"),
            custody_wallet=WalletFactory(),
            tolerance_percent=Decimal("3"),
            pool_fee_percent=fee,
            actor=mining_clerk,
        )

    assert register("B", "2.5").pool_fee_percent == Decimal("2.5")
    with pytest.raises(ValidationError) as caught:
        register("C", "100")
    assert "pool_fee_percent" in caught.value.message_dict


# Importing statements


def test_a_csv_statement_is_imported_with_its_lines_fee_and_audit_event(fpps_site, mining_clerk):
    content = csv_statement(
        f"2019-01-19,2.00000000,0.04000000,1.96000000,{TXID}",
        f"2019-01-20,2.16243270,0.04324866,2.11918404,{TXID.upper()}",
    )
    statement = payouts.import_pool_statement(
        site=fpps_site, content=content, format="csv", actor=mining_clerk
    )
    assert (statement.first_day, statement.last_day) == (dt.date(2019, 1, 19), DAY)
    assert statement.size_bytes == len(content) and len(statement.sha256) == 64
    assert statement.fee_percent == Decimal("2")
    assert statement.imported_by == mining_clerk
    lines = list(statement.lines.order_by("row"))
    assert [(x.day, x.gross_sats, x.fee_sats, x.net_sats, x.payout_txid) for x in lines] == [
        (dt.date(2019, 1, 19), 200_000_000, 4_000_000, 196_000_000, TXID),
        (DAY, EXPECTED, 4_324_866, FPPS_PAYOUT, TXID),
    ]
    event = AuditEvent.objects.get(action="mining.statement.imported")
    assert event.data["lines"] == 2 and event.data["net_sats"] == 196_000_000 + FPPS_PAYOUT


def test_the_same_file_twice_is_one_statement(fpps_site, mining_clerk):
    content = csv_statement(f"2019-01-20,2.16243270,0.04324866,2.11918404,{TXID}")
    first = payouts.import_pool_statement(site=fpps_site, content=content, format="csv", actor=mining_clerk)
    again = payouts.import_pool_statement(site=fpps_site, content=content, format="csv", actor=mining_clerk)
    assert again.pk == first.pk
    assert PoolStatement.objects.count() == 1 and PoolStatementLine.objects.count() == 1
    assert AuditEvent.objects.filter(action="mining.statement.imported").count() == 1


def test_row_errors_store_nothing_and_name_every_row(fpps_site, mining_clerk):
    content = csv_statement(
        "2019-01-19,2.00000000,0.04000000,1.96000000,",
        "2019-01-20,2.000000001,0.04000000,1.96000000,",
        "20.01.2019,2.00000000,0.04000000,1.95000000,",
    )
    with pytest.raises(ValidationError) as caught:
        payouts.import_pool_statement(site=fpps_site, content=content, format="csv", actor=mining_clerk)
    messages = caught.value.message_dict["content"]
    assert any(m.startswith("Row 3, gross_btc:") for m in messages)
    assert any(m.startswith("Row 4, day:") for m in messages)
    assert any(m.startswith("Row 4, net_btc:") for m in messages)
    assert not any(m.startswith("Row 2") for m in messages)
    assert not PoolStatement.objects.exists() and not PoolStatementLine.objects.exists()
    assert not AuditEvent.objects.filter(action="mining.statement.imported").exists()


def test_the_binance_documentation_example_is_refused_for_its_fraction_of_a_satoshi(fpps_site, mining_clerk):
    content = (RECORDED / "binance_pool_earnings_list_docs_example.json").read_bytes()
    with pytest.raises(ValidationError) as caught:
        payouts.import_pool_statement(site=fpps_site, content=content, format="binance", actor=mining_clerk)
    [message] = caught.value.message_dict["content"]
    assert message.startswith("Row 1, profitAmount:")
    assert not PoolStatement.objects.exists()


def test_the_binance_example_without_its_first_entry_is_imported_net_only(fpps_site, mining_clerk):
    body = json.loads((RECORDED / "binance_pool_earnings_list_docs_example.json").read_bytes())
    del body["data"]["accountProfits"][0]  # 8.6083060304 BTC: 10 decimals, refused above
    statement = payouts.import_pool_statement(
        site=fpps_site, content=json.dumps(body).encode(), format="binance", actor=mining_clerk
    )
    assert statement.format == "binance"
    assert [
        (x.day, x.gross_sats, x.fee_sats, x.net_sats, x.kind) for x in statement.lines.order_by("day")
    ] == [
        (dt.date(2020, 12, 9), None, None, 2_905_916, "income_transfer"),
        (dt.date(2020, 12, 10), None, None, 85_426_469, "mining_wallet"),
    ]


def test_an_unknown_format_is_refused(fpps_site, mining_clerk):
    with pytest.raises(ValidationError) as caught:
        payouts.import_pool_statement(site=fpps_site, content=b"x", format="xlsx", actor=mining_clerk)
    assert "format" in caught.value.message_dict


def test_statement_lines_cannot_be_changed_once_imported(fpps_site, mining_clerk):
    content = csv_statement(f"2019-01-20,2.16243270,0.04324866,2.11918404,{TXID}")
    statement = payouts.import_pool_statement(
        site=fpps_site, content=content, format="csv", actor=mining_clerk
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        PoolStatementLine.objects.filter(statement=statement).update(net_sats=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        PoolStatement.objects.filter(pk=statement.pk).update(fee_percent=Decimal("0"))


# Receipts entered by a clerk


def test_a_clerk_records_a_receipt_with_its_txid(fpps_site, mining_clerk):
    receipt = payouts.record_receipt(
        site=fpps_site,
        txid=TXID.upper(),
        vout=1,
        amount_btc="2.11918404",
        confirmations=6,
        block_time=dt.datetime(2019, 1, 21, 2, tzinfo=dt.UTC),
        actor=mining_clerk,
    )
    assert (receipt.txid, receipt.vout, receipt.units, receipt.source) == (TXID, 1, FPPS_PAYOUT, "clerk")
    assert receipt.recorded_by == mining_clerk
    assert AuditEvent.objects.get(action="mining.receipt.recorded").data["units"] == FPPS_PAYOUT


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"txid": "xyz"}, "txid"),
        ({"vout": -1}, "vout"),
        ({"confirmations": -1}, "confirmations"),
        ({"amount_btc": "0.000000001"}, "amount_btc"),
        ({"confirmations": 3, "block_time": None}, "block_time"),
        ({"block_time": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)}, "block_time"),
    ],
)
def test_an_impossible_receipt_is_refused_by_field(fpps_site, mining_clerk, overrides, field):
    values = {
        "txid": TXID,
        "vout": 0,
        "amount_btc": "1",
        "confirmations": 6,
        "block_time": dt.datetime(2019, 1, 21, tzinfo=dt.UTC),
    } | overrides
    with pytest.raises(ValidationError) as caught:
        payouts.record_receipt(site=fpps_site, actor=mining_clerk, **values)
    assert field in caught.value.message_dict
    assert not PayoutReceipt.objects.exists()


def test_the_same_output_twice_is_refused(fpps_site, mining_clerk):
    values = {"site": fpps_site, "txid": TXID, "vout": 0, "amount_btc": "1", "confirmations": 0}
    payouts.record_receipt(block_time=None, actor=mining_clerk, **values)
    with pytest.raises(ValidationError) as caught:
        payouts.record_receipt(block_time=None, actor=mining_clerk, **values)
    assert caught.value.error_dict["txid"][0].code == "duplicate"


# Receipts observed through a chain source


@pytest.fixture
def chain_source(settings):
    settings.CHAIN_SOURCES = {"bitcoin": {"adapter": "esplora", "base_url": "https://esplora.test/api"}}


def test_observed_receipts_are_stored_then_their_confirmations_updated(fpps_site, mining_clerk, chain_source):
    period = {"site": fpps_site, "first_day": dt.date(2018, 11, 20), "last_day": dt.date(2018, 11, 20)}
    first = payouts.observe_receipts(
        actor=mining_clerk,
        transport=esplora_serving(fpps_site.payout_address, tip=OBSERVED_BLOCK + 5),
        **period,
    )
    [receipt] = first.added
    assert (receipt.txid, receipt.vout, receipt.units, receipt.confirmations) == (
        OBSERVED_TXID,
        0,
        100_000,
        6,
    )
    assert receipt.source == "esplora" and receipt.block_height == OBSERVED_BLOCK
    later = payouts.observe_receipts(
        actor=mining_clerk,
        transport=esplora_serving(fpps_site.payout_address, tip=OBSERVED_BLOCK + 99),
        **period,
    )
    assert later.added == () and [r.confirmations for r in later.updated] == [100]
    assert PayoutReceipt.objects.get().confirmations == 100
    events = AuditEvent.objects.filter(action="mining.receipts.observed").order_by("id")
    assert [e.data["added"] for e in events] == [[f"{OBSERVED_TXID}:0"], []]
    assert [e.data["updated"] for e in events] == [[], [f"{OBSERVED_TXID}:0"]]


def test_observing_without_a_chain_source_is_refused_clearly(fpps_site, mining_clerk, settings):
    settings.CHAIN_SOURCES = {}
    with pytest.raises(ValidationError) as caught:
        payouts.observe_receipts(
            site=fpps_site, first_day=DAY, last_day=DAY, actor=mining_clerk, transport=None
        )
    error = caught.value.error_dict["site"][0]
    assert error.code == "no_chain_source" and "enter the receipts by hand" in error.messages[0]
    assert not PayoutReceipt.objects.exists()


def test_a_failing_chain_source_stores_nothing(fpps_site, mining_clerk, chain_source):
    transport = httpx.MockTransport(lambda request: httpx.Response(400, text="Invalid Bitcoin address"))
    with pytest.raises(ValidationError) as caught:
        payouts.observe_receipts(
            site=fpps_site, first_day=DAY, last_day=DAY, actor=mining_clerk, transport=transport
        )
    assert caught.value.error_dict["site"][0].code == "source_error"
    assert not PayoutReceipt.objects.exists()


# The payout check


def kinds(check) -> list[str]:
    return [m.kind for m in check.mismatches]


def test_a_matching_period_has_no_mismatch(fpps_site, report, mining_clerk):
    reported_day(report, mining_clerk)
    payouts.import_pool_statement(
        site=fpps_site,
        content=csv_statement(f"2019-01-20,2.16243270,0.04324866,2.11918404,{TXID}"),
        format="csv",
        actor=mining_clerk,
    )
    payouts.record_receipt(
        site=fpps_site,
        txid=TXID,
        vout=0,
        amount_btc="2.11918404",
        confirmations=6,
        block_time=dt.datetime(2019, 1, 21, 2, tzinfo=dt.UTC),
        actor=mining_clerk,
    )
    check = payouts.payout_check(report)
    assert check.agrees and check.notes == ()
    assert check.fee_percent == Decimal("2")
    day = next(d for d in check.days if d.day == DAY)
    assert (day.reported_net, day.pool_net, day.expected_less_fee) == (FPPS_PAYOUT, FPPS_PAYOUT, FPPS_PAYOUT)
    assert len(check.days) == 7 and check.days[0].reported_net is None


def test_an_under_paying_pool_is_flagged_with_both_figures(fpps_site, report, mining_clerk):
    reported_day(report, mining_clerk)
    payouts.import_pool_statement(
        site=fpps_site,
        content=csv_statement(f"2019-01-20,2.16243270,0.05243270,2.11000000,{TXID}"),
        format="csv",
        actor=mining_clerk,
    )
    payouts.record_receipt(
        site=fpps_site,
        txid=TXID,
        vout=0,
        amount_btc="2.10000000",
        confirmations=6,
        block_time=dt.datetime(2019, 1, 21, 2, tzinfo=dt.UTC),
        actor=mining_clerk,
    )
    check = payouts.payout_check(report)
    figures = {m.kind: (m.expected_figure, m.actual_figure) for m in check.mismatches}
    assert figures == {
        MismatchKind.REPORT_VS_POOL: (211_000_000, FPPS_PAYOUT),
        MismatchKind.FPPS_PAYOUT_VS_EXPECTED: (FPPS_PAYOUT, 211_000_000),
        MismatchKind.POOL_VS_RECEIPTS: (211_000_000, 210_000_000),
    }
    fpps = next(m for m in check.mismatches if m.kind == MismatchKind.FPPS_PAYOUT_VS_EXPECTED)
    assert "211000000" in fpps.message and "211918404" in fpps.message
    assert check.mismatch_label(fpps) == "FPPS payout vs expected output less fee"


def test_a_corrected_statement_supersedes_the_first_for_its_days(fpps_site, report, mining_clerk):
    reported_day(report, mining_clerk)
    for net in ("2.11000000", "2.11918404"):
        gross, fee = Decimal("2.16243270"), Decimal("2.16243270") - Decimal(net)
        payouts.import_pool_statement(
            site=fpps_site,
            content=csv_statement(f"2019-01-20,{gross},{fee},{net},"),
            format="csv",
            actor=mining_clerk,
        )
    check = payouts.payout_check(report)
    assert PoolStatement.objects.count() == 2 and len(check.statement_ids) == 1
    assert MismatchKind.REPORT_VS_POOL not in kinds(check)
    assert MismatchKind.FPPS_PAYOUT_VS_EXPECTED not in kinds(check)


def test_without_a_pool_fee_the_fpps_payout_is_not_checked_and_says_so(site, report, mining_clerk):
    reported_day(report, mining_clerk)
    check = payouts.payout_check(report)
    assert MismatchKind.FPPS_PAYOUT_VS_EXPECTED not in kinds(check)
    assert "The pool fee is not known: the FPPS payout is not checked." in check.notes
    assert "No pool statement covers this period." in check.notes


@pytest.fixture
def solo_report(mining_clerk):
    site = services.register_site(
        name="Shardara solo",
        region="Turkistan",
        operator="Hydro Mining LLP",
        licence_number="ML-0077",
        licence_date=dt.date(2018, 3, 1),
        energy_source="hydro",
        power_capacity_mw=Decimal("30"),
        commissioned_on=dt.date(2018, 6, 1),
        pool_name="solo",
        payout_scheme="solo",
        payout_address=random_address("bitcoin"),
        custody_wallet=WalletFactory(code="solo-cold"),
        tolerance_percent=Decimal("5"),
        actor=mining_clerk,
    )
    services.add_fleet(
        site=site,
        machine_model="Antminer S9",
        count=10_000,
        nominal_hashrate_ths=Decimal("14"),
        efficiency_j_per_th=Decimal("98"),
        actor=mining_clerk,
    )
    report = services.open_report(site=site, period_start=DAY, period_end=DAY, actor=mining_clerk)
    services.record_daily_line(
        report=report,
        actor=mining_clerk,
        **line_figures(btc_gross=1_265_000_000, pool_fees=0, btc_net=1_265_000_000, payout_txids=["c0" * 32]),
    )
    return report


def coinbase(report, clerk, confirmations):
    return payouts.record_receipt(
        site=report.site,
        txid="c0" * 32,
        vout=0,
        amount_btc="12.65000000",
        confirmations=confirmations,
        block_time=dt.datetime(2019, 1, 20, 10, tzinfo=dt.UTC),
        block_height=558_700,
        coinbase=True,
        actor=clerk,
    )


def test_a_solo_coinbase_at_99_confirmations_is_not_counted(solo_report, mining_clerk):
    coinbase(solo_report, mining_clerk, 99)
    check = payouts.payout_check(solo_report)
    assert check.days[0].received == 0
    figures = {m.kind: (m.expected_figure, m.actual_figure, m.unit) for m in check.mismatches}
    assert figures[MismatchKind.IMMATURE_COINBASE] == (100, 99, "confirmations")
    assert figures[MismatchKind.REPORT_VS_RECEIPTS] == (0, 1_265_000_000, "sats")
    assert MismatchKind.REPORT_VS_POOL not in figures


def test_a_solo_coinbase_at_100_confirmations_matches_the_report(solo_report, mining_clerk):
    coinbase(solo_report, mining_clerk, 100)
    check = payouts.payout_check(solo_report)
    assert check.agrees, check.mismatches
    assert check.days[0].received == 1_265_000_000


def test_a_payout_in_the_statement_never_received_is_flagged(fpps_site, report, mining_clerk):
    reported_day(report, mining_clerk)
    payouts.import_pool_statement(
        site=fpps_site,
        content=csv_statement(f"2019-01-20,2.16243270,0.04324866,2.11918404,{TXID}"),
        format="csv",
        actor=mining_clerk,
    )
    [mismatch] = payouts.payout_check(report).mismatches
    assert (mismatch.kind, mismatch.expected_figure, mismatch.actual_figure, mismatch.txid) == (
        MismatchKind.RECEIPT_UNMATCHED,
        FPPS_PAYOUT,
        0,
        TXID,
    )


def test_statement_lines_without_txid_match_the_receipts_of_the_period_in_total(
    fpps_site, report, mining_clerk
):
    reported_day(report, mining_clerk)
    payouts.import_pool_statement(
        site=fpps_site,
        content=csv_statement("2019-01-20,2.16243270,0.04324866,2.11918404,"),
        format="csv",
        actor=mining_clerk,
    )
    for vout, amount in ((0, "2.00000000"), (1, "0.11918404")):
        payouts.record_receipt(
            site=fpps_site,
            txid=TXID,
            vout=vout,
            amount_btc=amount,
            confirmations=6,
            block_time=dt.datetime(2019, 1, 21, 2, tzinfo=dt.UTC),
            actor=mining_clerk,
        )
    assert payouts.payout_check(report).agrees
