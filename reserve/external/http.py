"""HTTP for the adapters of outside sources (price sources, official rates, chain data).

One place for what every outside call needs: a connect and a read timeout, a bounded number of
tries with backoff inside a bounded time per source (one slow source never holds up the others),
and every failure classified (:class:`Failure`) so that a source's health can say what went
wrong and a 429's ``Retry-After`` is kept. JSON numbers are read as :class:`~decimal.Decimal`:
no float ever carries a price or an amount.

Tests pass an ``httpx.MockTransport`` that answers with recorded responses; nothing here opens a
connection by itself at import.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx


class Failure(enum.StrEnum):
    """Why an outside source gave no usable answer (stored with the source's health)."""

    UNREACHABLE = "unreachable"  # no connection (DNS, refused, reset, TLS)
    TIMEOUT = "timeout"  # connected, but no answer in time
    RATE_LIMITED = "rate_limited"  # 429 (or the provider's own "too many requests")
    MALFORMED = "malformed"  # an answer that is not what the provider documents
    UNKNOWN_ASSET = "unknown_asset"  # the provider does not know the symbol, pair or address
    STALE = "stale"  # an answer older than the configured age
    HTTP_ERROR = "http_error"  # any other non-success status


class SourceError(Exception):
    """A classified failure of one outside call; ``retry_after`` in seconds when the provider
    said how long to wait."""

    def __init__(
        self, failure: Failure, detail: str, *, retry_after: float | None = None, status: int | None = None
    ):
        super().__init__(f"{failure}: {detail}")
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class Limits:
    """How long and how often one source may be tried within one refresh."""

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5  # seconds before the second try; doubled each time
    budget: float = 10.0  # seconds for all tries of one call, waits included

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


DEFAULT_LIMITS = Limits()
#: Statuses worth another try: the provider or the path to it may be back in a moment.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is not trusted)."""
    if not value:
        return None
    try:
        seconds = float(Decimal(value.strip()))
    except ArithmeticError:
        return None
    return seconds if seconds >= 0 else None


class Http:
    """A small client for one provider: ``get_json``/``post_json``/``get_text`` with the limits
    above. ``transport`` is for tests (an ``httpx.MockTransport``); ``sleep`` and ``clock`` let
    tests run the backoff without waiting."""

    def __init__(
        self,
        base_url: str,
        *,
        limits: Limits = DEFAULT_LIMITS,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limits = limits
        self.sleep = sleep
        self.clock = clock
        self.client = httpx.Client(
            base_url=base_url,
            timeout=limits.timeout(),
            headers={"User-Agent": "state-digital-asset-fund/1", **(headers or {})},
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """The response of the first try that is not a transient failure, within the budget."""
        deadline = self.clock() + self.limits.budget
        wait = self.limits.backoff
        last: SourceError | None = None
        for attempt in range(1, self.limits.attempts + 1):
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                last = SourceError(Failure.TIMEOUT, f"{method} {path}: {type(exc).__name__}")
            except httpx.TransportError as exc:
                last = SourceError(Failure.UNREACHABLE, f"{method} {path}: {type(exc).__name__}")
            else:
                if response.status_code == 429:
                    raise SourceError(
                        Failure.RATE_LIMITED,
                        f"{method} {path}: 429",
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                        status=429,
                    )
                if response.status_code in TRANSIENT_STATUSES:
                    last = SourceError(
                        Failure.HTTP_ERROR,
                        f"{method} {path}: {response.status_code}",
                        status=response.status_code,
                    )
                else:
                    return response
            if attempt == self.limits.attempts or self.clock() + wait > deadline:
                break
            self.sleep(wait)
            wait *= 2
        assert last is not None
        raise last

    def get_json(self, path: str, **kwargs) -> tuple[httpx.Response, Any]:
        response = self.request("GET", path, **kwargs)
        return response, decode_json(response)

    def post_json(self, path: str, body: Any, **kwargs) -> tuple[httpx.Response, Any]:
        response = self.request("POST", path, json=body, **kwargs)
        return response, decode_json(response)

    def get_text(self, path: str, **kwargs) -> tuple[httpx.Response, str]:
        response = self.request("GET", path, **kwargs)
        return response, response.text


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON with every number a Decimal (or int); a body that is not JSON is
    malformed whatever its status (error statuses are classified by each adapter)."""
    try:
        return json.loads(response.content, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(
            Failure.MALFORMED, f"not JSON (status {response.status_code}): {exc}", status=response.status_code
        ) from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")
