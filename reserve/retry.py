"""Bounded retry of transactions that lost a race at the database.

PostgreSQL may abort a transaction with a deadlock (40P01), a serialization failure (40001)
or a lock timeout (55P03); SQLite may answer "database is locked". Such a transaction changed
nothing, so the whole service call is run again, at most ``ATTEMPTS`` times, then
:class:`ServiceBusy` is raised (the REST layer answers 503 with Retry-After, never 500).
Only the outermost call retries: inside an enclosing transaction the error propagates to it.
"""

from __future__ import annotations

import functools
import logging
import random
import time

from django.db import OperationalError, connection
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

ATTEMPTS = 3
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class ServiceBusy(Exception):
    """The database stayed contended through every attempt; try again shortly."""

    retry_after_seconds = 1

    def __init__(self, message=None):
        super().__init__(message or _("The ledger is busy; nothing was changed. Try again in a moment."))


def is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def retry_on_conflict(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            return fn(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if not is_retryable(exc):
                    raise
                logger.warning(
                    "%s lost a database race (attempt %d/%d): %s", fn.__qualname__, attempt, ATTEMPTS, exc
                )
                if attempt == ATTEMPTS:
                    raise ServiceBusy() from exc
                time.sleep(0.05 * attempt + random.random() * 0.05)
        raise AssertionError("unreachable")

    return wrapper
