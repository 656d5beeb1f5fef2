import datetime as dt
from decimal import Decimal

import pytest

from reserve.chain.base import (
    ChainSource,
    Transaction,
    TxOutput,
    confirmations_of,
    int_from_hex,
    paid_to,
    pays,
    same_address,
    units_from_decimal,
)
from reserve.chain.bitcoind import BitcoinCoreSource
from reserve.chain.esplora import EsploraSource
from reserve.chain.ethereum import EthereumSource
from reserve.external.http import Failure, SourceError

TX = Transaction(
    txid="ab" * 32,
    outputs=(TxOutput(0, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs", 100000), TxOutput(1, None, 0)),
    confirmations=3,
    block_height=100,
    block_time=dt.datetime(2018, 11, 20, tzinfo=dt.UTC),
)


def test_every_adapter_is_a_chain_source():
    for source in (
        EsploraSource("https://esplora.invalid", network="bitcoin-testnet"),
        BitcoinCoreSource("http://node.invalid:8332"),
        EthereumSource("http://eth.invalid:8545"),
    ):
        assert isinstance(source, ChainSource)
        assert source.network in {"bitcoin", "bitcoin-testnet", "ethereum"}
        assert source.code


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="unknown network"):
        EsploraSource("https://esplora.invalid", network="dogecoin")
    with pytest.raises(ValueError, match="Bitcoin networks only"):
        BitcoinCoreSource("http://node.invalid", network="ethereum")


def test_confirmations_of():
    assert confirmations_of(None, 840000) == 0
    assert confirmations_of(840000, 840000) == 1
    assert confirmations_of(840000, 840009) == 10
    with pytest.raises(SourceError) as caught:
        confirmations_of(840001, 840000)
    assert caught.value.failure is Failure.STALE


def test_pays_exactly_the_amount_to_the_address():
    assert pays(TX, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs", 100000)
    assert not pays(TX, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs", 100001)  # one satoshi more
    assert not pays(TX, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs", 99999)  # one satoshi less
    assert not pays(TX, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs".lower(), 100000)  # base58: case counts
    assert paid_to(TX, "2NFxDVK4y8KjMRsurZHZuyjtcMtH6hLVhPi") == 0


@pytest.mark.parametrize("amount", [100000.0, Decimal("100000"), True, "100000"])
def test_pays_takes_only_an_int(amount):
    with pytest.raises(TypeError, match="int of smallest units"):
        pays(TX, "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs", amount)


def test_same_address():
    assert same_address(
        "0xF02C1C8E6114B1DBE8937A39260B5B0A374432BB", "0xf02c1c8e6114b1dbe8937a39260b5b0a374432bb"
    )
    assert same_address(
        "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    )
    assert not same_address("mjSk1Ny9spzU2fouzYgLqGUD8U41iR35QN", "mjsk1ny9spzu2fouzyglqgud8u41ir35qn")


def test_units_from_decimal_is_exact():
    assert units_from_decimal(Decimal("0.1"), 8, "v") + units_from_decimal(Decimal("0.2"), 8, "v") == 30000000
    assert units_from_decimal(Decimal("0.30000000"), 8, "v") == 30000000
    assert 0.1 + 0.2 != 0.3  # what a float would have done
    assert units_from_decimal(Decimal("20999999.97690000"), 8, "v") == 2099999997690000
    assert units_from_decimal(Decimal("0.00000001"), 8, "v") == 1
    assert units_from_decimal(Decimal("1.000000000000000001"), 18, "v") == 10**18 + 1
    assert units_from_decimal(50, 8, "v") == 5000000000
    for bad in (Decimal("0.000000001"), Decimal("-0.1"), 0.1, "0.1", True, Decimal("NaN")):
        with pytest.raises(SourceError) as caught:
            units_from_decimal(bad, 8, "v")
        assert caught.value.failure is Failure.MALFORMED


def test_int_from_hex():
    assert int_from_hex("0x0", "q") == 0
    assert int_from_hex("0xde0b6b3a7640001", "q") == 10**18 + 1
    for bad in ("0x", "12", 12, None, "0xzz"):
        with pytest.raises(SourceError) as caught:
            int_from_hex(bad, "q")
        assert caught.value.failure is Failure.MALFORMED
