"""An Esplora-compatible HTTP API (blockstream.info, mempool.space, a self-hosted electrs).

Endpoints used: ``/address/{a}`` (balance: ``funded_txo_sum − spent_txo_sum`` of ``chain_stats``
and of ``mempool_stats``), ``/address/{a}/utxo``, ``/tx/{txid}``, ``/tx/{txid}/status`` and
``/blocks/tip/height`` (a plain-text integer). Values are satoshi integers in the answers.

Not found: Esplora answers an unknown or invalid txid/address with 400 or 404 and a short text
body ("Transaction not found", "Invalid Bitcoin address"); both are ``Failure.UNKNOWN_ASSET``
with the body in the detail. Any other non-success status is ``HTTP_ERROR``.

Difficulty is not part of the Esplora API this adapter relies on: :meth:`difficulty` raises
``NotImplementedError`` and :meth:`tip` has ``difficulty=None`` (use Bitcoin Core or the
offline epoch table).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import httpx

from reserve.chain.base import (
    AddressBalance,
    Tip,
    Transaction,
    TxOutput,
    Utxo,
    answered_txid,
    check_address,
    check_network,
    check_txid,
    confirmations_of,
    from_unix,
    malformed,
    need_dict,
    need_int,
    need_list,
    need_str,
)
from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError, decode_json

NOT_FOUND_STATUSES = frozenset({400, 404})


class EsploraSource:
    code: ClassVar[str] = "esplora"

    def __init__(
        self,
        base_url: str,
        *,
        network: str = "bitcoin",
        transport: httpx.BaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ):
        if check_network(network) == "ethereum":
            raise ValueError("Esplora serves Bitcoin networks only")
        self.network = network
        self.http = Http(base_url, limits=limits, transport=transport)

    def close(self) -> None:
        self.http.close()

    # --- HTTP -------------------------------------------------------------------------------

    def _get(self, path: str, *, lookup: bool = True) -> httpx.Response:
        """``lookup``: the path names a transaction or address, so 400/404 means "unknown"
        (elsewhere, e.g. the tip, a 404 is a wrong base URL: HTTP_ERROR)."""
        response = self.http.request("GET", path)
        if lookup and response.status_code in NOT_FOUND_STATUSES:
            raise SourceError(
                Failure.UNKNOWN_ASSET,
                f"GET {path}: {response.status_code} {response.text.strip()[:200]}",
                status=response.status_code,
            )
        if not response.is_success:
            raise SourceError(
                Failure.HTTP_ERROR, f"GET {path}: {response.status_code}", status=response.status_code
            )
        return response

    def _get_json(self, path: str) -> Any:
        return decode_json(self._get(path))

    # --- ChainSource ------------------------------------------------------------------------

    def address_balance(self, address: str) -> AddressBalance:
        body = need_dict(self._get_json(f"/address/{check_address(address)}"), "address")
        chain = need_dict(body.get("chain_stats"), "chain_stats")
        mempool = need_dict(body.get("mempool_stats"), "mempool_stats")
        confirmed = need_int(chain.get("funded_txo_sum"), "chain_stats.funded_txo_sum") - need_int(
            chain.get("spent_txo_sum"), "chain_stats.spent_txo_sum"
        )
        if confirmed < 0:
            raise malformed(f"chain_stats: spent more than funded ({confirmed})")
        unconfirmed = need_int(mempool.get("funded_txo_sum"), "mempool_stats.funded_txo_sum") - need_int(
            mempool.get("spent_txo_sum"), "mempool_stats.spent_txo_sum"
        )
        return AddressBalance(address=address, confirmed=confirmed, unconfirmed=unconfirmed)

    def address_utxos(self, address: str) -> list[Utxo]:
        body = need_list(self._get_json(f"/address/{check_address(address)}/utxo"), "utxo")
        utxos = []
        for i, item in enumerate(body):
            item = need_dict(item, f"utxo[{i}]")
            utxos.append(
                Utxo(
                    txid=answered_txid(item.get("txid"), f"utxo[{i}].txid"),
                    vout=need_int(item.get("vout"), f"utxo[{i}].vout"),
                    value=need_int(item.get("value"), f"utxo[{i}].value"),
                    height=_height(item.get("status"), f"utxo[{i}].status"),
                )
            )
        return utxos

    def transaction(self, txid: str) -> Transaction:
        body = need_dict(self._get_json(f"/tx/{check_txid(txid)}"), "tx")
        if body.get("txid") != txid:
            raise malformed(f"tx: asked for {txid}, answered {body.get('txid')!r}")
        outputs = []
        for i, vout in enumerate(need_list(body.get("vout"), "tx.vout")):
            vout = need_dict(vout, f"vout[{i}]")
            address = vout.get("scriptpubkey_address")
            outputs.append(
                TxOutput(
                    index=i,
                    address=None if address is None else need_str(address, f"vout[{i}].scriptpubkey_address"),
                    value=need_int(vout.get("value"), f"vout[{i}].value"),
                )
            )
        status = need_dict(body.get("status"), "tx.status")
        height = _height(status, "tx.status")
        block_time = None if height is None else from_unix(status.get("block_time"), "tx.status.block_time")
        confirmations = 0 if height is None else confirmations_of(height, self.tip().height)
        return Transaction(
            txid=txid,
            outputs=tuple(outputs),
            confirmations=confirmations,
            block_height=height,
            block_time=block_time,
        )

    def confirmations(self, txid: str) -> int:
        """From ``/tx/{txid}/status`` and the tip: 0 while in the mempool."""
        height = _height(self._get_json(f"/tx/{check_txid(txid)}/status"), "tx status")
        return 0 if height is None else confirmations_of(height, self.tip().height)

    def tip(self) -> Tip:
        text = self._get("/blocks/tip/height", lookup=False).text.strip()
        if not text.isascii() or not text.isdigit():
            raise malformed(f"tip height: expected a plain integer, got {text[:40]!r}")
        return Tip(height=int(text), difficulty=None)

    def difficulty(self) -> Decimal:
        raise NotImplementedError(
            "Esplora: the adapter reads no difficulty from an Esplora API; use Bitcoin Core "
            "(getdifficulty) or the offline epoch table"
        )


def _height(status: Any, what: str) -> int | None:
    """The block height of a ``status`` object; ``None`` when not confirmed."""
    status = need_dict(status, what)
    confirmed = status.get("confirmed")
    if confirmed is False:
        return None
    if confirmed is not True:
        raise malformed(f"{what}.confirmed: expected true or false, got {confirmed!r}")
    return need_int(status.get("block_height"), f"{what}.block_height")
