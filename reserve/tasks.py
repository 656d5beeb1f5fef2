"""Celery tasks of the reserve app: thin wrappers that take ids (or nothing) and call a service."""

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from reserve.ledger.verification import verify_ledger
from reserve.models import ValuationSnapshot

logger = logging.getLogger(__name__)


@shared_task
def verify_ledger_task() -> dict:
    """Check the ledger invariants (scheduled hourly by beat); log every problem found."""
    report = verify_ledger()
    for problem in report.problems:
        logger.error("Ledger verification problem: %s", problem)
    if report.ok:
        logger.info("Ledger verified: %d checks passed.", len(report.checks))
    return {
        "ok": report.ok,
        "checked": {check.name: check.checked for check in report.checks},
        "problems": report.problems,
    }


@shared_task
def ping() -> str:
    """Answer ``"pong"``: proves that a worker consumes from the broker and stores results."""
    return "pong"


@shared_task
def expire_requests_task() -> int:
    """Close approval requests past their expiry (idempotent; scheduled every minute)."""
    from reserve.approvals.services import expire_requests

    return expire_requests()


@shared_task
def purge_idempotency_records_task() -> int:
    """Drop stored API replies past their documented lifetime (24 h)."""
    from reserve.api.idempotency import purge_expired_idempotency_records

    return purge_expired_idempotency_records()


@shared_task(acks_late=True)
def relay_outbox_task() -> int:
    """Publish the outbox messages whose transaction committed (idempotent: a published message
    is not published again)."""
    from reserve.outbox import relay_outbox

    return relay_outbox()


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def refresh_valuation_task(at: str | None = None, trigger: str = "schedule") -> int:
    """Fetch prices and value the holdings at the current slot (or ``at``, ISO): a slot already
    valued is left as it is, so running this twice leaves one snapshot. ``trigger`` is kept on
    the snapshot (``"start"`` for the refresh ``run_embedded`` asks for at start)."""
    from reserve.pricing.services import refresh_quotes
    from reserve.valuations.services import slot, value_holdings

    instant = dt.datetime.fromisoformat(at) if at else slot()
    quotes_until = None
    if at is None and not ValuationSnapshot.objects.filter(taken_at=instant).exists():
        refresh_quotes()  # prices now, for the current slot; a past instant uses the stored quotes
        quotes_until = timezone.now()
    return value_holdings(at=instant, trigger=trigger, quotes_until=quotes_until).pk


@shared_task(acks_late=True)
def refresh_official_rates_task() -> int:
    """Read the official rates (a feed read twice adds nothing)."""
    from reserve.pricing.services import refresh_official_rates

    return refresh_official_rates()


@shared_task(acks_late=True)
def reconcile_task() -> int:
    """Observe the wallets through the configured chain sources, then record every difference
    between the ledger and the latest observations (each once)."""
    from reserve.chain.services import observe_wallets, reconcile

    observe_wallets()
    return len(reconcile())
