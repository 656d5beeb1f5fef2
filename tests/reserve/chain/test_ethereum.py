"""The Ethereum JSON-RPC adapter against docs-shaped replies (no capture exists; see the README)."""

import json

import httpx
import pytest

from reserve.chain.base import AddressBalance, pays
from reserve.chain.ethereum import EthereumSource
from reserve.external.http import Failure, SourceError

from .recorded import FAST, Recorder, raising, recorded, rpc_body, with_id

TXID = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"
TO = "0xf02c1c8e6114b1dbe8937a39260b5b0a374432bb"
ADDRESS = "0xc94770007dda54cF92009BFF0dE90c06F603a09f"
BLOCK = 0x5DAF3B  # 6139707
TIP = b'{"jsonrpc": "2.0", "id": 1, "result": "0x5daf44"}'  # not recorded: nine blocks above

FILES = {
    "eth_getBalance": recorded("ethereum_eth_getBalance_docs_shaped.json"),
    "eth_blockNumber": TIP,
    "eth_getTransactionByHash": recorded("ethereum_eth_getTransactionByHash_docs_shaped.json"),
    "eth_getTransactionReceipt": recorded("ethereum_eth_getTransactionReceipt_docs_shaped.json"),
}


def null(request_id: int) -> bytes:
    return b'{"jsonrpc": "2.0", "id": %d, "result": null}' % request_id


def error(code: int, message: str, request_id: int) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    ).encode()


def serve(**overrides) -> Recorder:
    replies = {**FILES, **overrides}

    def answer(request: httpx.Request) -> httpx.Response:
        body = rpc_body(request)
        assert body["jsonrpc"] == "2.0"
        reply = replies[body["method"]]
        content = reply(body["id"]) if callable(reply) else with_id(reply, body["id"])
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    return Recorder(answer)


def source(recorder: Recorder) -> EthereumSource:
    return EthereumSource("http://eth.test:8545", transport=recorder.transport, limits=FAST)


def test_balance_in_wei_exactly():
    recorder = serve()
    assert source(recorder).address_balance(ADDRESS) == AddressBalance(ADDRESS, 158972490234375000, 0)
    assert rpc_body(recorder.requests[0])["params"] == [ADDRESS, "latest"]


def test_one_wei_of_difference_is_visible():
    body = FILES["eth_getBalance"].replace(b"0x0234c8a3397aab58", b"0x0234c8a3397aab59")
    assert source(serve(eth_getBalance=body)).address_balance(ADDRESS).confirmed == 158972490234375001


def test_balance_beyond_a_float():
    body = b'{"jsonrpc": "2.0", "id": 1, "result": "0x%x"}' % (10**30 + 1)
    assert source(serve(eth_getBalance=body)).address_balance(ADDRESS).confirmed == 10**30 + 1


def test_transaction_has_one_output_to_its_recipient():
    recorder = serve()
    tx = source(recorder).transaction(TXID)
    assert [(o.index, o.address, o.value) for o in tx.outputs] == [(0, TO, 4290000000000000)]
    assert pays(tx, TO.upper().replace("0X", "0x"), 4290000000000000)  # checksum case carries no meaning
    assert not pays(tx, TO, 4290000000000001)
    assert (tx.block_height, tx.confirmations, tx.block_time) == (BLOCK, 10, None)
    assert recorder.rpc_methods() == [
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_blockNumber",
    ]


def test_confirmations():
    assert source(serve()).confirmations(TXID) == 10


def test_pending_transaction():
    pending = FILES["eth_getTransactionByHash"].replace(b'"blockNumber": "0x5daf3b"', b'"blockNumber": null')
    pending = pending.replace(
        b'"blockHash": "0x1d59ff54b1eb26b013ce3cb5fc9dab3705b415a67127a003c3e61eb445bb8df2"',
        b'"blockHash": null',
    )
    assert b'"blockHash": null' in pending and b'"blockNumber": null' in pending
    recorder = serve(eth_getTransactionByHash=pending, eth_getTransactionReceipt=null)
    tx = source(recorder).transaction(TXID)
    assert (tx.confirmations, tx.block_height) == (0, None)
    assert tx.outputs[0].value == 4290000000000000
    assert (
        source(serve(eth_getTransactionByHash=pending, eth_getTransactionReceipt=null)).confirmations(TXID)
        == 0
    )


def test_a_reverted_transaction_moved_nothing():
    failed = FILES["eth_getTransactionReceipt"].replace(b'"status": "0x1"', b'"status": "0x0"')
    tx = source(serve(eth_getTransactionReceipt=failed)).transaction(TXID)
    assert tx.outputs == ()
    assert not pays(tx, TO, 4290000000000000)
    assert tx.confirmations == 10


def test_unknown_transaction_is_unknown_asset():
    recorder = serve(eth_getTransactionByHash=null, eth_getTransactionReceipt=null)
    with pytest.raises(SourceError) as caught:
        source(recorder).transaction(TXID)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    with pytest.raises(SourceError) as caught:
        source(serve(eth_getTransactionByHash=null, eth_getTransactionReceipt=null)).confirmations(TXID)
    assert caught.value.failure is Failure.UNKNOWN_ASSET


def test_invalid_params_is_unknown_asset_and_a_provider_limit_is_rate_limited():
    invalid = lambda i: error(-32602, "invalid argument 0: hex string has length 40, want 64", i)  # noqa: E731
    with pytest.raises(SourceError) as caught:
        source(serve(eth_getBalance=invalid)).address_balance(ADDRESS)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    limited = lambda i: error(-32005, "daily request count exceeded, request rate limited", i)  # noqa: E731
    with pytest.raises(SourceError) as caught:
        source(serve(eth_blockNumber=limited)).tip()
    assert caught.value.failure is Failure.RATE_LIMITED
    other = lambda i: error(-32000, "header not found", i)  # noqa: E731
    with pytest.raises(SourceError) as caught:
        source(serve(eth_blockNumber=other)).tip()
    assert caught.value.failure is Failure.HTTP_ERROR


@pytest.mark.parametrize("bad", ["0x88df", TXID[2:], TXID + "00", "0x" + "g" * 64])
def test_what_is_not_a_hash_is_never_sent(bad):
    recorder = serve()
    with pytest.raises(SourceError) as caught:
        source(recorder).transaction(bad)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_tip_and_what_ethereum_has_not():
    assert (
        source(serve(eth_blockNumber=recorded("ethereum_eth_blockNumber_docs_shaped.json"))).tip().height
        == 1207
    )
    with pytest.raises(NotImplementedError, match="no UTXOs"):
        source(serve()).address_utxos(ADDRESS)
    with pytest.raises(NotImplementedError, match="proof of stake"):
        source(serve()).difficulty()


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "id": 1, "result": 158972490234375000}',
        b'{"jsonrpc": "2.0", "id": 1, "result": "0x"}',
        b'{"jsonrpc": "2.0", "id": 1, "result": "158972490234375000"}',
        b'{"jsonrpc": "2.0", "id": 1, "result": 1.5e17}',
        b'{"jsonrpc": "2.0", "id": 2, "result": "0x1"}',
        b"<html>bad gateway</html>",
    ],
)
def test_malformed_balance(body):
    with pytest.raises(SourceError) as caught:
        source(serve(eth_getBalance=body)).address_balance(ADDRESS)
    assert caught.value.failure is Failure.MALFORMED


def test_a_tip_below_the_block_is_stale():
    old_tip = recorded("ethereum_eth_blockNumber_docs_shaped.json")  # 1207, far below the block
    with pytest.raises(SourceError) as caught:
        source(serve(eth_blockNumber=old_tip)).transaction(TXID)
    assert caught.value.failure is Failure.STALE


def test_unreachable_timeout_and_rate_limited():
    with pytest.raises(SourceError) as caught:
        source(raising(httpx.ConnectError)).tip()
    assert caught.value.failure is Failure.UNREACHABLE
    with pytest.raises(SourceError) as caught:
        source(raising(httpx.ReadTimeout)).transaction(TXID)
    assert caught.value.failure is Failure.TIMEOUT
    limited = Recorder(lambda request: httpx.Response(429, headers={"Retry-After": "12"}))
    with pytest.raises(SourceError) as caught:
        source(limited).address_balance(ADDRESS)
    assert (caught.value.failure, caught.value.retry_after) == (Failure.RATE_LIMITED, 12)


def test_an_error_object_sent_with_500_is_read_once():
    recorder = Recorder(
        lambda request: httpx.Response(
            500, content=error(-32000, "header not found", rpc_body(request)["id"])
        )
    )
    with pytest.raises(SourceError) as caught:
        source(recorder).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
    assert "header not found" in caught.value.detail
    assert len(recorder.requests) == 1
