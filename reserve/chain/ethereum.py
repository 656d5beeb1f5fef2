"""An Ethereum node over JSON-RPC (``{"jsonrpc": "2.0", "id": n, "method": ..., "params": [...]}``).

Methods used: ``eth_getBalance <address> "latest"`` (hex wei → int, exact), ``eth_blockNumber``,
``eth_getTransactionByHash`` (``to`` and ``value`` in wei: the transaction's single output) and
``eth_getTransactionReceipt`` (``status`` and ``blockNumber``; confirmations = tip − block + 1).

What Ethereum has not: UTXOs (an account model) and difficulty (proof of stake since the Merge):
those methods raise ``NotImplementedError``. Nor does a node list an account's incoming
transfers (it keeps no address index): :meth:`address_receipts` raises ``NotSupported``. ``unconfirmed`` is 0 (a pending balance is not asked
for). A reverted transaction (receipt ``status`` 0x0) moved no ether: it has no outputs.
``block_time`` is ``None`` (it would need the block; confirmations are what intake checks).
Token transfers (ERC-20 logs) are not read here.

Not found: a ``null`` result for a transaction hash is ``UNKNOWN_ASSET``; so is a JSON-RPC
``-32602`` (invalid params: a malformed hash or address). ``-32005`` (a provider's request limit)
is ``RATE_LIMITED``; any other error object ``HTTP_ERROR``. An error object sent with HTTP 500
(some providers) is read as the answer it is, without another try.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
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
    confirmations_of,
    int_from_hex,
    malformed,
    need_dict,
)
from reserve.chain.jsonrpc import RpcErrorTransport
from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError, decode_json

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
INVALID_PARAMS = -32602
LIMIT_EXCEEDED = -32005


class EthereumSource:
    code: ClassVar[str] = "ethereum-rpc"
    network = "ethereum"

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        self.http = Http(
            base_url, limits=limits, transport=RpcErrorTransport(transport or httpx.HTTPTransport())
        )
        self._ids = itertools.count(1)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, *params: Any) -> Any:
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        response = self.http.request("POST", "/", json=body)
        reply = decode_json(response) if response.content else None
        if not isinstance(reply, dict) or not ({"result", "error"} & reply.keys()):
            if not response.is_success:
                raise SourceError(
                    Failure.HTTP_ERROR, f"{method}: {response.status_code}", status=response.status_code
                )
            raise malformed(f"{method}: not a JSON-RPC reply")
        if reply.get("error") is not None:
            raise _classify(method, reply["error"])
        if not response.is_success:
            raise SourceError(
                Failure.HTTP_ERROR, f"{method}: {response.status_code}", status=response.status_code
            )
        if reply.get("id") != request_id:
            raise malformed(f"{method}: reply id {reply.get('id')!r}, request id {request_id}")
        if "result" not in reply:
            raise malformed(f"{method}: no result")
        return reply["result"]

    def address_balance(self, address: str) -> AddressBalance:
        wei = int_from_hex(
            self.call("eth_getBalance", _check(address, _ADDRESS, "an address"), "latest"), "balance"
        )
        return AddressBalance(address=address, confirmed=wei, unconfirmed=0)

    def address_utxos(self, address: str) -> list[Utxo]:
        raise NotImplementedError("Ethereum keeps account balances: there are no UTXOs (use address_balance)")

    def address_receipts(
        self, address: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Receipt]:
        raise NotSupported("An Ethereum node keeps no address index: it cannot list what an account received")

    def transaction(self, txid: str) -> Transaction:
        tx = self._transaction(txid)
        receipt = self._receipt(txid)
        block = None if receipt is None else int_from_hex(receipt.get("blockNumber"), "receipt.blockNumber")
        if block is None and tx.get("blockNumber") is not None:
            raise malformed("transaction is in a block but has no receipt")
        succeeded = receipt is None or int_from_hex(receipt.get("status"), "receipt.status") == 1
        to = tx.get("to")
        if to is not None:
            to = _answered(to, _ADDRESS, "to")
        outputs = (TxOutput(index=0, address=to, value=int_from_hex(tx.get("value"), "value")),)
        return Transaction(
            txid=txid,
            outputs=outputs if succeeded else (),
            confirmations=0 if block is None else confirmations_of(block, self.tip().height),
            block_height=block,
            block_time=None,
        )

    def confirmations(self, txid: str) -> int:
        receipt = self._receipt(txid)
        if receipt is None:
            self._transaction(txid)  # unknown (UNKNOWN_ASSET) or pending (0)
            return 0
        return confirmations_of(
            int_from_hex(receipt.get("blockNumber"), "receipt.blockNumber"), self.tip().height
        )

    def tip(self) -> Tip:
        return Tip(height=int_from_hex(self.call("eth_blockNumber"), "eth_blockNumber"), difficulty=None)

    def difficulty(self) -> Decimal:
        raise NotImplementedError("Ethereum has no mining difficulty since the Merge (proof of stake)")

    def block_header(self, height: int) -> BlockHeader:
        raise NotSupported("Ethereum blocks have no proof-of-work header (no bits) since the Merge")

    def _transaction(self, txid: str) -> dict:
        result = self.call("eth_getTransactionByHash", _check(txid, _HASH, "a transaction hash"))
        if result is None:
            raise SourceError(Failure.UNKNOWN_ASSET, f"eth_getTransactionByHash: no transaction {txid}")
        tx = need_dict(result, "eth_getTransactionByHash")
        if str(tx.get("hash", "")).lower() != txid.lower():
            raise malformed(f"eth_getTransactionByHash: asked for {txid}, answered {tx.get('hash')!r}")
        return tx

    def _receipt(self, txid: str) -> dict | None:
        """The receipt, ``None`` while the transaction is pending (or unknown)."""
        result = self.call("eth_getTransactionReceipt", _check(txid, _HASH, "a transaction hash"))
        return None if result is None else need_dict(result, "eth_getTransactionReceipt")


def _check(value: str, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SourceError(Failure.UNKNOWN_ASSET, f"not {what}: {value!r}")
    return value


def _answered(value: Any, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise malformed(f"{what}: {value!r}")
    return value


def _classify(method: str, error: Any) -> SourceError:
    if not isinstance(error, dict):
        return malformed(f"{method}: error is not an object: {error!r}")
    code, message = error.get("code"), str(error.get("message", ""))[:200]
    if code == INVALID_PARAMS:
        return SourceError(Failure.UNKNOWN_ASSET, f"{method}: {code} {message}")
    if code == LIMIT_EXCEEDED:
        return SourceError(Failure.RATE_LIMITED, f"{method}: {code} {message}")
    return SourceError(Failure.HTTP_ERROR, f"{method}: RPC error {code} {message}")
