"""The Esplora adapter against recorded blockstream.info / mempool.space answers."""

import datetime as dt

import httpx
import pytest

from reserve.chain.base import AddressBalance, Utxo, paid_to, pays
from reserve.chain.esplora import EsploraSource
from reserve.external.http import Failure, SourceError

from .recorded import FAST, Recorder, raising, recorded

TXID = "87f4cf756eef9979f0fb6a03db2ab2e0fd46060cf97714a990623093fe227a87"
UNCONFIRMED = "b6a53d8a8025c0c5b194345925a99741b645cae0b1f180f0613273029f2bf698"
PAID = "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs"
CHANGE = "2NFxDVK4y8KjMRsurZHZuyjtcMtH6hLVhPi"
UTXO_ADDRESS = "2NEhVzd2Lom5g7ZF5K1qYrgZLpXecniqHcE"
MAINNET_ADDRESS = "1wiz18xYmhRX6xStj2b9t1rwWX4GKUgpv"
TIP = 1444259  # not recorded: nine blocks above the transaction's block 1444250

ROUTES = {
    f"/tx/{TXID}": ("esplora_testnet_tx_87f4cf75.json", "application/json"),
    f"/tx/{TXID}/status": ("esplora_testnet_tx_87f4cf75_status.json", "application/json"),
    f"/tx/{UNCONFIRMED}": ("mempool_api_tx_b6a53d8a_unconfirmed.json", "application/json"),
    f"/address/{UTXO_ADDRESS}/utxo": ("esplora_testnet_address_2NEhVzd2_utxo.json", "application/json"),
    f"/address/{MAINNET_ADDRESS}": ("mempool_address_1wiz18x_docs_example.json", "application/json"),
}


def serve(tip: bytes = str(TIP).encode(), overrides: dict | None = None) -> Recorder:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if overrides and path in overrides:
            return overrides[path]
        if path == "/blocks/tip/height":
            return httpx.Response(200, content=tip, headers={"Content-Type": "text/plain"})
        if path in ROUTES:
            name, kind = ROUTES[path]
            return httpx.Response(200, content=recorded(name), headers={"Content-Type": kind})
        return httpx.Response(404, text="Transaction not found")

    return Recorder(answer)


def source(recorder: Recorder, network: str = "bitcoin-testnet") -> EsploraSource:
    return EsploraSource(
        "https://esplora.test/api", network=network, transport=recorder.transport, limits=FAST
    )


def test_transaction_87f4cf75_outputs_and_the_address_it_pays():
    recorder = serve()
    tx = source(recorder).transaction(TXID)
    assert tx.txid == TXID
    assert [(o.index, o.address, o.value) for o in tx.outputs] == [(0, PAID, 100000), (1, CHANGE, 899065)]
    assert tx.total == 999065  # 1000000 in, fee 935
    assert pays(tx, PAID, 100000)
    assert not pays(tx, PAID, 100001)
    assert paid_to(tx, CHANGE) == 899065
    assert tx.block_height == 1444250
    assert tx.block_time == dt.datetime(2018, 11, 20, 16, 31, tzinfo=dt.UTC)
    assert tx.confirmations == TIP - 1444250 + 1 == 10
    assert [r.url.path for r in recorder.requests] == [f"/api/tx/{TXID}", "/api/blocks/tip/height"]


def test_unconfirmed_transaction_has_no_block_and_asks_no_tip():
    recorder = serve()
    tx = source(recorder, "bitcoin").transaction(UNCONFIRMED)
    assert (tx.confirmations, tx.block_height, tx.block_time) == (0, None, None)
    assert tx.outputs[0].address == "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj"
    assert tx.outputs[0].value == 49040
    assert len(recorder.requests) == 1


def test_confirmations_from_the_status_endpoint():
    recorder = serve()
    assert source(recorder).confirmations(TXID) == 10
    assert recorder.requests[0].url.path == f"/api/tx/{TXID}/status"


def test_a_tip_below_the_block_is_stale_not_a_count():
    with pytest.raises(SourceError) as caught:
        source(serve(tip=b"1444249")).confirmations(TXID)
    assert caught.value.failure is Failure.STALE


def test_address_utxos():
    utxos = source(serve()).address_utxos(UTXO_ADDRESS)
    assert utxos == [
        Utxo(
            txid="19c6cd6b7b8a91e1a63d759eedd2818877a624771d38e00c3ffcedfdd09afc50",
            vout=0,
            value=100000000,
            height=2131550,
        )
    ]


def test_address_balance_is_funded_minus_spent():
    balance = source(serve(), "bitcoin").address_balance(MAINNET_ADDRESS)
    assert balance == AddressBalance(MAINNET_ADDRESS, confirmed=0, unconfirmed=0)


def test_one_satoshi_of_difference_is_visible():
    body = recorded("mempool_address_1wiz18x_docs_example.json").replace(
        b'"spent_txo_sum": 15007599040', b'"spent_txo_sum": 15007599039', 1
    )
    overrides = {f"/address/{MAINNET_ADDRESS}": httpx.Response(200, content=body)}
    balance = source(serve(overrides=overrides), "bitcoin").address_balance(MAINNET_ADDRESS)
    assert balance.confirmed == 1


def test_mempool_spending_is_a_negative_unconfirmed_change():
    body = (
        b'{"chain_stats": {"funded_txo_sum": 100000, "spent_txo_sum": 0},'
        b' "mempool_stats": {"funded_txo_sum": 0, "spent_txo_sum": 100000}}'
    )
    overrides = {f"/address/{MAINNET_ADDRESS}": httpx.Response(200, content=body)}
    balance = source(serve(overrides=overrides), "bitcoin").address_balance(MAINNET_ADDRESS)
    assert (balance.confirmed, balance.unconfirmed) == (100000, -100000)


def test_tip_is_the_plain_text_height():
    tip = source(serve(tip=recorded("mempool_blocks_tip_height_docs_example.txt")), "bitcoin").tip()
    assert (tip.height, tip.difficulty) == (698767, None)


def test_difficulty_is_not_offered():
    with pytest.raises(NotImplementedError, match="Esplora"):
        source(serve()).difficulty()


@pytest.mark.parametrize(("status", "text"), [(404, "Transaction not found"), (400, "Invalid hex string")])
def test_unknown_txid_is_unknown_asset(status, text):
    missing = "00" * 32
    overrides = {f"/tx/{missing}": httpx.Response(status, text=text)}
    with pytest.raises(SourceError) as caught:
        source(serve(overrides=overrides)).transaction(missing)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert caught.value.status == status
    assert text in caught.value.detail


def test_unknown_address_is_unknown_asset():
    overrides = {
        "/address/2NotAnAddressAtAllButLongEnough": httpx.Response(400, text="Invalid Bitcoin address")
    }
    with pytest.raises(SourceError) as caught:
        source(serve(overrides=overrides)).address_balance("2NotAnAddressAtAllButLongEnough")
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert "Invalid Bitcoin address" in caught.value.detail


@pytest.mark.parametrize("bad", ["../blocks/tip", "87f4cf75", TXID + "/status", ""])
def test_what_is_not_a_txid_is_never_sent(bad):
    recorder = serve()
    with pytest.raises(SourceError) as caught:
        source(recorder).transaction(bad)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_address_with_path_characters_is_never_sent():
    recorder = serve()
    with pytest.raises(SourceError):
        source(recorder).address_utxos("2NEhVzd2Lom5g7ZF5K1qYrgZLpXecniqHcE/../../tx")
    assert recorder.requests == []


def test_unreachable():
    recorder = raising(httpx.ConnectError)
    with pytest.raises(SourceError) as caught:
        source(recorder).tip()
    assert caught.value.failure is Failure.UNREACHABLE
    assert len(recorder.requests) == FAST.attempts


def test_timeout():
    with pytest.raises(SourceError) as caught:
        source(raising(httpx.ReadTimeout)).transaction(TXID)
    assert caught.value.failure is Failure.TIMEOUT


def test_rate_limited_keeps_retry_after():
    recorder = Recorder(
        lambda request: httpx.Response(429, headers={"Retry-After": "30"}, text="Too Many Requests")
    )
    with pytest.raises(SourceError) as caught:
        source(recorder).address_balance(MAINNET_ADDRESS)
    assert caught.value.failure is Failure.RATE_LIMITED
    assert caught.value.retry_after == 30
    assert len(recorder.requests) == 1


def test_server_error_after_retries():
    recorder = Recorder(lambda request: httpx.Response(503, text="upstream down"))
    with pytest.raises(SourceError) as caught:
        source(recorder).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
    assert len(recorder.requests) == FAST.attempts


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>maintenance</body></html>",
        b'{"txid": "87f4", "vout": []}',
        recorded("esplora_testnet_tx_87f4cf75.json").replace(b'"value": 100000\n', b'"value": 100000.0\n'),
        recorded("esplora_testnet_tx_87f4cf75.json").replace(b'"value": 100000\n', b'"value": "100000"\n'),
        recorded("esplora_testnet_tx_87f4cf75.json").replace(b'"confirmed": true', b'"confirmed": 1'),
    ],
)
def test_malformed_transaction(body):
    overrides = {f"/tx/{TXID}": httpx.Response(200, content=body)}
    with pytest.raises(SourceError) as caught:
        source(serve(overrides=overrides)).transaction(TXID)
    assert caught.value.failure is Failure.MALFORMED


@pytest.mark.parametrize("tip", [b"abc", b"-5", b'"698767"', b"698767.0"])
def test_malformed_tip(tip):
    with pytest.raises(SourceError) as caught:
        source(serve(tip=tip)).tip()
    assert caught.value.failure is Failure.MALFORMED


def test_a_404_for_the_tip_is_a_wrong_url_not_an_unknown():
    recorder = Recorder(lambda request: httpx.Response(404, text="Not Found"))
    with pytest.raises(SourceError) as caught:
        source(recorder).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
