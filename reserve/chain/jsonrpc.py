"""JSON-RPC over the shared HTTP client: an RPC error is an answer, not a transient failure."""

from __future__ import annotations

import json

import httpx

#: Header set on a 500 that carried a JSON-RPC error object (see :class:`RpcErrorTransport`).
RPC_STATUS_HEADER = "X-Rpc-Http-Status"
_BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


class RpcErrorTransport(httpx.BaseTransport):
    """Passes an HTTP 500 whose body is a JSON-RPC reply with an ``error`` object (Bitcoin Core's
    legacy JSON-RPC answers every RPC error so) on as status 200, the original status kept in
    ``X-Rpc-Http-Status``: the shared client retries 500s as transient, and a "no such
    transaction" will not change on a second try. A 500 without such a body (a proxy, a crash)
    stays a 500 and is retried."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code != 500:
            return response
        content = response.read()
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        # The content is read (and decoded): its length and encoding headers no longer apply.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            headers.append((RPC_STATUS_HEADER, "500"))
            return httpx.Response(200, headers=headers, content=content, request=request)
        return httpx.Response(500, headers=headers, content=content, request=request)

    def close(self) -> None:
        self.inner.close()
