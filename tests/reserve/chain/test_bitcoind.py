"""The Bitcoin Core JSON-RPC adapter against recorded node output."""

import base64
import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from reserve.chain.base import AddressBalance, Utxo, paid_to, pays
from reserve.chain.bitcoind import BitcoinCoreSource
from reserve.external.http import Failure, SourceError

from .recorded import FAST, Recorder, envelope, raising, recorded, rpc_body, rpc_error, with_id

TXID = "ef7c0cbf6ba5af68d2ea239bba709b26ff7b0b669839a63bb01c2cb8e8de481e"
BLOCK = "00000000103e0091b7d27e5dc744a305108f0c752be249893c749e19c1c82317"
ADDRESS = "mjSk1Ny9spzU2fouzYgLqGUD8U41iR35QN"
#: Not recorded: the docs example's block header, height illustrative, confirmations as the
#: getrawtransaction example printed them.
HEADER = b'{"hash": "%s", "confirmations": 88192, "height": 223000, "time": 1398734825, "difficulty": 1}' % (
    BLOCK.encode()
)


def results(**by_method: bytes) -> Recorder:
    """Answer each method with a bare result (wrapped in the envelope) or a full reply (bytes
    starting with ``{"result"``), with the request's id."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = rpc_body(request)
        assert body["jsonrpc"] == "1.0"
        reply = by_method.get(body["method"])
        if reply is None:
            return httpx.Response(
                404,
                content=rpc_error(-32601, "Method not found", body["id"]),
                headers={"Content-Type": "application/json"},
            )
        if callable(reply):
            return reply(request, body)
        content = with_id(reply, body["id"]) if b'"result"' in reply[:40] else envelope(reply, body["id"])
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    return Recorder(answer)


def source(recorder: Recorder, **kwargs) -> BitcoinCoreSource:
    kwargs.setdefault("network", "bitcoin-testnet")
    return BitcoinCoreSource("http://node.test:18332", transport=recorder.transport, limits=FAST, **kwargs)


def test_tip_from_getblockchaininfo_keeps_the_difficulty_exact():
    tip = source(
        results(getblockchaininfo=recorded("bitcoin_core_getblockchaininfo_840077_ibd_assumeutxo.json"))
    ).tip()
    assert tip.height == 840077
    assert tip.difficulty == Decimal("86388558925171.02")
    assert str(tip.difficulty) == "86388558925171.02"
    tip = source(results(getblockchaininfo=recorded("bitcoin_core_getblockchaininfo_861970.json"))).tip()
    assert (tip.height, str(tip.difficulty)) == (861970, "92671576265161.06")


def test_getdifficulty_is_the_decimal_as_printed():
    difficulty = source(results(getdifficulty=b"86388558925171.02")).difficulty()
    assert isinstance(difficulty, Decimal)
    assert str(difficulty) == "86388558925171.02"
    assert source(results(getdifficulty=b"1")).difficulty() == Decimal(1)  # the genesis difficulty prints "1"


def test_header_by_hash_840000():
    recorder = results(getblockheader=recorded("bitcoin_core_getblockheader_840000_jsonrpc.json"))
    header = source(recorder, network="bitcoin")._header(
        "0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5"
    )
    assert (header["height"], header["confirmations"], header["time"]) == (840000, 17645, 1713571767)
    assert str(header["difficulty"]) == "86388558925171.02"


def test_transaction_from_getrawtransaction_in_satoshi():
    recorder = results(
        getrawtransaction=recorded("bitcoin_core_getrawtransaction_verbose_testnet_docs_example.json"),
        getblockheader=HEADER,
    )
    tx = source(recorder).transaction(TXID)
    assert [(o.index, o.address, o.value) for o in tx.outputs] == [
        (0, "moQR7i8XM4rSGoNwEsw3h4YEuduuP6mxw7", 39890000),
        (1, ADDRESS, 10000000),
        (2, "mgnucj8nYqdrPFh2JfZSB1NmUThUGnmsqe", 20000000),
    ]
    assert tx.outputs[1].value + tx.outputs[2].value == 30000000  # 0.1 + 0.2 BTC, exactly
    assert tx.total == 69890000
    assert pays(tx, ADDRESS, 10000000) and not pays(tx, ADDRESS, 10000001)
    assert (tx.confirmations, tx.block_height) == (88192, 223000)
    assert tx.block_time == dt.datetime(2014, 4, 29, 1, 27, 5, tzinfo=dt.UTC)
    assert [rpc_body(r)["params"] for r in recorder.requests] == [[TXID, True], [BLOCK]]


def test_modern_address_field_and_an_output_to_no_address():
    result = {
        "txid": TXID,
        "vout": [
            {
                "value": "VALUE",
                "n": 0,
                "scriptPubKey": {"type": "witness_v0_keyhash", "address": "tb1qexample0"},
            },
            {"value": 0, "n": 1, "scriptPubKey": {"type": "nulldata"}},
            {"value": 0, "n": 2, "scriptPubKey": {"type": "multisig", "addresses": ["mA", "mB"]}},
        ],
    }
    text = json.dumps(result).replace('"VALUE"', "0.00000001").encode()
    tx = source(results(getrawtransaction=text)).transaction(TXID)
    assert [(o.address, o.value) for o in tx.outputs] == [("tb1qexample0", 1), (None, 0), (None, 0)]
    assert (tx.confirmations, tx.block_height, tx.block_time) == (0, None, None)  # in the mempool
    assert paid_to(tx, "TB1QEXAMPLE0") == 1


@pytest.mark.parametrize("value", [b"0.000000001", b"-0.1", b'"0.1"', b"1e-9", b"true"])
def test_a_value_that_is_not_whole_satoshi_is_malformed(value):
    body = recorded("bitcoin_core_getrawtransaction_verbose_testnet_docs_example.json").replace(
        b'"value" : 0.10000000', b'"value" : ' + value, 1
    )
    with pytest.raises(SourceError) as caught:
        source(results(getrawtransaction=body, getblockheader=HEADER)).transaction(TXID)
    assert caught.value.failure is Failure.MALFORMED


def test_confirmations_from_getrawtransaction():
    recorder = results(
        getrawtransaction=recorded("bitcoin_core_getrawtransaction_verbose_testnet_docs_example.json")
    )
    assert source(recorder).confirmations(TXID) == 88192


def test_address_balance_and_utxos_by_scantxoutset():
    recorder = results(scantxoutset=recorded("bitcoin_core_scantxoutset_docs_shaped.json"))
    chain = source(recorder)
    assert chain.address_balance(ADDRESS) == AddressBalance(ADDRESS, confirmed=30000000, unconfirmed=0)
    assert chain.address_utxos(ADDRESS) == [
        Utxo(TXID, 1, 10000000, 1999990),
        Utxo("d7c7557e5ca87d439e9ab6eb69a04a9664a0738ff20f6f083c1db2bfd79a8a26", 2, 20000000, 1999995),
    ]
    assert rpc_body(recorder.requests[0])["params"] == ["start", [f"addr({ADDRESS})"]]


def test_scantxoutset_total_off_by_one_satoshi_is_malformed():
    body = recorded("bitcoin_core_scantxoutset_docs_shaped.json").replace(
        b'"total_amount": 0.30000000', b'"total_amount": 0.30000001'
    )
    with pytest.raises(SourceError) as caught:
        source(results(scantxoutset=body)).address_balance(ADDRESS)
    assert caught.value.failure is Failure.MALFORMED


def test_an_address_that_could_change_the_descriptor_is_never_sent():
    recorder = results()
    with pytest.raises(SourceError) as caught:
        source(recorder).address_balance("mjSk1Ny9spzU2fouzYgLqGUD8U41iR35QN),addr(x")
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert recorder.requests == []


def test_unknown_txid_is_unknown_asset_at_once():
    """Core answers an RPC error with HTTP 500: a definite answer, not tried again."""

    def no_such(request, body):
        return httpx.Response(
            500,
            content=rpc_error(
                -5,
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
                body["id"],
            ),
            headers={"Content-Type": "application/json"},
        )

    recorder = results(getrawtransaction=no_such)
    with pytest.raises(SourceError) as caught:
        source(recorder).transaction("00" * 32)
    assert caught.value.failure is Failure.UNKNOWN_ASSET
    assert "No such mempool or blockchain transaction" in caught.value.detail
    assert len(recorder.requests) == 1


def test_other_rpc_errors_are_http_errors():
    def warming_up(request, body):
        return httpx.Response(500, content=rpc_error(-28, "Loading block index...", body["id"]))

    with pytest.raises(SourceError) as caught:
        source(results(getblockchaininfo=warming_up)).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
    assert "-28" in caught.value.detail
    with pytest.raises(SourceError) as caught:
        source(results()).difficulty()  # method not found (404 with an error object)
    assert caught.value.failure is Failure.HTTP_ERROR
    assert "-32601" in caught.value.detail


def test_a_bare_500_is_retried_then_an_http_error():
    recorder = Recorder(lambda request: httpx.Response(500, text="Internal Server Error"))
    with pytest.raises(SourceError) as caught:
        source(recorder).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
    assert len(recorder.requests) == FAST.attempts


def test_basic_auth_and_refused_credentials():
    recorder = Recorder(lambda request: httpx.Response(401))
    with pytest.raises(SourceError) as caught:
        source(recorder, auth=("fund", "secret")).tip()
    assert caught.value.failure is Failure.HTTP_ERROR
    assert caught.value.status == 401
    expected = "Basic " + base64.b64encode(b"fund:secret").decode()
    assert recorder.requests[0].headers["Authorization"] == expected


def test_a_reply_to_another_request_is_malformed():
    def wrong_id(request, body):
        return httpx.Response(200, content=envelope(b"5", body["id"] + 1))

    with pytest.raises(SourceError) as caught:
        source(results(getdifficulty=wrong_id)).difficulty()
    assert caught.value.failure is Failure.MALFORMED


@pytest.mark.parametrize("body", [b"<html>proxy</html>", b'{"jsonrpc": "1.0"}', b"[]"])
def test_malformed_reply(body):
    with pytest.raises(SourceError) as caught:
        source(Recorder(lambda request: httpx.Response(200, content=body))).tip()
    assert caught.value.failure is Failure.MALFORMED


def test_unreachable_timeout_and_rate_limited():
    with pytest.raises(SourceError) as caught:
        source(raising(httpx.ConnectError)).tip()
    assert caught.value.failure is Failure.UNREACHABLE
    with pytest.raises(SourceError) as caught:
        source(raising(httpx.ReadTimeout)).address_balance(ADDRESS)
    assert caught.value.failure is Failure.TIMEOUT
    limited = Recorder(lambda request: httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(SourceError) as caught:
        source(limited).difficulty()
    assert (caught.value.failure, caught.value.retry_after) == (Failure.RATE_LIMITED, 7)
