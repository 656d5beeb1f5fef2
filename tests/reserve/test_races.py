"""Issue #12: races on PostgreSQL — opposing transfers, a contested last unit, deadlocks."""

import random
import threading
import time

import pytest
from django.db import transaction

from reserve.ledger.services import LedgerError, Line, get_account, post_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Account
from reserve.retry import ATTEMPTS, ServiceBusy, retry_on_conflict
from tests.support.concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_1000_opposing_transfers_lose_no_update(asset, wallet, other_wallet, fund_in):
    a = fund_in(wallet, asset, 10_000)
    b = fund_in(other_wallet, asset, 10_000)
    moved = {"a_to_b": 0, "b_to_a": 0}
    lock = threading.Lock()

    def work(index):
        rng = random.Random(index)
        for _ in range(125):
            units = rng.randint(1, 50)
            source, target, key = (a, b, "a_to_b") if index % 2 == 0 else (b, a, "b_to_a")
            try:
                post_entry(reason="test.move", lines=[Line(source, -units), Line(target, units)])
            except LedgerError:
                continue
            with lock:
                moved[key] += units

    assert run_threads(8, work) == []
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.balance == 10_000 - moved["a_to_b"] + moved["b_to_a"]
    assert b.balance == 10_000 + moved["a_to_b"] - moved["b_to_a"]
    assert a.balance + b.balance == 20_000
    report = verify_ledger()
    assert report.ok, report.problems


def test_100_concurrent_spends_of_one_unit_give_exactly_one_success(asset, wallet, fund_in):
    source = fund_in(wallet, asset, 1)
    external = get_account(wallet=None, category="external", asset=asset)
    successes = []

    def work(_index):
        try:
            post_entry(reason="test.outflow", lines=[Line(source, -1), Line(external, 1)])
            successes.append(1)
        except LedgerError:
            pass

    # 100 spends from 10 threads at once (10 each), all released together.
    assert run_threads(10, lambda i: [work(i) for _ in range(10)]) == []
    assert len(successes) == 1
    assert Account.objects.get(pk=source.pk).balance == 0


def test_a_deadlock_is_retried_and_then_succeeds(asset, wallet, other_wallet, fund_in):
    first = fund_in(wallet, asset, 10)
    second = fund_in(other_wallet, asset, 10)
    calls = {"count": 0}
    lock = threading.Lock()

    @retry_on_conflict
    def lock_both(order):
        with lock:
            calls["count"] += 1
        with transaction.atomic():
            Account.objects.select_for_update().get(pk=order[0].pk)
            time.sleep(0.3)
            Account.objects.select_for_update().get(pk=order[1].pk)

    errors = run_threads(2, lambda i: lock_both([first, second] if i == 0 else [second, first]))
    assert errors == []
    assert calls["count"] == 3  # one of the two was chosen as the deadlock victim and ran again


def test_a_lasting_conflict_ends_in_service_busy(asset, wallet, fund_in):
    from django.db import OperationalError

    class FakeDeadlock(Exception):
        sqlstate = "40P01"

    calls = {"count": 0}

    @retry_on_conflict
    def always_deadlocks():
        calls["count"] += 1
        raise OperationalError("deadlock detected") from FakeDeadlock()

    with pytest.raises(ServiceBusy):
        always_deadlocks()
    assert calls["count"] == ATTEMPTS
