"""Amounts are exact to the smallest unit on SQLite and PostgreSQL."""

from decimal import Decimal

import pytest
from django.db import connection

from reserve.amounts import AmountError, ExactSum, format_amount, parse_amount
from reserve.ledger.selectors import holdings_as_of
from reserve.ledger.services import Line, get_account, post_entry
from reserve.models import Account, AccountDay, Posting
from tests.support.factories import WalletFactory, eth

BIG_ETH = "123456789.123456789012345678"


class TestParseAmount:
    @pytest.mark.parametrize(
        ("text", "decimals", "units"),
        [
            ("1", 8, 100_000_000),
            ("0.00000001", 8, 1),
            ("21000000.00000000", 8, 2_100_000_000_000_000),
            (BIG_ETH, 18, 123456789123456789012345678),
            ("0.000000000000000001", 18, 1),
            ("1.5", 6, 1_500_000),
            (Decimal("0.1"), 8, 10_000_000),
        ],
    )
    def test_it_parses_plain_decimals_exactly(self, text, decimals, units):
        assert parse_amount(text, decimals) == units

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("0.000000001", "8 decimal places"),
            ("-1", "negative"),
            ("NaN", "finite"),
            ("inf", "finite"),
            ("-Infinity", "negative"),
            ("1e3", "exponent"),
            ("1E-8", "exponent"),
            ("abc", "plain decimal"),
            ("", "plain decimal"),
            (" 1", "plain decimal"),
            ("1,5", "plain decimal"),
            ("+1", "plain decimal"),
            (".5", "plain decimal"),
            ("1.", "plain decimal"),
            ("0", "greater than zero"),
            ("1" * 80, "too large"),
            ("1\n", "plain decimal"),
            ("١", "plain decimal"),
            ("１", "plain decimal"),
        ],
    )
    def test_it_refuses_bad_input_with_a_reason(self, text, reason):
        with pytest.raises(AmountError) as exc:
            parse_amount(text, 8)
        assert reason in str(exc.value)

    @pytest.mark.parametrize("value", [1.5, float("nan"), None, [1]])
    def test_it_refuses_non_strings(self, value):
        with pytest.raises(AmountError):
            parse_amount(value, 8)

    @pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
    def test_it_refuses_non_finite_decimals(self, value):
        with pytest.raises(AmountError):
            parse_amount(value, 8)

    def test_format_round_trips(self):
        for units, decimals in [(1, 8), (123456789123456789012345678, 18), (0, 6), (-150, 2), (7, 0)]:
            text = format_amount(units, decimals)
            assert format_amount(
                parse_amount(text.lstrip("-"), decimals, allow_zero=True), decimals
            ) == text.lstrip("-")


@pytest.fixture
def ether(db):
    return eth()


@pytest.fixture
def eth_wallet(db):
    return WalletFactory(code="eth-cold", network="ethereum")


def test_a_balance_of_123456789_123456789012345678_eth_comes_back_exact(ether, eth_wallet, fund_in):
    units = ether.parse(BIG_ETH)
    account = fund_in(eth_wallet, ether, units)

    assert Account.objects.get(pk=account.pk).balance == units
    assert ether.format(Account.objects.get(pk=account.pk).balance) == BIG_ETH
    assert Account.objects.filter(pk=account.pk).aggregate(s=ExactSum("balance"))["s"] == units
    assert [h.amount for h in holdings_as_of()] == [BIG_ETH]
    assert AccountDay.objects.get(account=account).closing == units


def test_amounts_compare_and_order_correctly_including_negatives(ether, eth_wallet, fund_in):
    fund_in(eth_wallet, ether, 10**30 + 1)
    external = get_account(wallet=None, category="external", asset=ether)
    external.refresh_from_db()
    assert external.balance == -(10**30 + 1)
    assert Account.objects.filter(balance__lt=0).get() == external
    assert Account.objects.filter(balance__gt=10**30).count() == 1
    ordered = list(Account.objects.filter(asset=ether).order_by("balance").values_list("balance", flat=True))
    assert ordered == sorted(ordered)


def test_100000_postings_of_1_wei_sum_exactly(ether, eth_wallet, fund_in):
    """10^5 postings of 1 wei, summed by the database aggregate and kept in the balance."""
    account = fund_in(eth_wallet, ether, 10**70 + 1)
    external = get_account(wallet=None, category="external", asset=ether)
    # One entry with many postings would be slow to build; the sum is what is under test, so
    # bulk-insert 10^5 postings of 1 wei and 10^5 of -1 wei behind one real entry.
    entry = post_entry(reason="test.move", lines=[Line(account, -1), Line(external, 1)])
    rows = []
    for i in range(100_000):
        rows.append(
            Posting(
                entry=entry,
                line=10 + i,
                account=account,
                amount=1,
                balance_after=0,
                effective_at=entry.effective_at,
            )
        )
    Posting.objects.bulk_create(rows, batch_size=5000)
    total = Posting.objects.filter(account=account, amount=1).aggregate(s=ExactSum("amount"))["s"]
    assert total == 100_000
    grand = Posting.objects.filter(account=account).aggregate(s=ExactSum("amount"))["s"]
    assert grand == 10**70 + 1 - 1 + 100_000
    assert isinstance(total, int)


def test_sum_over_no_rows_is_none_not_zero(db):
    assert Posting.objects.aggregate(s=ExactSum("amount"))["s"] is None


def test_storage_is_exact_on_this_database(ether, eth_wallet, fund_in):
    """Read the raw column: no float has touched it."""
    account = fund_in(eth_wallet, ether, 123456789123456789012345678)
    with connection.cursor() as cursor:
        cursor.execute("SELECT balance FROM reserve_account WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    if connection.vendor == "sqlite":
        assert isinstance(raw, str) and raw.endswith("123456789123456789012345678")
    else:
        assert raw == Decimal("123456789123456789012345678")


@pytest.mark.parametrize(
    "raw", ["1" * 5000, Decimal("1E+5000")], ids=["5000-digit string", "Decimal 1E+5000"]
)
def test_very_long_amounts_are_refused_with_an_amount_error(raw):
    with pytest.raises(AmountError):
        parse_amount(raw, 8)
