"""Querysets compiled once and run again with other values (:mod:`reserve.ledger.prepared`)
give what iterating the same queryset gives, with one statement and no compiling after the first."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from reserve.ledger import prepared
from reserve.ledger.services import Line, Origin, get_account, post_entry
from reserve.models import Account, Lot, Wallet
from tests.support.factories import FORFEITED, WalletFactory


@pytest.fixture
def accounts(asset, wallet, other_wallet):
    third = WalletFactory(code="cold-c", name="Cold C")
    return [get_account(wallet=w, category=FORFEITED, asset=asset) for w in (wallet, other_wallet, third)]


def by_ids(*ids):
    return Account.objects.select_related("asset", "wallet").filter(pk__in=ids).order_by("pk")


def test_instances_match_the_querysets_rows_related_objects_and_annotations(accounts, fund_in):
    fund_in(accounts[0].wallet, accounts[0].asset, 5)
    fund_in(accounts[2].wallet, accounts[2].asset, 7)
    ids = [accounts[0].pk, accounts[2].pk]
    got = prepared.instances(("test: accounts", 2), by_ids, ids)
    expected = list(by_ids(*ids))
    assert [(a.pk, a.balance, a.category) for a in got] == [(a.pk, a.balance, a.category) for a in expected]
    assert [a.balance for a in got] == [5, 7]
    with CaptureQueriesContext(connection) as queries:
        assert [a.asset.symbol for a in got] == ["BTC", "BTC"]
        assert [a.wallet.code for a in got] == [a.wallet.code for a in expected]
    assert len(queries) == 0, "select_related objects come with the row"
    assert got[0]._state.adding is False and got[0]._state.db == "default"


def test_the_second_run_binds_other_values_to_the_same_statement(accounts, fund_in):
    fund_in(accounts[1].wallet, accounts[1].asset, 3)
    first = prepared.instances(("test: one account",), lambda pk: by_ids(pk), [accounts[0].pk])
    with CaptureQueriesContext(connection) as queries:
        second = prepared.instances(("test: one account",), lambda pk: by_ids(pk), [accounts[1].pk])
    assert [a.pk for a in first] == [accounts[0].pk]
    assert [(a.pk, a.balance) for a in second] == [(accounts[1].pk, 3)]
    assert len(queries) == 1
    assert str(accounts[1].pk) in queries[0]["sql"]


def test_rows_of_values_list_with_database_converters(accounts, fund_in):
    fund_in(
        accounts[0].wallet, accounts[0].asset, 10**20
    )  # beyond 64 bits: the amount field's own converter reads it
    got = prepared.rows(
        ("test: balances",),
        lambda pk: Account.objects.filter(pk=pk).values_list("pk", "balance"),
        [accounts[0].pk],
    )
    assert got == [(accounts[0].pk, 10**20)]


def test_a_mark_used_twice(accounts, fund_in):
    """The posting's day facts bind the day to several subqueries: one value, every place."""
    fund_in(accounts[0].wallet, accounts[0].asset, 4)

    def build(pk):
        return Account.objects.filter(Q(pk=pk) | Q(pk__gte=pk, pk__lte=pk)).values_list("balance")

    assert prepared.rows(("test: twice",), build, [accounts[0].pk]) == [(4,)]
    assert prepared.rows(("test: twice",), build, [accounts[1].pk]) == [(0,)]


def test_a_mark_the_orm_would_transform_is_refused(accounts):
    """A text field turns the mark into a string: the compiled statement could not bind it."""
    with pytest.raises(ImproperlyConfigured, match="did not reach the SQL unchanged"):
        prepared.instances(("test: by code",), lambda code: Wallet.objects.filter(code=code), ["cold-a"])


def test_instances_refuses_a_values_list(db):
    with pytest.raises(ImproperlyConfigured):
        prepared.instances(("test: values",), lambda pk: Lot.objects.filter(pk=pk).values_list("pk"), [1])


def test_a_posting_compiles_its_reads_once(accounts, fund_in):
    """After the first posting of a shape, the next ones run the same statements."""
    fund_in(accounts[0].wallet, accounts[0].asset, 100)
    post_entry(reason="test.move", lines=[Line(accounts[0], -1), Line(accounts[1], 1)])
    shapes = len(prepared._compiled)
    post_entry(reason="test.move", lines=[Line(accounts[0], -1), Line(accounts[2], 1)])
    post_entry(
        reason="test.inflow",
        lines=[
            Line(get_account(wallet=None, category="external", asset=accounts[0].asset), -1),
            Line(accounts[2], 1),
        ],
        origin=Origin(kind="test", label="more"),
    )
    assert len(prepared._compiled) == shapes


@pytest.mark.parametrize(
    ("ids", "expected"),
    [([5], [5]), ([1, 2], [1, 2]), ([1, 2, 3], [1, 2, 3, 3]), ([4, 5, 6, 7, 8], [4, 5, 6, 7, 8, 8, 8, 8])],
)
def test_id_lists_are_padded_to_a_power_of_two(ids, expected):
    assert prepared.padded(ids) == expected
