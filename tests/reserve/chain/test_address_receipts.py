"""Receipts at an address over a period, from Esplora's address history (paged), and the sources
that cannot answer it.

No capture of ``/address/{a}/txs`` exists (the shared data holds only a truncated docs example),
so the pages are assembled here: each element of an Esplora history page has exactly the shape of
``GET /tx/{txid}``, so the real recorded ``/tx`` answers (87f4cf75 testnet, b6a53d8a mainnet
unconfirmed) are used as elements as recorded. The coinbase transaction is **written here** in
the documented shape (``vin[0].is_coinbase: true``, ``scriptsig`` the coinbase data); its txid
and values are illustrative, not from the chain.
"""

import datetime as dt
import json

import httpx
import pytest

from reserve.chain.base import NotSupported, Receipt
from reserve.chain.bitcoind import BitcoinCoreSource
from reserve.chain.esplora import CHAIN_PAGE_SIZE, EsploraSource
from reserve.chain.ethereum import EthereumSource
from reserve.external.http import Failure, SourceError

from .recorded import FAST, Recorder, recorded

ADDRESS = "2My1QBzpW7sPdRLeUab7ta1adeKpWferNbs"  # paid 100000 sats by the recorded 87f4cf75
TXID = "87f4cf756eef9979f0fb6a03db2ab2e0fd46060cf97714a990623093fe227a87"
COINBASE_TXID = "c0" * 32
BLOCK = 1444250
BLOCK_TIME = dt.datetime(2018, 11, 20, 16, 31, tzinfo=dt.UTC)
COINBASE_TIME = dt.datetime(2018, 11, 18, 10, 0, tzinfo=dt.UTC)


def real_tx() -> dict:
    return json.loads(recorded("esplora_testnet_tx_87f4cf75.json"))


def coinbase_tx(height: int = BLOCK - 300, block_time: dt.datetime = COINBASE_TIME) -> dict:
    """Written here in Esplora's documented shape: a coinbase paying 312500000 sats to ADDRESS."""
    return {
        "txid": COINBASE_TXID,
        "version": 2,
        "locktime": 0,
        "vin": [
            {
                "txid": "0" * 64,
                "vout": 4294967295,
                "prevout": None,
                "scriptsig": "03b8fe150101",
                "scriptsig_asm": "OP_PUSHBYTES_3 b8fe15 OP_PUSHBYTES_1 01",
                "is_coinbase": True,
                "sequence": 4294967295,
            }
        ],
        "vout": [
            {
                "scriptpubkey": "a9143f33728930e89da323ecc3fed33deece67c5eef987",
                "scriptpubkey_type": "p2sh",
                "scriptpubkey_address": ADDRESS,
                "value": 312500000,
            },
            {"scriptpubkey": "6a24aa21a9ed", "scriptpubkey_type": "op_return", "value": 0},
        ],
        "size": 200,
        "weight": 800,
        "fee": 0,
        "status": {
            "confirmed": True,
            "block_height": height,
            "block_hash": "00" * 32,
            "block_time": int(block_time.timestamp()),
        },
    }


def serve(pages: dict[str, list], tip: int = BLOCK + 99) -> Recorder:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == "/blocks/tip/height":
            return httpx.Response(200, text=str(tip))
        if path in pages:
            return httpx.Response(200, json=pages[path])
        return httpx.Response(400, text="Invalid Bitcoin address")

    return Recorder(answer)


def esplora(recorder: Recorder, *, page_size: int | None = None, monkeypatch=None) -> EsploraSource:
    if page_size is not None:
        monkeypatch.setattr("reserve.chain.esplora.CHAIN_PAGE_SIZE", page_size)
    return EsploraSource(
        "https://esplora.test/api", network="bitcoin-testnet", transport=recorder.transport, limits=FAST
    )


def paths(recorder: Recorder) -> list[str]:
    return [r.url.path.removeprefix("/api") for r in recorder.requests]


def test_the_recorded_payment_is_one_receipt_with_its_confirmations():
    recorder = serve({f"/address/{ADDRESS}/txs": [real_tx()]})
    receipts = esplora(recorder).address_receipts(ADDRESS)
    assert receipts == [Receipt(TXID, 0, 100000, 100, BLOCK, BLOCK_TIME, coinbase=False)]
    assert paths(recorder) == [f"/address/{ADDRESS}/txs", "/blocks/tip/height"]


def test_full_pages_are_followed_by_the_last_seen_txid_and_coinbase_is_flagged(monkeypatch):
    pages = {
        f"/address/{ADDRESS}/txs": [real_tx()],
        f"/address/{ADDRESS}/txs/chain/{TXID}": [coinbase_tx()],
        f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}": [],
    }
    recorder = serve(pages)
    receipts = esplora(recorder, page_size=1, monkeypatch=monkeypatch).address_receipts(ADDRESS)
    assert receipts == [
        Receipt(COINBASE_TXID, 0, 312500000, 400, BLOCK - 300, COINBASE_TIME, coinbase=True),
        Receipt(TXID, 0, 100000, 100, BLOCK, BLOCK_TIME, coinbase=False),
    ]
    assert paths(recorder)[-1] == f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}"


def test_the_period_filters_by_block_time_and_no_page_older_than_since_is_asked(monkeypatch):
    pages = {
        f"/address/{ADDRESS}/txs": [real_tx()],
        f"/address/{ADDRESS}/txs/chain/{TXID}": [coinbase_tx()],
    }
    recorder = serve(pages)
    source = esplora(recorder, page_size=1, monkeypatch=monkeypatch)
    since = dt.datetime(2018, 11, 20, tzinfo=dt.UTC)
    receipts = source.address_receipts(ADDRESS, since=since, until=since + dt.timedelta(days=1))
    assert [r.txid for r in receipts] == [TXID]
    # The second page ended more than a day before `since`: no third page was asked for.
    assert f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}" not in paths(recorder)
    assert source.address_receipts(ADDRESS, since=since, until=BLOCK_TIME) == []


def test_an_unconfirmed_payment_is_a_pending_receipt_and_needs_no_tip():
    mempool_tx = json.loads(recorded("mempool_api_tx_b6a53d8a_unconfirmed.json"))
    address = mempool_tx["vout"][0]["scriptpubkey_address"]
    recorder = serve({f"/address/{address}/txs": [mempool_tx]})
    [receipt] = esplora(recorder).address_receipts(address, since=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert (receipt.units, receipt.confirmations, receipt.block_time, receipt.coinbase) == (
        49040,
        0,
        None,
        False,
    )
    assert paths(recorder) == [f"/address/{address}/txs"]


def test_a_transaction_not_paying_the_address_gives_no_receipt():
    recorder = serve({"/address/2NFxDVK4y8KjMRsurZHZuyjtcMtH6hLVhPi/txs": [coinbase_tx()]})
    assert esplora(recorder).address_receipts("2NFxDVK4y8KjMRsurZHZuyjtcMtH6hLVhPi") == []


def test_an_unknown_address_and_a_malformed_page_are_classified():
    with pytest.raises(SourceError) as caught:
        esplora(serve({})).address_receipts(ADDRESS)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    broken = real_tx()
    del broken["vin"][0]["is_coinbase"]
    with pytest.raises(SourceError) as caught:
        esplora(serve({f"/address/{ADDRESS}/txs": [broken]})).address_receipts(ADDRESS)
    assert caught.value.failure is Failure.MALFORMED


def test_a_server_answering_the_same_page_again_is_malformed(monkeypatch):
    pages = {
        f"/address/{ADDRESS}/txs": [real_tx()],
        f"/address/{ADDRESS}/txs/chain/{TXID}": [real_tx()],
    }
    with pytest.raises(SourceError) as caught:
        esplora(serve(pages), page_size=1, monkeypatch=monkeypatch).address_receipts(ADDRESS)
    assert caught.value.failure is Failure.MALFORMED


def test_esplora_page_size_is_electrs_25():
    assert CHAIN_PAGE_SIZE == 25


def test_bitcoin_core_and_ethereum_cannot_list_address_history_and_say_so_without_a_call():
    def refuse(request):
        raise AssertionError("no call expected")

    transport = httpx.MockTransport(refuse)
    for source in (
        BitcoinCoreSource("http://node.invalid:8332", transport=transport),
        EthereumSource("http://eth.invalid:8545", transport=transport),
    ):
        with pytest.raises(NotSupported, match="no address index"):
            source.address_receipts(ADDRESS)
        assert issubclass(NotSupported, NotImplementedError)


def test_paging_goes_on_past_since_by_a_day_of_slack_for_out_of_order_block_times(monkeypatch):
    late = coinbase_tx(block_time=dt.datetime(2018, 11, 19, 23, 0, tzinfo=dt.UTC))
    pages = {
        f"/address/{ADDRESS}/txs": [real_tx()],
        f"/address/{ADDRESS}/txs/chain/{TXID}": [late],
        f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}": [],
    }
    recorder = serve(pages)
    since = dt.datetime(2018, 11, 20, tzinfo=dt.UTC)
    receipts = esplora(recorder, page_size=1, monkeypatch=monkeypatch).address_receipts(ADDRESS, since=since)
    assert [r.txid for r in receipts] == [TXID]  # the late block is before `since`: not a receipt
    assert paths(recorder)[-1] == f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}"  # but one more page read


def test_a_transaction_listed_on_two_pages_is_one_receipt(monkeypatch):
    pages = {
        f"/address/{ADDRESS}/txs": [real_tx(), coinbase_tx()],
        f"/address/{ADDRESS}/txs/chain/{COINBASE_TXID}": [coinbase_tx()],
    }
    receipts = esplora(serve(pages), page_size=2, monkeypatch=monkeypatch).address_receipts(ADDRESS)
    assert [r.txid for r in receipts] == [COINBASE_TXID, TXID]
