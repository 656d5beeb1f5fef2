"""Celery tasks of the reserve app: thin wrappers that take ids (or nothing) and call a service."""

import logging

from celery import shared_task

from reserve.ledger.verification import verify_ledger

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
