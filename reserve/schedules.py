"""The default schedules of the background work, installed in the database (django-celery-beat)
after migrations. Installed once: an operator's change in the admin (interval, enabled) is kept,
never overwritten at the next start or migration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Default:
    name: str
    task: str
    every: int
    period: str  # "seconds", "minutes", "hours", "days"


DEFAULTS = (
    Default("Verify the ledger", "reserve.tasks.verify_ledger_task", 1, "hours"),
    Default("Expire approval requests", "reserve.tasks.expire_requests_task", 1, "minutes"),
    Default("Purge stored API replies", "reserve.tasks.purge_idempotency_records_task", 1, "hours"),
    Default("Publish the outbox", "reserve.tasks.relay_outbox_task", 30, "seconds"),
    Default("Refresh prices and value the holdings", "reserve.tasks.refresh_valuation_task", 5, "minutes"),
    Default("Fetch the official exchange rates", "reserve.tasks.refresh_official_rates_task", 6, "hours"),
    Default("Reconcile the ledger with the chain", "reserve.tasks.reconcile_task", 1, "hours"),
)


def install_default_schedules(**kwargs) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for default in DEFAULTS:
        if PeriodicTask.objects.filter(name=default.name).exists():
            continue
        interval, _created = IntervalSchedule.objects.get_or_create(
            every=default.every, period=default.period
        )
        PeriodicTask.objects.create(name=default.name, task=default.task, interval=interval)
