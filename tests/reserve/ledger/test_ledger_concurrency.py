"""Real threads, real connections, PostgreSQL row locks."""

import threading

import pytest

from reserve.ledger.services import LedgerError, Line, get_account, post_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Account
from tests.support.concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_withdrawals_never_overdraw(asset, wallet, fund_in):
    source = fund_in(wallet, asset, 300)
    external = get_account(wallet=None, category="external", asset=asset)
    outcomes = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def withdraw(_index):
        for _ in range(50):
            try:
                post_entry(reason="test.outflow", lines=[Line(source, -1), Line(external, 1)])
                result = "ok"
            except LedgerError:
                result = "refused"
            with lock:
                outcomes[result] += 1

    assert run_threads(8, withdraw) == []

    assert outcomes == {"ok": 300, "refused": 100}
    assert Account.objects.get(pk=source.pk).balance == 0
    report = verify_ledger()
    assert report.ok, report.problems
