"""Test-only hooks for the real-broker tests (tests/reserve/test_broker.py).

The worker subprocess imports this module (``celery worker --include tests.support.broker_tasks``);
what it does there is set by environment variables the test passes to that worker only:

- ``BROKER_TEST_RUN_LOG``: :func:`record_run` appends its key to this file, one line a run;
- ``BROKER_TEST_SLOW_VALUATION``: seconds a valuation sleeps inside its transaction, after the
  snapshot and its lines are written and before it commits (``BROKER_TEST_INSIDE`` is created
  when it gets there), so that the test can kill the worker in the middle;
- ``BROKER_TEST_VISIBILITY_TIMEOUT``: the Redis transport's visibility timeout (seconds) and a
  restore sweep every second, so that a message left unacknowledged by a killed worker is
  delivered again within seconds instead of the default hour.

The test process imports it too, for :func:`record_run`'s name and the view that enqueues work.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task
from django.db import transaction
from django.http import JsonResponse
from django.urls import path

from reserve import outbox
from reserve.celery import app


@shared_task(acks_late=True)
def record_run(key: str) -> str:
    with open(os.environ["BROKER_TEST_RUN_LOG"], "a") as log:
        log.write(key + "\n")
    return key


if os.environ.get("BROKER_TEST_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "visibility_timeout": int(os.environ["BROKER_TEST_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

if os.environ.get("BROKER_TEST_SLOW_VALUATION"):
    from reserve.valuations import services as _valuations

    _record_event = _valuations.record_event

    def _slow_record_event(*args, **kwargs):
        # Called last inside value_holdings' transaction: the snapshot and its lines are written.
        result = _record_event(*args, **kwargs)
        Path(os.environ["BROKER_TEST_INSIDE"]).touch()
        time.sleep(float(os.environ["BROKER_TEST_SLOW_VALUATION"]))
        return result

    _valuations.record_event = _slow_record_event


def enqueue_view(request, key: str):
    """A web request that asks for background work (through the outbox) and answers 202."""
    with transaction.atomic():
        message = outbox.enqueue("tests.support.broker_tasks.record_run", key)
    return JsonResponse({"message": message.pk}, status=202)


urlpatterns = [path("enqueue/<str:key>/", enqueue_view)]
