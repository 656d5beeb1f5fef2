"""A Bitcoin Core node over JSON-RPC.

Each call is a POST of ``{"jsonrpc": "1.0", "id": n, "method": ..., "params": [...]}`` (basic
auth when ``auth`` is given, e.g. the ``rpcauth`` user). Methods used:

* ``getblockchaininfo`` (tip: ``blocks`` and ``difficulty``), ``getdifficulty``;
* ``getblockhash <height>`` and ``getblockheader <hash>`` for :meth:`block_header`;
* ``getrawtransaction <txid> true`` (needs ``-txindex`` for a transaction that is neither in the
  mempool nor the wallet's) and ``getblockheader <blockhash>`` for the block height;
* no address history: Core keeps no address index, and a wallet (``listreceivedbyaddress``)
  would have to hold the address first, so :meth:`address_receipts` raises
  :class:`~reserve.chain.base.NotSupported` (use an Esplora source, or a clerk's entries);
* ``scantxoutset start ["addr(<address>)"]`` for an address's balance and UTXOs: Core keeps no
  address index, so it scans the UTXO set (tens of seconds on mainnet; give ``limits`` a long
  read timeout; one scan at a time per node). The UTXO set holds confirmed coins only, so
  ``unconfirmed`` is always 0 from this source.

Amounts: Core prints BTC as JSON numbers with 8 decimals (``0.39890000``); they are read as
Decimal and converted to satoshi exactly (value × 10^8 must be an integer, else MALFORMED).
Difficulty is the Decimal exactly as printed (``86388558925171.02``).

Errors: Core answers an RPC error (legacy JSON-RPC 1.0) with HTTP 500 and an ``error`` object;
that is a definite answer, not a transient failure, so :class:`~reserve.chain.jsonrpc.RpcErrorTransport`
hands it to the adapter instead of letting the shared retry try again. ``-5`` (RPC_INVALID_ADDRESS_OR_KEY: "No
such mempool or blockchain transaction", "Block not found", "Invalid address") is
``UNKNOWN_ASSET``, and so is ``getblockhash``'s ``-8`` (a height above the tip); ``-28`` (warming up) and every other code ``HTTP_ERROR`` with the code and
message; 401 (wrong credentials) ``HTTP_ERROR``.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from reserve.chain.base import (
    AddressBalance,
    BlockHeader,
    NotSupported,
    Receipt,
    Tip,
    Transaction,
    TxOutput,
    Utxo,
    answered_header,
    answered_txid,
    check_address,
    check_height,
    check_network,
    check_txid,
    from_unix,
    malformed,
    need_decimal,
    need_dict,
    need_int,
    need_list,
    need_str,
    units_from_decimal,
)
from reserve.chain.jsonrpc import RpcErrorTransport
from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError, decode_json

BTC_DECIMALS = 8
RPC_INVALID_ADDRESS_OR_KEY = -5
#: ``getblockhash`` above the tip: "Block height out of range".
RPC_INVALID_PARAMETER = -8


class BitcoinCoreSource:
    code: ClassVar[str] = "bitcoind"

    def __init__(
        self,
        base_url: str,
        *,
        network: str = "bitcoin",
        auth: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        if check_network(network) == "ethereum":
            raise ValueError("Bitcoin Core serves Bitcoin networks only")
        self.network = network
        headers = {}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        self.http = Http(
            base_url,
            limits=limits,
            headers=headers,
            transport=RpcErrorTransport(transport or httpx.HTTPTransport()),
        )
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    # --- JSON-RPC ---------------------------------------------------------------------------

    def call(self, method: str, *params: Any) -> Any:
        """The ``result`` of one RPC call, or a classified SourceError."""
        request_id = next(self._ids)
        body = {"jsonrpc": "1.0", "id": request_id, "method": method, "params": list(params)}
        response = self.http.request("POST", "/", json=body)
        if response.status_code == 401:
            raise SourceError(Failure.HTTP_ERROR, f"{method}: 401 (RPC credentials refused)", status=401)
        reply = decode_json(response) if response.content else None
        if not isinstance(reply, dict) or not {"result", "error"} <= reply.keys():
            if not response.is_success:
                raise SourceError(
                    Failure.HTTP_ERROR, f"{method}: {response.status_code}", status=response.status_code
                )
            raise malformed(f"{method}: not a JSON-RPC reply")
        error = reply["error"]
        if error is not None:
            raise _classify(method, error)
        if not response.is_success:
            raise SourceError(
                Failure.HTTP_ERROR, f"{method}: {response.status_code}", status=response.status_code
            )
        if reply.get("id") != request_id:
            raise malformed(f"{method}: reply id {reply.get('id')!r}, request id {request_id}")
        return reply["result"]

    # --- ChainSource ------------------------------------------------------------------------

    def address_balance(self, address: str) -> AddressBalance:
        utxos, total = self._scan(address)
        if sum(u.value for u in utxos) != total:
            raise malformed(f"scantxoutset: total_amount {total} is not the sum of the unspents")
        return AddressBalance(address=address, confirmed=total, unconfirmed=0)

    def address_utxos(self, address: str) -> list[Utxo]:
        return self._scan(address)[0]

    def address_receipts(
        self, address: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Receipt]:
        raise NotSupported(
            "Bitcoin Core keeps no address index: it cannot list what an address received without "
            "a wallet watching it; use an Esplora source or enter the receipts with their txids"
        )

    def _scan(self, address: str) -> tuple[list[Utxo], int]:
        result = need_dict(
            self.call("scantxoutset", "start", [f"addr({check_address(address)})"]), "scantxoutset"
        )
        if result.get("success") is not True:
            raise SourceError(Failure.HTTP_ERROR, "scantxoutset: the scan did not complete")
        utxos = []
        for i, item in enumerate(need_list(result.get("unspents"), "scantxoutset.unspents")):
            item = need_dict(item, f"unspents[{i}]")
            utxos.append(
                Utxo(
                    txid=answered_txid(item.get("txid"), f"unspents[{i}].txid"),
                    vout=need_int(item.get("vout"), f"unspents[{i}].vout"),
                    value=units_from_decimal(item.get("amount"), BTC_DECIMALS, f"unspents[{i}].amount"),
                    height=need_int(item.get("height"), f"unspents[{i}].height"),
                )
            )
        total = units_from_decimal(result.get("total_amount"), BTC_DECIMALS, "scantxoutset.total_amount")
        return utxos, total

    def transaction(self, txid: str) -> Transaction:
        tx = need_dict(self.call("getrawtransaction", check_txid(txid), True), "getrawtransaction")
        if tx.get("txid") != txid:
            raise malformed(f"getrawtransaction: asked for {txid}, answered {tx.get('txid')!r}")
        outputs = []
        for i, vout in enumerate(need_list(tx.get("vout"), "vout")):
            vout = need_dict(vout, f"vout[{i}]")
            outputs.append(
                TxOutput(
                    index=need_int(vout.get("n"), f"vout[{i}].n"),
                    address=_output_address(
                        need_dict(vout.get("scriptPubKey"), f"vout[{i}].scriptPubKey"), i
                    ),
                    value=units_from_decimal(vout.get("value"), BTC_DECIMALS, f"vout[{i}].value"),
                )
            )
        blockhash = tx.get("blockhash")
        if blockhash is None or tx.get("confirmations", 0) == 0:
            return Transaction(txid, tuple(outputs), confirmations=0, block_height=None, block_time=None)
        header = self._header(need_str(blockhash, "blockhash"))
        return Transaction(
            txid=txid,
            outputs=tuple(outputs),
            confirmations=header["confirmations"],
            block_height=header["height"],
            block_time=from_unix(tx.get("blocktime", header["time"]), "blocktime"),
        )

    def confirmations(self, txid: str) -> int:
        tx = need_dict(self.call("getrawtransaction", check_txid(txid), True), "getrawtransaction")
        return need_int(tx.get("confirmations", 0), "confirmations")

    def block_header(self, height: int) -> BlockHeader:
        """``getblockhash <height>`` (``-8`` above the tip: UNKNOWN_ASSET, like Esplora's 404), then
        ``getblockheader <hash>`` (verbose): ``time``, ``bits`` as hex, ``height``, ``difficulty``."""
        block_hash = need_str(self.call("getblockhash", check_height(height)), "getblockhash")
        header = need_dict(self.call("getblockheader", block_hash), "getblockheader")
        if str(header.get("hash", "")).lower() != block_hash.lower():
            raise malformed(f"getblockheader: asked for {block_hash}, answered {header.get('hash')!r}")
        return answered_header(
            height,
            hash_=header.get("hash"),
            header_height=header.get("height"),
            time=header.get("time"),
            bits=header.get("bits"),
            difficulty=need_decimal(header.get("difficulty"), "header.difficulty"),
        )

    def _header(self, blockhash: str) -> dict[str, Any]:
        """``getblockheader``: ``height``, ``confirmations`` (−1 once the block left the best
        chain: MALFORMED here, a reorg is not a confirmation count), ``time`` and ``difficulty``."""
        header = need_dict(self.call("getblockheader", blockhash), "getblockheader")
        return {
            "hash": need_str(header.get("hash"), "header.hash"),
            "height": need_int(header.get("height"), "header.height"),
            "confirmations": need_int(header.get("confirmations"), "header.confirmations"),
            "time": need_int(header.get("time"), "header.time"),
            "difficulty": need_decimal(header.get("difficulty"), "header.difficulty"),
        }

    def tip(self) -> Tip:
        info = need_dict(self.call("getblockchaininfo"), "getblockchaininfo")
        return Tip(
            height=need_int(info.get("blocks"), "blocks"),
            difficulty=need_decimal(info.get("difficulty"), "difficulty"),
        )

    def difficulty(self) -> Decimal:
        return need_decimal(self.call("getdifficulty"), "getdifficulty")


def _output_address(script: dict, i: int) -> str | None:
    """``scriptPubKey.address`` (Core 22+) or the older ``addresses`` when it names exactly one
    address (a bare multisig lists several keys' addresses: it pays none of them alone)."""
    if "address" in script:
        return need_str(script["address"], f"vout[{i}].scriptPubKey.address")
    addresses = script.get("addresses")
    if addresses is None:
        return None
    addresses = need_list(addresses, f"vout[{i}].scriptPubKey.addresses")
    if len(addresses) != 1:
        return None
    return need_str(addresses[0], f"vout[{i}].scriptPubKey.addresses[0]")


def _classify(method: str, error: Any) -> SourceError:
    if not isinstance(error, dict):
        return malformed(f"{method}: error is not an object: {error!r}")
    code, message = error.get("code"), str(error.get("message", ""))[:200]
    if code == RPC_INVALID_ADDRESS_OR_KEY or (method == "getblockhash" and code == RPC_INVALID_PARAMETER):
        return SourceError(Failure.UNKNOWN_ASSET, f"{method}: {code} {message}")
    return SourceError(Failure.HTTP_ERROR, f"{method}: RPC error {code} {message}")
