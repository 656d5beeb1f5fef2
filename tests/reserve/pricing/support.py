"""Recorded bodies served through ``httpx.MockTransport``, and a fake clock for Http's backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

RESPONSES = Path(__file__).parent / "responses"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def recorded(name: str) -> bytes:
    return (RESPONSES / name).read_bytes()


class Recorder:
    """A MockTransport handler that answers from a list (the last answer repeats) and keeps each
    request. An answer is an ``httpx.Response``, an exception to raise, or a callable of the request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, Callable) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def body(name: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=recorded(name), headers=headers)


class FakeClock:
    """``sleep`` advances ``monotonic``; every wait is kept."""

    def __init__(self):
        self.t = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += seconds
