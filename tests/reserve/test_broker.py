"""A real Celery worker on a real Redis broker runs the reserve tasks against the test database.

Run with ``make test-broker`` (CELERY_BROKER_URL=redis://..., DATABASE_URL=postgres://...).
"""

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from reserve.tasks import ping, verify_ledger_task

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
RESULT_TIMEOUT = 60
STOP_TIMEOUT = 30

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BROKER_URL.startswith("redis://"),
        reason="needs a Redis broker: set CELERY_BROKER_URL=redis://... (make test-broker)",
    ),
]


def worker_database_env() -> dict[str, str]:
    """Point the worker subprocess at the *test* database this test writes to."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        return {"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return {"SQLITE_PATH": str(name)}
    pytest.skip(
        "the worker subprocess cannot see an in-memory SQLite test database; "
        "run with DATABASE_URL=postgres://... (make test-broker)"
    )


@pytest.fixture
def celery_worker():
    """A real ``celery worker`` subprocess (solo pool), stopped with SIGTERM afterwards."""
    env = {
        **os.environ,
        **worker_database_env(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "DJANGO_SETTINGS_MODULE": "reserve.settings",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "reserve", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=info",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"test-broker-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with tempfile.TemporaryFile(mode="w+") as log:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command, cwd=Path(settings.BASE_DIR), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield worker
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            log.seek(0)
            # Shown by pytest only when the test fails.
            print("---- celery worker output ----\n" + log.read())


def test_the_worker_answers_ping(celery_worker):
    result = ping.delay()

    assert result.get(timeout=RESULT_TIMEOUT) == "pong"
    assert celery_worker.poll() is None


def test_the_worker_verifies_the_ledger_of_the_test_database(celery_worker, wallet, asset, fund_in):
    fund_in(wallet, asset, 150_000_000)

    summary = verify_ledger_task.delay().get(timeout=RESULT_TIMEOUT)

    assert summary["ok"] is True
    assert summary["problems"] == []
    # The wallet's account and the external account: the worker read this test's rows.
    assert summary["checked"]["account balance = sum of postings"] == 2
