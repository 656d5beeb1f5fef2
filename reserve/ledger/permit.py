"""The ledger's permit for entries that need an approval.

Reasons registered with ``requires_approval`` are posted only while an approved request is
executing. The approval engine opens the permit around a request's execution; the ledger only
reads it, so the ledger never imports the engine.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_executing_request: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "executing_request", default=None
)


@contextlib.contextmanager
def approved_request(request_id: int) -> Iterator[None]:
    """Within this block the ledger accepts entries whose source is request ``request_id``."""
    token = _executing_request.set(request_id)
    try:
        yield
    finally:
        _executing_request.reset(token)


def executing_request_id() -> int | None:
    return _executing_request.get()
