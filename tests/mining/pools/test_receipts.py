"""Receipts at the payout address: a clerk's entries, and the period asked of a chain source."""

import datetime as dt

import pytest

from mining.pools.receipts import ReceiptEntryError, entered_receipt, observed_receipts
from mining.pools.reconcile import ReportedDay, reconcile_payouts
from mining.pools.statements import PoolStatementLine
from reserve.amounts import AmountError
from reserve.chain.base import Receipt

TXID = "AB" * 32
BLOCK_TIME = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)


def test_a_clerks_receipt_is_exact_and_matches_the_statement_by_txid():
    entered = entered_receipt(
        txid=TXID, vout=1, amount_btc="0.00975000", confirmations=12, block_time=BLOCK_TIME
    )
    assert entered == Receipt(TXID.lower(), 1, 975_000, 12, None, BLOCK_TIME, False)
    statement = [PoolStatementLine(dt.date(2026, 11, 1), 1_000_000, 25_000, 975_000, TXID.lower())]
    assert (
        reconcile_payouts(
            reported=[ReportedDay(dt.date(2026, 11, 1), 975_000)], statement=statement, receipts=[entered]
        )
        == []
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"txid": "abc"}, ReceiptEntryError),
        ({"vout": -1}, ReceiptEntryError),
        ({"confirmations": 3, "block_time": None}, ReceiptEntryError),
        ({"block_time": dt.datetime(2026, 11, 2, 3, 0)}, ReceiptEntryError),
        ({"amount_btc": "0.000000001"}, AmountError),
        ({"amount_btc": "1e-3"}, AmountError),
    ],
)
def test_a_clerks_receipt_is_refused_when_it_cannot_be_checked(changes, error):
    values = {"txid": TXID, "vout": 0, "amount_btc": "0.1", "confirmations": 3, "block_time": BLOCK_TIME}
    with pytest.raises(error):
        entered_receipt(**{**values, **changes})


class Asked:
    def __init__(self):
        self.calls = []

    def address_receipts(self, address, since=None, until=None):
        self.calls.append((address, since, until))
        return []


def test_observed_receipts_asks_for_the_period_plus_settlement_days_in_utc():
    source = Asked()
    observed_receipts(source, "bc1qpayout", dt.date(2026, 11, 1), dt.date(2026, 11, 7), settlement_days=2)
    assert source.calls == [
        (
            "bc1qpayout",
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 10, tzinfo=dt.UTC),  # until is exclusive: 9 November is included
        )
    ]
