"""Real threads, real connections, PostgreSQL row locks."""

import threading

import pytest
from django.db import transaction

from reserve.ledger.services import LedgerError, Line, get_account, post_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Account, JournalEntry, JournalSequence
from tests.support.concurrency import run_threads
from tests.support.factories import WalletFactory

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


class _RolledBack(Exception):
    pass


def test_entry_numbers_stay_gapless_with_parallel_posters(asset, fund_in):
    """Four posters on disjoint accounts, one posting in five rolled back after it took its
    number: the year's numbers are still 1, 2, 3, ... with no gap and no duplicate."""
    pairs = []
    for index in range(4):
        wallet = WalletFactory(code=f"parallel-{index}")
        source = fund_in(wallet, asset, 10**6)
        pairs.append((source, get_account(wallet=wallet, category="reserve:mined", asset=asset)))
    funded = JournalEntry.objects.count()

    def post(index):
        source, target = pairs[index]
        for attempt in range(30):
            try:
                with transaction.atomic():
                    post_entry(reason="test.move", lines=[Line(source, -1), Line(target, 1)])
                    if attempt % 5 == 4:
                        raise _RolledBack
            except _RolledBack:
                pass

    assert run_threads(4, post) == []

    assert JournalEntry.objects.count() == funded + 4 * 24
    for sequence in JournalSequence.objects.all():
        numbers = sorted(JournalEntry.objects.filter(year=sequence.year).values_list("sequence", flat=True))
        assert numbers == list(range(1, sequence.last_number + 1)), sequence.year


def test_a_posting_in_its_own_transaction_commits_with_its_last_statement(asset, wallet, fund_in):
    """With no atomic block around it, the posting sends COMMIT with the statement that takes
    its number (the counter is held for the server's commit alone); Django's block still ends
    as usual: on-commit callbacks run, and the connection is back in autocommit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    source = fund_in(wallet, asset, 10)
    target = get_account(wallet=wallet, category="reserve:mined", asset=asset)
    committed = []
    transaction.on_commit(lambda: committed.append("before"))  # autocommit: runs at once

    with CaptureQueriesContext(connection) as queries:
        entry = post_entry(reason="test.move", lines=[Line(source, -3), Line(target, 3)])
    assert queries.captured_queries[-1]["sql"].rstrip().endswith("COMMIT")
    assert connection.get_autocommit() and not connection.in_atomic_block
    seen = run_threads(1, lambda _i: committed.append(JournalEntry.objects.get(pk=entry.pk).number))
    assert seen == [] and committed == ["before", entry.number]

    # Inside a caller's block, nothing commits early: rolling the block back undoes the posting.
    with pytest.raises(_RolledBack), transaction.atomic(), CaptureQueriesContext(connection) as inside:
        inner = post_entry(reason="test.move", lines=[Line(source, -1), Line(target, 1)])
        assert not inside.captured_queries[-1]["sql"].rstrip().endswith("COMMIT")
        raise _RolledBack
    assert not JournalEntry.objects.filter(pk=inner.pk).exists()
    assert Account.objects.get(pk=source.pk).balance == 7
    report = verify_ledger()
    assert report.ok, report.problems
