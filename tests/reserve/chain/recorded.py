"""Recorded responses served through ``httpx.MockTransport``; nothing leaves the process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx

from reserve.external.http import Limits

RESPONSES = Path(__file__).parent / "responses"
#: One quick retry, no waiting: the tests see the retry without sleeping through it.
FAST = Limits(attempts=2, backoff=0.0, budget=5.0)


def recorded(name: str) -> bytes:
    return (RESPONSES / name).read_bytes()


def with_id(envelope: bytes, request_id: int) -> bytes:
    """A recorded JSON-RPC envelope answering ``request_id`` (its ``"id": 1`` replaced, the
    rest byte for byte)."""
    return re.sub(rb'"id"\s*:\s*1\b', b'"id": %d' % request_id, envelope, count=1)


def envelope(result: bytes, request_id: int) -> bytes:
    """A bare ``bitcoin-cli`` result wrapped as the RPC reply, without re-encoding it."""
    return b'{"result": ' + result + b', "error": null, "id": %d}' % request_id


def rpc_error(code: int, message: str, request_id: int) -> bytes:
    return json.dumps(
        {"result": None, "error": {"code": code, "message": message}, "id": request_id}
    ).encode()


class Recorder:
    """A MockTransport handler that keeps every request it saw."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]):
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def rpc_methods(self) -> list[str]:
        return [json.loads(r.content)["method"] for r in self.requests]


def rpc_body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def raising(exc: type[httpx.TransportError]) -> Recorder:
    def answer(request):
        raise exc("simulated", request=request)

    return Recorder(answer)
