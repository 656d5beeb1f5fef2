"""Ledger invariants over random sequences of postings, transfers and reversals."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reserve.ledger.services import LedgerError, Line, Origin, get_account, post_entry, reverse_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Account, JournalEntry, Lot
from tests.support.factories import WalletFactory, btc

CATEGORIES = ["custody:pending", "reserve:forfeited", "reserve:mined", "restricted"]

units = st.integers(min_value=1, max_value=10**12)
operation = st.one_of(
    st.tuples(st.just("in"), st.integers(0, 7), units),
    st.tuples(st.just("transfer"), st.integers(0, 7), st.integers(0, 7), units),
    st.tuples(st.just("out"), st.integers(0, 7), units),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
)


def _state():
    return (
        JournalEntry.objects.count(),
        sorted(Account.objects.values_list("id", "balance")),
        sorted(Lot.objects.values_list("id", "remaining")),
    )


def _check_invariants(asset):
    report = verify_ledger()
    assert report.ok, report.problems
    held = Account.objects.exclude(category="external")
    assert all(a.balance >= 0 for a in held)
    assert sum(a.balance for a in Account.objects.filter(asset=asset)) == 0


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_invariants_hold_over_random_operations(operations):
    with transaction.atomic():
        asset = btc()
        wallets = [WalletFactory(code="p-a"), WalletFactory(code="p-b")]
        accounts = [get_account(wallet=w, category=c, asset=asset) for w in wallets for c in CATEGORIES]
        external = get_account(wallet=None, category="external", asset=asset)
        entries: list[JournalEntry] = []
        for op in operations:
            before = _state()
            try:
                if op[0] == "in":
                    entries.append(
                        post_entry(
                            reason="test.inflow",
                            lines=[Line(external, -op[2]), Line(accounts[op[1]], op[2])],
                            origin=Origin(kind="test", label=f"origin {len(entries)}"),
                        )
                    )
                elif op[0] == "transfer":
                    entries.append(
                        post_entry(
                            reason="test.move",
                            lines=[Line(accounts[op[1]], -op[3]), Line(accounts[op[2]], op[3])],
                        )
                    )
                elif op[0] == "out":
                    entries.append(
                        post_entry(
                            reason="test.outflow",
                            lines=[Line(accounts[op[1]], -op[2]), Line(external, op[2])],
                        )
                    )
                elif entries:
                    entries.append(reverse_entry(entry=entries[op[1] % len(entries)]))
            except LedgerError:
                assert _state() == before, "a refused operation changed the ledger"
            _check_invariants(asset)
        transaction.set_rollback(True)
