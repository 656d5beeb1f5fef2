"""A chain source answering from a recorded Esplora transaction, for the payout tests."""

import json

import httpx

from tests.reserve.chain.recorded import recorded

OBSERVED_TXID = "87f4cf756eef9979f0fb6a03db2ab2e0fd46060cf97714a990623093fe227a87"
OBSERVED_BLOCK = 1444250


def esplora_serving(address: str, *, tip: int) -> httpx.MockTransport:
    """The recorded Esplora ``/tx`` answer (87f4cf75, 100 000 sats in output 0) as the one
    element of the address's history, its output 0 re-addressed to the site's payout address."""
    tx = json.loads(recorded("esplora_testnet_tx_87f4cf75.json"))
    tx["vout"][0]["scriptpubkey_address"] = address

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == "/blocks/tip/height":
            return httpx.Response(200, text=str(tip))
        if path == f"/address/{address}/txs":
            return httpx.Response(200, json=[tx])
        return httpx.Response(404, text="not found")

    return httpx.MockTransport(answer)
