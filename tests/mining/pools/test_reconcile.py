"""Pool payout verification: every mismatch kind, with both figures, to the satoshi."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mining.pools.reconcile import (
    COINBASE_MATURITY,
    FppsExpectation,
    Mismatch,
    MismatchKind,
    ReportedDay,
    fpps_payout,
    reconcile_payouts,
)
from mining.pools.statements import PoolStatementLine, parse_binance_earnings
from reserve.chain.base import Receipt

NOV1, NOV2, NOV3, NOV4 = (dt.date(2026, 11, d) for d in (1, 2, 3, 4))
PAYOUT = "aa" * 32
OTHER = "bb" * 32
STRAY = "cc" * 32
BLOCK = "dd" * 32


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def line(day, net, *, gross=None, fee=None, txid=None) -> PoolStatementLine:
    if gross is None:
        gross, fee = net, 0
    return PoolStatementLine(day, gross, fee, net, txid, source="csv")


def receipt(txid, units, day, *, vout=0, confirmations=6, coinbase=False) -> Receipt:
    return Receipt(txid, vout, units, confirmations, 900_000, at(day), coinbase)


def kinds(mismatches: list[Mismatch]) -> list[str]:
    return [m.kind.value for m in mismatches]


def test_everything_agreeing_gives_no_mismatch():
    assert (
        reconcile_payouts(
            reported=[ReportedDay(NOV1, 975_000, gross_sats=1_000_000)],
            statement=[line(NOV1, 975_000, gross=1_000_000, fee=25_000, txid=PAYOUT)],
            receipts=[receipt(PAYOUT, 975_000, NOV2)],
        )
        == []
    )


def test_report_vs_pool_gives_both_figures_one_satoshi_apart():
    [mismatch] = reconcile_payouts(
        reported=[ReportedDay(NOV1, 975_001)],
        statement=[line(NOV1, 975_000, txid=PAYOUT)],
        receipts=[receipt(PAYOUT, 975_000, NOV1)],
    )
    assert (mismatch.day, mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        NOV1,
        MismatchKind.REPORT_VS_POOL,
        975_000,
        975_001,
    )
    assert mismatch.difference == 1
    assert "975001" in mismatch.message and "975000" in mismatch.message


def test_report_vs_pool_compares_gross_when_both_give_it_and_a_missing_day_as_zero():
    found = reconcile_payouts(
        reported=[ReportedDay(NOV1, 975_000, gross_sats=1_000_001), ReportedDay(NOV2, 5)],
        statement=[line(NOV1, 975_000, gross=1_000_000, fee=25_000, txid=PAYOUT)],
        receipts=[receipt(PAYOUT, 975_000, NOV1)],
    )
    assert [(m.day, m.kind, m.expected_figure, m.actual_figure) for m in found] == [
        (NOV1, MismatchKind.REPORT_VS_POOL, 1_000_000, 1_000_001),
        (NOV2, MismatchKind.REPORT_VS_POOL, 0, 5),
    ]


def test_a_tolerance_in_sats_absorbs_that_much_and_no_more():
    common = {"statement": [line(NOV1, 100, txid=PAYOUT)], "receipts": [receipt(PAYOUT, 100, NOV1)]}
    assert reconcile_payouts(reported=[ReportedDay(NOV1, 102)], tolerance_sats=2, **common) == []
    assert kinds(reconcile_payouts(reported=[ReportedDay(NOV1, 103)], tolerance_sats=2, **common)) == [
        "report_vs_pool"
    ]


def test_fpps_payout_is_expected_less_the_fee_rounded_down_exactly():
    assert fpps_payout(1_000_000, Decimal("2.5")) == 975_000
    assert fpps_payout(1_000_001, Decimal("2.5")) == 975_000  # 975000.975 → 975000
    assert fpps_payout(312_500_000, Decimal("0")) == 312_500_000
    with pytest.raises(TypeError):
        fpps_payout(1_000_000, 2.5)
    with pytest.raises(ValueError):
        fpps_payout(1_000_000, Decimal("100"))


def test_fpps_pool_payout_against_expected_output_less_the_fee():
    fpps = FppsExpectation({NOV1: 1_000_000, NOV2: 2_000_000}, Decimal("2.5"))
    found = reconcile_payouts(
        reported=[ReportedDay(NOV1, 975_000), ReportedDay(NOV2, 1_949_999)],
        statement=[line(NOV1, 975_000, txid=PAYOUT), line(NOV2, 1_949_999, txid=PAYOUT)],
        receipts=[receipt(PAYOUT, 2_924_999, NOV3)],
        fpps=fpps,
    )
    [mismatch] = found
    assert (mismatch.day, mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        NOV2,
        MismatchKind.FPPS_PAYOUT_VS_EXPECTED,
        1_950_000,
        1_949_999,
    )
    assert "2000000" in mismatch.message and "2.5%" in mismatch.message


def test_a_multi_day_payout_is_matched_by_txid_and_compared_as_one_sum():
    statement = [line(NOV1, 100_000_000, txid=PAYOUT), line(NOV2, 100_000_001, txid=PAYOUT)]
    reported = [ReportedDay(NOV1, 100_000_000), ReportedDay(NOV2, 100_000_001)]
    # Paid on the third day, in two outputs of the same transaction.
    good = [receipt(PAYOUT, 150_000_000, NOV3), receipt(PAYOUT, 50_000_001, NOV3, vout=1)]
    assert reconcile_payouts(reported=reported, statement=statement, receipts=good) == []
    short = [receipt(PAYOUT, 150_000_000, NOV3), receipt(PAYOUT, 50_000_000, NOV3, vout=1)]
    [mismatch] = reconcile_payouts(reported=reported, statement=statement, receipts=short)
    assert (mismatch.day, mismatch.kind, mismatch.expected_figure, mismatch.actual_figure, mismatch.txid) == (
        NOV2,
        MismatchKind.POOL_VS_RECEIPTS,
        200_000_001,
        200_000_000,
        PAYOUT,
    )
    assert "2026-11-01…2026-11-02" in mismatch.message


def test_a_payout_txid_not_seen_on_chain_and_a_receipt_in_no_statement():
    found = reconcile_payouts(
        reported=[ReportedDay(NOV1, 500)],
        statement=[line(NOV1, 500, txid=PAYOUT)],
        receipts=[receipt(STRAY, 700, NOV2)],
    )
    assert [(m.kind, m.expected_figure, m.actual_figure, m.txid) for m in found] == [
        (MismatchKind.RECEIPT_UNMATCHED, 500, 0, PAYOUT),
        (MismatchKind.UNMATCHED_RECEIPT, 0, 700, STRAY),
    ]


def test_lines_without_txid_are_matched_by_totals_over_the_period_plus_settlement_days():
    statement = [line(NOV1, 300), line(NOV2, 400)]
    reported = [ReportedDay(NOV1, 300), ReportedDay(NOV2, 400)]
    # Paid the next day, as one transaction the statement does not name.
    assert (
        reconcile_payouts(reported=reported, statement=statement, receipts=[receipt(OTHER, 700, NOV3)]) == []
    )
    # Outside the window (settlement of 1 day): not this period's payout.
    found = reconcile_payouts(reported=reported, statement=statement, receipts=[receipt(OTHER, 700, NOV4)])
    assert [(m.kind, m.expected_figure, m.actual_figure) for m in found] == [
        (MismatchKind.POOL_VS_RECEIPTS, 700, 0),
        (MismatchKind.UNMATCHED_RECEIPT, 0, 700),
    ]
    assert (
        reconcile_payouts(
            reported=reported, statement=statement, receipts=[receipt(OTHER, 700, NOV4)], settlement_days=2
        )
        == []
    )


def test_totals_over_the_period_one_satoshi_short():
    [mismatch] = reconcile_payouts(
        reported=[ReportedDay(NOV1, 300), ReportedDay(NOV2, 400)],
        statement=[line(NOV1, 300), line(NOV2, 400)],
        receipts=[receipt(OTHER, 299, NOV2), receipt(STRAY, 400, NOV3)],
    )
    assert (mismatch.day, mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        NOV2,
        MismatchKind.POOL_VS_RECEIPTS,
        700,
        699,
    )


@pytest.mark.parametrize(
    ("confirmations", "expected_kinds"),
    [
        (COINBASE_MATURITY - 1, ["report_vs_receipts", "immature_coinbase"]),
        (COINBASE_MATURITY, []),
    ],
)
def test_solo_coinbase_counts_only_from_100_confirmations(confirmations, expected_kinds):
    found = reconcile_payouts(
        reported=[ReportedDay(NOV1, 312_500_000)],
        statement=[],
        receipts=[receipt(BLOCK, 312_500_000, NOV1, confirmations=confirmations, coinbase=True)],
        solo=True,
    )
    assert kinds(found) == expected_kinds
    if found:
        shortfall, pending = found
        assert (shortfall.expected_figure, shortfall.actual_figure) == (0, 312_500_000)
        assert "312500000 sats pending" in shortfall.message
        assert (pending.expected_figure, pending.actual_figure, pending.unit) == (100, 99, "confirmations")


def test_solo_report_against_mature_coinbase_by_block_day():
    [mismatch] = reconcile_payouts(
        reported=[ReportedDay(NOV1, 312_500_000)],
        statement=[],
        receipts=[receipt(BLOCK, 312_500_001, NOV1, confirmations=150, coinbase=True)],
        solo=True,
    )
    assert (mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        MismatchKind.REPORT_VS_RECEIPTS,
        312_500_001,
        312_500_000,
    )


def test_a_pool_payout_still_pending_is_flagged_and_not_called_missing():
    found = reconcile_payouts(
        reported=[ReportedDay(NOV1, 500)],
        statement=[line(NOV1, 500, txid=PAYOUT)],
        receipts=[Receipt(PAYOUT, 0, 500, 0, None, None, False)],
    )
    [mismatch] = found
    assert (mismatch.day, mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        None,
        MismatchKind.UNCONFIRMED_RECEIPT,
        1,
        0,
    )


def test_binance_style_lines_without_gross_compare_net_only():
    statement = [PoolStatementLine(NOV1, None, None, 85_426_469, None, source="binance")]
    assert (
        reconcile_payouts(
            reported=[ReportedDay(NOV1, 85_426_469, gross_sats=90_000_000)],
            statement=statement,
            receipts=[receipt(OTHER, 85_426_469, NOV2)],
        )
        == []
    )


def test_amounts_must_be_whole_satoshi():
    with pytest.raises(TypeError):
        reconcile_payouts(reported=[], statement=[], receipts=[], tolerance_sats=Decimal("0.5"))
    with pytest.raises(TypeError):
        reconcile_payouts(reported=[], statement=[], receipts=[receipt(OTHER, 1.0, NOV1)])


# A statement that matches the receipts (and the report, and FPPS at 0% fee) exactly: no mismatch.

day_amounts = st.lists(st.integers(min_value=1, max_value=21 * 10**14), min_size=1, max_size=12)


@st.composite
def matching_books(draw):
    amounts = draw(day_amounts)
    days = [NOV1 + dt.timedelta(days=i) for i in range(len(amounts))]
    # Cut the days into consecutive payouts; some named by txid, some not.
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(days) - 1))) if len(days) > 1 else [])
    bounds = [0, *cuts, len(days)]
    lines, receipts = [], []
    for n, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        txid = f"{n:064x}"
        named = draw(st.booleans())
        total = sum(amounts[start:end])
        for i in range(start, end):
            lines.append(line(days[i], amounts[i], txid=txid if named else None))
        pay_day = days[end - 1] + dt.timedelta(days=draw(st.integers(min_value=0, max_value=1)))
        split = draw(st.integers(min_value=0, max_value=total))
        parts = [p for p in (split, total - split) if p]
        receipts += [receipt(txid, part, pay_day, vout=v) for v, part in enumerate(parts)]
    reported = [ReportedDay(d, a) for d, a in zip(days, amounts, strict=True)]
    fpps = FppsExpectation(dict(zip(days, amounts, strict=True)), Decimal("0"))
    return reported, lines, receipts, fpps


@settings(max_examples=200, deadline=None)
@given(matching_books())
def test_a_statement_matching_the_receipts_exactly_produces_no_mismatch(books):
    reported, lines, receipts, fpps = books
    assert reconcile_payouts(reported=reported, statement=lines, receipts=receipts, fpps=fpps) == []


def test_the_documented_binance_example_reconciles_against_its_own_figures_and_flags_one_satoshi():
    body = (Path(__file__).parent / "recorded" / "binance_pool_earnings_list_docs_example.json").read_bytes()
    lines = parse_binance_earnings(body).lines  # the sub-satoshi entry is refused, two remain
    reported = [ReportedDay(dt.date(2020, 12, 9), 2_905_916), ReportedDay(dt.date(2020, 12, 10), 85_426_469)]
    paid = [receipt(OTHER, 2_905_916 + 85_426_469, dt.date(2020, 12, 11))]
    assert reconcile_payouts(reported=reported, statement=lines, receipts=paid) == []
    short = [receipt(OTHER, 2_905_916 + 85_426_468, dt.date(2020, 12, 11))]
    [mismatch] = reconcile_payouts(reported=reported, statement=lines, receipts=short)
    assert (mismatch.kind, mismatch.expected_figure, mismatch.actual_figure) == (
        MismatchKind.POOL_VS_RECEIPTS,
        88_332_385,
        88_332_384,
    )
