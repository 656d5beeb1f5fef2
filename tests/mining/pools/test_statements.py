"""Pool statements: the fund's CSV and Binance Pool's documented Earnings List, to the satoshi."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from mining.pools.statements import (
    PoolStatementLine,
    btc_to_sats,
    parse_binance_earnings,
    parse_statement_csv,
)
from reserve.amounts import AmountError

RECORDED = Path(__file__).parent / "recorded"
TXID = "ab" * 32

GOOD_CSV = (
    "day,gross_btc,fee_btc,net_btc,payout_txid\n"
    f"2026-11-01,0.01000000,0.00025000,0.00975000,{TXID.upper()}\n"
    "2026-11-02,0.00000001,0,0.00000001,\n"
)


def test_csv_lines_are_exact_satoshi_with_the_payout_txid_in_lower_case():
    parsed = parse_statement_csv(GOOD_CSV)
    assert parsed.errors == []
    assert parsed.lines == [
        PoolStatementLine(dt.date(2026, 11, 1), 1_000_000, 25_000, 975_000, TXID, source="csv"),
        PoolStatementLine(dt.date(2026, 11, 2), 1, 0, 1, None, source="csv"),
    ]


def test_csv_columns_in_any_order_and_a_bom_are_accepted():
    content = "\ufeffnet_btc,day,fee_btc,gross_btc,site\r\n0.5,2026-11-03,0.1,0.6,north\r\n".encode()
    parsed = parse_statement_csv(content)
    assert parsed.ok
    assert (parsed.lines[0].gross_sats, parsed.lines[0].fee_sats, parsed.lines[0].net_sats) == (
        60_000_000,
        10_000_000,
        50_000_000,
    )


def test_a_missing_required_column_is_reported_on_the_header_row():
    parsed = parse_statement_csv("day,gross_btc,net_btc\n2026-11-01,1,1\n")
    assert [(e.row, e.column) for e in parsed.errors] == [(1, "fee_btc")]
    assert parsed.lines == []


@pytest.mark.parametrize(
    ("gross", "message_part"),
    [
        ("0.000000001", "8 decimal places"),
        ("1e-8", "exponent"),
        ("-0.1", "negative"),
        ('"1,5"', "plain decimal"),
        ("", "plain decimal"),
    ],
)
def test_bad_amounts_are_row_errors_naming_row_and_column(gross, message_part):
    parsed = parse_statement_csv(
        f"day,gross_btc,fee_btc,net_btc\n2026-11-01,0.1,0,0.1\n2026-11-02,{gross},0,0.1\n"
    )
    assert len(parsed.lines) == 1  # the good row is kept
    [error] = parsed.errors
    assert (error.row, error.column) == (3, "gross_btc")
    assert message_part in error.message


def test_net_must_be_gross_less_fee_to_the_satoshi():
    parsed = parse_statement_csv("day,gross_btc,fee_btc,net_btc\n2026-11-01,0.1,0.01,0.09000001\n")
    [error] = parsed.errors
    assert (error.row, error.column) == (2, "net_btc")
    assert "9000001" in error.message and "9000000" in error.message


def test_bad_day_and_txid_are_row_errors():
    parsed = parse_statement_csv(
        "day,gross_btc,fee_btc,net_btc,payout_txid\n01.11.2026,1,0,1,\n2026-02-30,1,0,1,\n2026-11-01,1,0,1,abc\n"
    )
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "day"), (3, "day"), (4, "payout_txid")]


def test_error_messages_are_plain_text_in_the_active_language():
    from django.utils import translation

    with translation.override("ru"):
        parsed = parse_statement_csv("day,gross_btc,fee_btc,net_btc\n2026-11-01,-1,0,1\n")
    [error] = parsed.errors
    assert type(error.message) is str  # resolved by gettext now, not a lazy proxy: safe to store


def test_btc_to_sats_refuses_fractions_of_a_satoshi_and_floats():
    assert btc_to_sats(Decimal("21000000.00000000")) == 2_100_000_000_000_000
    assert btc_to_sats("0.00000001") == 1
    with pytest.raises(AmountError):
        btc_to_sats(Decimal("0.000000015"))
    with pytest.raises(AmountError):
        btc_to_sats(0.1)
    # 30 significant digits: the scaling must not round the fraction away (default precision 28).
    with pytest.raises(AmountError):
        btc_to_sats(Decimal("12345678901234567890.1234567891"))
    with pytest.raises(AmountError):
        btc_to_sats(Decimal("1E+80"))
    with pytest.raises(AmountError):
        btc_to_sats(Decimal("-0.1"))


def test_binance_documented_example_parses_exactly_and_refuses_the_sub_satoshi_entry():
    parsed = parse_binance_earnings((RECORDED / "binance_pool_earnings_list_docs_example.json").read_bytes())
    # The docs' first entry says 8.6083060304 BTC: 10 decimals, a fraction of a satoshi.
    # Every documented time is 16:00 UTC = 00:00 UTC+8, the start of Binance's mining day.
    [error] = parsed.errors
    assert (error.row, error.column) == (1, "profitAmount")
    assert parsed.lines == [
        PoolStatementLine(
            dt.date(2020, 12, 10),
            None,
            None,
            85_426_469,
            None,
            source="binance",
            kind="mining_wallet",
            status="paid",
        ),
        PoolStatementLine(
            dt.date(2020, 12, 9),
            None,
            None,
            2_905_916,
            None,
            source="binance",
            kind="income_transfer",
            status="paid",
        ),
    ]


def test_binance_error_answer_a_time_off_the_utc8_day_start_and_another_coin():
    assert parse_binance_earnings(b'{"code": -1003, "msg": "Too many requests"}').errors[0].column == "code"
    body = (
        b'{"code": 0, "msg": "", "data": {"accountProfits": ['
        b'{"time": 1607472000000, "coinName": "BTC", "type": 0, "profitAmount": 0.1, "status": 2},'
        b'{"time": 1607529600000, "coinName": "ETH", "type": 0, "profitAmount": 0.1, "status": 2}]}}'
    )
    parsed = parse_binance_earnings(body)
    assert [(e.row, e.column) for e in parsed.errors] == [(1, "time"), (2, "coinName")]
    assert parsed.lines == []


def test_binance_not_json():
    assert parse_binance_earnings(b"<html>").errors[0].row == 0
