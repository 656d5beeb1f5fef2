"""A real Celery worker on a real Redis broker runs the reserve tasks against the test database.

Run with ``make test-broker`` (CELERY_BROKER_URL=redis://..., DATABASE_URL=postgres://...). The
test of a Redis outage starts its own ``redis-server`` on a free port and stops it; the shared
Redis is never stopped. Test-only hooks the worker imports: tests/support/broker_tasks.py.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from reserve import outbox
from reserve.celery import app
from reserve.management.commands.load_sample_data import _rate_day
from reserve.models import AuditEvent, OutboxMessage, SnapshotLine, SnapshotPrice, ValuationSnapshot
from reserve.pricing.services import enter_manual_price, enter_official_rate
from reserve.tasks import ping, refresh_valuation_task, verify_ledger_task
from tests.support import broker_tasks
from tests.support.factories import UserFactory

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


class Workers:
    """Real ``celery worker`` subprocesses (solo pool), each in its own session; all stopped
    with SIGTERM when the test ends (a worker the test killed is only reaped)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[tuple[subprocess.Popen, object]] = []

    def start(self, broker_url: str = BROKER_URL, result_backend: str | None = None, **extra_env):
        env = {
            **os.environ,
            **worker_database_env(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": result_backend or settings.CELERY_RESULT_BACKEND,
            "DJANGO_SETTINGS_MODULE": "reserve.settings",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "reserve", "worker",
            "--pool=solo", "--concurrency=1", "--loglevel=info",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--include", "tests.support.broker_tasks",
            "--hostname", f"test-broker-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop_all()
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command,
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append((worker, log))
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no rollback by the worker itself."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=STOP_TIMEOUT)

    def stop_all(self) -> None:
        for worker, log in self.started:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
            log.seek(0)
            # Shown by pytest only when the test fails.
            print(f"---- celery worker {worker.pid} output ----\n" + log.read())
            log.close()


@pytest.fixture
def workers(tmp_path):
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def celery_worker(workers):
    """One real ``celery worker`` subprocess on the broker of this run."""
    return workers.start()


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


def wait_for(predicate, what: str, timeout: float = RESULT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


@pytest.fixture
def priced_holdings(wallet, asset, fund_in):
    """12.5 BTC in a reserve account, a clerk's price of 95,000 USD and a USD/KZT rate of 520 in
    force; returns an instant after the price was entered (it values to 1,187,500.00 USD)."""
    clerk = UserFactory()
    fund_in(wallet, asset, 1_250_000_000)
    enter_manual_price(asset=asset, price="95000.00", actor=clerk, note="Broker test price")
    enter_official_rate(currency="USD", rate="520.00", day=_rate_day(), actor=clerk)
    return timezone.now()


def snapshot_at(instant):
    return ValuationSnapshot.objects.filter(taken_at=instant).first()


def assert_complete(snapshot):
    assert snapshot.unpriced == []
    assert (snapshot.reserve_usd, snapshot.reserve_kzt) == (Decimal("1187500.00"), Decimal("617500000.00"))
    assert snapshot.lines.count() == 1
    assert SnapshotPrice.objects.filter(snapshot=snapshot).count() == 1
    assert AuditEvent.objects.filter(action="reserve.valuation.snapshot").count() == 1


def enqueue_refresh(at) -> OutboxMessage:
    with transaction.atomic():
        message = outbox.enqueue("reserve.tasks.refresh_valuation_task", at=at.isoformat())
    message.refresh_from_db()
    return message


def test_a_refresh_through_the_outbox_makes_one_snapshot_and_asked_twice_still_one(
    celery_worker, priced_holdings
):
    message = enqueue_refresh(priced_holdings)

    assert message.published_at is not None  # published right after the commit
    snapshot = wait_for(lambda: snapshot_at(priced_holdings), "the snapshot")
    # The same instant asked again, through the outbox and straight to the broker.
    assert enqueue_refresh(priced_holdings).published_at is not None
    again = refresh_valuation_task.apply_async(kwargs={"at": priced_holdings.isoformat()})

    assert again.get(timeout=RESULT_TIMEOUT) == snapshot.pk  # after the outbox's (one queue, FIFO)
    assert ValuationSnapshot.objects.count() == 1
    assert_complete(snapshot)


def test_a_worker_killed_in_the_middle_of_a_refresh_leaves_no_partial_snapshot_and_it_completes(
    workers, priced_holdings, tmp_path
):
    inside = tmp_path / "inside"
    slow = workers.start(BROKER_TEST_SLOW_VALUATION="120", BROKER_TEST_INSIDE=str(inside))
    enqueue_refresh(priced_holdings)
    # The snapshot, its prices and lines are written, its transaction not committed yet.
    wait_for(inside.exists, "the valuation to reach the end of its transaction")

    workers.kill(slow)

    assert not ValuationSnapshot.objects.exists()
    assert not SnapshotLine.objects.exists()
    assert not SnapshotPrice.objects.exists()
    assert not AuditEvent.objects.filter(action="reserve.valuation.snapshot").exists()
    # acks_late: the message was never acknowledged, so a new worker gets it again (after the
    # visibility timeout, shortened for this worker from Redis's default hour).
    workers.start(BROKER_TEST_VISIBILITY_TIMEOUT="2")
    snapshot = wait_for(lambda: snapshot_at(priced_holdings), "the refresh to complete on the new worker")
    assert_complete(snapshot)
    assert ValuationSnapshot.objects.count() == 1


class RedisServer:
    """A private ``redis-server`` (no persistence) on a free port, that a test may stop."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(self.answers, f"redis-server on port {self.port}", timeout=10)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: CI must run the Redis outage test")
        pytest.skip("needs redis-server to start a Redis this test may stop")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drop_producer_pool() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def publish_to(monkeypatch):
    """Point this process's publishing (the outbox) at another broker, restored afterwards."""

    def point(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)  # read before app.conf.broker_url
        monkeypatch.setattr(app.conf, "broker_url", url)
        _drop_producer_pool()

    yield point
    monkeypatch.undo()
    _drop_producer_pool()


def test_requests_while_redis_is_down_answer_fast_and_their_work_runs_once_when_it_is_back(
    workers, private_redis, publish_to, tmp_path, client, settings
):
    settings.ROOT_URLCONF = broker_tasks.__name__
    runs = tmp_path / "runs"
    runs.touch()
    workers.start(private_redis.url, private_redis.url, BROKER_TEST_RUN_LOG=str(runs))
    publish_to(private_redis.url)
    ran = lambda: runs.read_text().split()  # noqa: E731
    assert client.post("/enqueue/before/").status_code == 202
    wait_for(lambda: ran() == ["before"], "the worker to run the work asked before the outage")

    private_redis.stop()
    keys = ["during-1", "during-2", "during-3"]
    for key in keys:
        started = time.monotonic()
        response = client.post(f"/enqueue/{key}/")
        elapsed = time.monotonic() - started
        print(f"request {key} with Redis down answered in {elapsed:.2f} s")
        assert response.status_code == 202
        assert elapsed < 5
    waiting = OutboxMessage.objects.filter(published_at__isnull=True)
    assert waiting.count() == 3
    assert {(m.attempts, bool(m.last_error)) for m in waiting} == {(1, True)}

    private_redis.start()
    assert outbox.relay_outbox() == 3  # what beat's "Publish the outbox" does every 30 s
    assert outbox.relay_outbox() == 0  # published once

    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    wait_for(lambda: len(ran()) == 4, "the worker to run the work asked during the outage")
    time.sleep(2)  # a duplicate would show by now
    assert sorted(ran()) == sorted(["before", *keys])
