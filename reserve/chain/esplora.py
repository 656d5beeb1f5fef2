"""An Esplora-compatible HTTP API (blockstream.info, mempool.space, a self-hosted electrs).

Endpoints used: ``/address/{a}`` (balance: ``funded_txo_sum − spent_txo_sum`` of ``chain_stats``
and of ``mempool_stats``), ``/address/{a}/utxo``, ``/tx/{txid}``, ``/tx/{txid}/status`` and
``/blocks/tip/height`` (a plain-text integer); for a block header ``/block-height/{h}`` (the
hash as plain text) and ``/block/{hash}`` (``bits`` an integer there). Values are satoshi integers in the answers.

Receipts at an address over a period (:meth:`EsploraSource.address_receipts`):
``/address/{a}/txs`` answers the address's mempool transactions (up to 50) and then its newest
confirmed ones (a page of 25), newest first; ``/address/{a}/txs/chain/{last_seen_txid}`` the next
page of confirmed ones after ``last_seen_txid``. Pages are read until one is shorter than a full
page or ends a day before ``since`` (block times are not strictly in height order); no older
page is asked for. Every output paying the address is one
receipt; ``vin[0].is_coinbase`` marks a coinbase (a solo-mined block reward).

Not found: Esplora answers an unknown or invalid txid/address with 400 or 404 and a short text
body ("Transaction not found", "Invalid Bitcoin address"); both are ``Failure.UNKNOWN_ASSET``
with the body in the detail. Any other non-success status is ``HTTP_ERROR``.

Difficulty is not part of the Esplora API this adapter relies on: :meth:`difficulty` raises
``NotImplementedError`` and :meth:`tip` has ``difficulty=None`` (use Bitcoin Core or the
offline epoch table).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from reserve.chain.base import (
    AddressBalance,
    BlockHeader,
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
    confirmations_of,
    from_unix,
    in_period,
    malformed,
    need_decimal,
    need_dict,
    need_int,
    need_list,
    need_str,
    same_address,
)
from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError, decode_json

NOT_FOUND_STATUSES = frozenset({400, 404})
_BLOCK_HASH = re.compile(r"[0-9a-fA-F]{64}")
#: Confirmed transactions per page of ``/address/{a}/txs`` and ``.../txs/chain/{txid}``
#: (electrs' ``CHAIN_TXS_PER_PAGE``; blockstream.info and mempool.space answer 25).
CHAIN_PAGE_SIZE = 25
#: Block times are not in height order (a block may carry an earlier time than its parent's, within
#: the median-time-past rule; in practice by at most a couple of hours): paging stops only when a
#: page's oldest block is this far before ``since``.
BLOCK_TIME_SLACK = dt.timedelta(hours=24)
#: Pages read at most for one call (25 000 transactions): beyond it, ask for a shorter period.
MAX_PAGES = 1000


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

    def address_receipts(
        self, address: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Receipt]:
        """Every output paid to ``address`` by a transaction in a block of ``[since, until)``
        (block time, UTC), plus the unconfirmed ones (pending, 0 confirmations), oldest first."""
        check_address(address)
        path = f"/address/{address}/txs"
        tip_height: int | None = None
        receipts: list[Receipt] = []
        seen_cursors: set[str] = set()
        for _page in range(MAX_PAGES):
            body = need_list(self._get_json(path), "address txs")
            confirmed_on_page = 0
            last_txid = None
            oldest_time = None
            for i, tx in enumerate(body):
                tx = need_dict(tx, f"txs[{i}]")
                txid = answered_txid(tx.get("txid"), f"txs[{i}].txid")
                status = need_dict(tx.get("status"), f"txs[{i}].status")
                height = _height(status, f"txs[{i}].status")
                block_time = None
                if height is not None:
                    confirmed_on_page += 1
                    last_txid = txid
                    block_time = from_unix(status.get("block_time"), f"txs[{i}].status.block_time")
                    oldest_time = block_time
                if not in_period(block_time, since, until):
                    continue
                paid = _outputs_to(tx, address, i)
                if not paid:
                    continue
                if height is not None and tip_height is None:
                    tip_height = self.tip().height
                confirmations = 0 if height is None else confirmations_of(height, tip_height)
                coinbase = _is_coinbase(tx, i)
                receipts.extend(
                    Receipt(txid, vout, value, confirmations, height, block_time, coinbase)
                    for vout, value in paid
                )
            if confirmed_on_page < CHAIN_PAGE_SIZE or (
                since is not None and oldest_time < since - BLOCK_TIME_SLACK
            ):
                break
            if last_txid in seen_cursors:
                raise malformed(f"address txs: the page after {last_txid} was answered again")
            seen_cursors.add(last_txid)
            path = f"/address/{address}/txs/chain/{last_txid}"
        else:
            raise SourceError(
                Failure.HTTP_ERROR, f"address txs: more than {MAX_PAGES} pages; ask for a shorter period"
            )
        # A transaction listed twice (a page boundary crossed while paging) is one receipt.
        unique = {(r.txid, r.vout): r for r in receipts}
        return sorted(
            unique.values(), key=lambda r: (r.block_height is None, r.block_height or 0, r.txid, r.vout)
        )

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

    def block_header(self, height: int) -> BlockHeader:
        """``/block-height/{h}`` (the hash as plain text; 404 "Block not found" above the tip:
        UNKNOWN_ASSET), then ``/block/{hash}`` (``timestamp``, ``bits`` as an integer,
        ``height``; ``difficulty`` only where the server adds it, e.g. mempool.space)."""
        block_hash = self._get(f"/block-height/{check_height(height)}").text.strip()
        if not _BLOCK_HASH.fullmatch(block_hash):
            raise malformed(f"block-height {height}: expected a block hash, got {block_hash[:80]!r}")
        block = need_dict(self._get_json(f"/block/{block_hash}"), "block")
        if str(block.get("id", "")).lower() != block_hash.lower():
            raise malformed(f"block: asked for {block_hash}, answered {block.get('id')!r}")
        difficulty = block.get("difficulty")
        return answered_header(
            height,
            hash_=block.get("id"),
            header_height=block.get("height"),
            time=block.get("timestamp"),
            bits=block.get("bits"),
            difficulty=None if difficulty is None else need_decimal(difficulty, "block.difficulty"),
        )


def _outputs_to(tx: dict, address: str, i: int) -> list[tuple[int, int]]:
    """``(vout, value)`` of each output of ``tx`` paying ``address``."""
    paid = []
    for n, vout in enumerate(need_list(tx.get("vout"), f"txs[{i}].vout")):
        vout = need_dict(vout, f"txs[{i}].vout[{n}]")
        to = vout.get("scriptpubkey_address")
        if to is not None and same_address(need_str(to, f"txs[{i}].vout[{n}].scriptpubkey_address"), address):
            paid.append((n, need_int(vout.get("value"), f"txs[{i}].vout[{n}].value")))
    return paid


def _is_coinbase(tx: dict, i: int) -> bool:
    vin = need_list(tx.get("vin"), f"txs[{i}].vin")
    if not vin:
        raise malformed(f"txs[{i}].vin: a transaction without inputs")
    flag = need_dict(vin[0], f"txs[{i}].vin[0]").get("is_coinbase")
    if not isinstance(flag, bool):
        raise malformed(f"txs[{i}].vin[0].is_coinbase: expected true or false, got {flag!r}")
    return flag


def _height(status: Any, what: str) -> int | None:
    """The block height of a ``status`` object; ``None`` when not confirmed."""
    status = need_dict(status, what)
    confirmed = status.get("confirmed")
    if confirmed is False:
        return None
    if confirmed is not True:
        raise malformed(f"{what}.confirmed: expected true or false, got {confirmed!r}")
    return need_int(status.get("block_height"), f"{what}.block_height")
