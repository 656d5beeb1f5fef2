"""A bitcoin Esplora chain source in tests: an ``httpx.MockTransport`` answering one
transaction in Esplora's shape (no network)."""

from __future__ import annotations

import httpx

OTHER_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TXID = "ab" * 32


def esplora(
    settings,
    *,
    pays_to: str,
    value: int,
    height: int | None = 840_000,
    tip: int = 840_005,
    txid: str = TXID,
):
    """An Esplora chain source for bitcoin answering one transaction (``txid``) that pays
    ``value`` to ``pays_to`` and 12,345 sat to another address; the calls it got."""
    settings.CHAIN_SOURCES = {"bitcoin": {"adapter": "esplora", "base_url": "http://127.0.0.1:9/api"}}
    calls = []

    def answer(request):
        calls.append(request.url.path)
        if request.url.path.endswith("/blocks/tip/height"):
            return httpx.Response(200, text=str(tip))
        if request.url.path.endswith(f"/tx/{txid}"):
            status = (
                {"confirmed": False}
                if height is None
                else {"confirmed": True, "block_height": height, "block_time": 1_700_000_000}
            )
            return httpx.Response(
                200,
                json={
                    "txid": txid,
                    "vout": [
                        {"scriptpubkey_address": pays_to, "value": value},
                        {"scriptpubkey_address": OTHER_ADDRESS, "value": 12_345},
                    ],
                    "status": status,
                },
            )
        return httpx.Response(404, text="not found")

    return {"bitcoin": httpx.MockTransport(answer)}, calls
