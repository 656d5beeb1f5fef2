"""Lots do not fragment without bound (issue #16): the units one entry brings into an account
open one lot per (original lot, restriction, origin), however many lots they were taken from."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reserve.ledger.reasons import NO_SALE
from reserve.ledger.selectors import lots_taken_into
from reserve.ledger.services import Line, Origin, get_account, post_entry, reverse_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Lot, LotMovement
from tests.support.factories import FORFEITED, WalletFactory, btc


def transfer(source, destination, units, *, restriction=""):
    return post_entry(
        reason="test.move",
        lines=[Line(source, -units), Line(destination, units, restriction=restriction)],
    )


def open_lots(account):
    return list(Lot.objects.filter(account=account, remaining__gt=0).order_by("id"))


def fragment(source, into, pieces, units=1, **kwargs):
    """Leave ``pieces`` lots of ``units`` each in ``into``, one transfer each."""
    for _ in range(pieces):
        transfer(source, into, units, **kwargs)


@pytest.fixture
def accounts(asset, wallet, other_wallet):
    third = WalletFactory(code="cold-c", name="Cold C")
    return [get_account(wallet=w, category=FORFEITED, asset=asset) for w in (wallet, other_wallet, third)]


def test_a_transfer_of_many_fragments_of_one_lot_opens_one_lot(asset, wallet, fund_in, accounts):
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 1_000, label="Seizure A")
    fragment(seized, fragmented, 40)
    assert len(open_lots(fragmented)) == 40

    entry = transfer(fragmented, destination, 40)

    (arrived,) = open_lots(destination)
    root = Lot.objects.get(root=None)
    assert (arrived.amount, arrived.remaining, arrived.root_id) == (40, 40, root.pk)
    assert (arrived.origin_label, arrived.restriction) == ("Seizure A", "")
    taken = LotMovement.objects.filter(posting__entry=entry).order_by("id")
    assert arrived.parent_id == taken[0].lot_id, "the parent is the lot the first units came from"
    assert {m.lot_id for m in taken} == {lot.pk for lot in Lot.objects.filter(account=fragmented)}
    assert list(lots_taken_into(arrived)) == list(Lot.objects.filter(account=fragmented).order_by("id"))
    assert verify_ledger().ok


def test_fragments_of_two_original_lots_open_two_lots_in_fifo_order(asset, wallet, fund_in, accounts):
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    fund_in(wallet, asset, 100, label="Seizure B")
    for _ in range(3):
        transfer(seized, fragmented, 60)  # 100 of A, then 80 of B, in pieces that straddle both
    transfer(fragmented, destination, 170)

    assert [(lot.origin_label, lot.amount) for lot in open_lots(destination)] == [
        ("Seizure A", 100),
        ("Seizure B", 70),
    ]
    assert verify_ledger().ok


def test_restricted_units_never_share_a_lot_with_unrestricted_ones(asset, wallet, fund_in, accounts):
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    for _ in range(3):
        transfer(seized, fragmented, 5)
        transfer(seized, fragmented, 5, restriction=NO_SALE)
    transfer(fragmented, destination, 30)

    lots = open_lots(destination)
    assert [(lot.restriction, lot.amount) for lot in lots] == [("", 15), (NO_SALE, 15)]
    assert len({lot.root_id for lot in lots}) == 1
    assert verify_ledger().ok


def test_reversing_a_merged_transfer_gives_back_the_units_as_they_were(asset, wallet, fund_in, accounts):
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    fund_in(wallet, asset, 100, label="Seizure B")
    for _ in range(4):
        transfer(seized, fragmented, 10)
        transfer(seized, fragmented, 10, restriction=NO_SALE)
    fragment(seized, fragmented, 3, units=40)  # the rest of A, then 100 of B
    entry = transfer(fragmented, destination, 200)
    assert len(open_lots(destination)) == 3

    reverse_entry(entry=entry)

    assert open_lots(destination) == []
    back = open_lots(fragmented)
    assert [(lot.origin_label, lot.restriction, lot.amount) for lot in back] == [
        ("Seizure A", "", 60),
        ("Seizure A", NO_SALE, 40),
        ("Seizure B", "", 100),
    ]
    assert all(lot.opened_by.entry.reverses == entry for lot in back)
    assert {taken.account_id for lot in back for taken in lots_taken_into(lot)} == {destination.pk}
    assert verify_ledger().ok


def test_reversing_an_outflow_of_many_fragments_gives_them_back_in_one_lot(asset, wallet, fund_in, accounts):
    seized, fragmented, _destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    fragment(seized, fragmented, 12, units=2)
    external = get_account(wallet=None, category="external", asset=asset)
    out = post_entry(reason="test.outflow", lines=[Line(fragmented, -24), Line(external, 24)])

    reverse_entry(entry=out)

    (back,) = open_lots(fragmented)
    assert (back.origin_label, back.amount) == ("Seizure A", 24)
    assert list(lots_taken_into(back)) == list(Lot.objects.filter(account=fragmented, remaining=0))
    assert verify_ledger().ok


def test_each_lot_names_only_the_lots_its_own_units_came_from(asset, wallet, fund_in, accounts):
    """One entry with two inflows of one original lot: each opened lot names the lots that
    filled it, in the order the posting took them, not every lot the entry took."""
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    fragment(seized, fragmented, 4, units=5)  # four lots of 5
    first, second, third, fourth = open_lots(fragmented)
    other = get_account(wallet=WalletFactory(code="cold-d"), category=FORFEITED, asset=asset)

    post_entry(reason="test.move", lines=[Line(fragmented, -20), Line(destination, 12), Line(other, 8)])

    (into_destination,) = open_lots(destination)
    (into_other,) = open_lots(other)
    assert list(lots_taken_into(into_destination)) == [first, second, third]
    assert list(lots_taken_into(into_other)) == [third, fourth], "the third lot was split between them"


@pytest.mark.parametrize(
    ("on_arrival", "expected"),
    [
        ("", [("", ["free"]), (NO_SALE, ["restricted"])]),  # each keeps its own restriction
        (NO_SALE, [(NO_SALE, ["free", "restricted"])]),  # the free units take the line's restriction
    ],
)
def test_a_lot_names_only_the_lots_under_its_restriction(
    asset, wallet, fund_in, accounts, on_arrival, expected
):
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 100, label="Seizure A")
    transfer(seized, fragmented, 5)
    transfer(seized, fragmented, 5, restriction=NO_SALE)
    free, restricted = open_lots(fragmented)
    names = {free.pk: "free", restricted.pk: "restricted"}

    transfer(fragmented, destination, 10, restriction=on_arrival)

    assert [
        (lot.restriction, [names[source.pk] for source in lots_taken_into(lot)])
        for lot in open_lots(destination)
    ] == expected


def _key(lot: Lot) -> tuple:
    return (lot.root_id or lot.pk, lot.restriction, lot.origin_kind, lot.origin_label)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moves=st.lists(
        st.tuples(st.booleans(), st.integers(1, 60), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_random_transfers_between_two_accounts_keep_lots_bounded(moves):
    """Each transfer opens at most one lot per distinct (original lot, restriction, origin) it
    took; so it adds at most one open lot to the pair of accounts (every lot it takes but the
    last is emptied), and however the transfers fragmented the units, moving an account's
    whole holding into an empty account leaves exactly one open lot per distinct key there.

    (Merging happens within an entry: units arriving in separate entries stay in separate
    lots until one entry moves them on, so one account alone may hold one lot per inflow.)"""
    with transaction.atomic():
        asset = btc()
        a, b = (
            get_account(wallet=WalletFactory(code=code), category=FORFEITED, asset=asset) for code in "ab"
        )
        external = get_account(wallet=None, category="external", asset=asset)
        for label in ("Seizure A", "Seizure B", "Seizure C"):
            post_entry(
                reason="test.inflow",
                lines=[Line(external, -50), Line(a, 50)],
                origin=Origin(kind="test", label=label),
            )
        accounts = {True: a, False: b}
        for a_to_b, units, restrict in moves:
            source, destination = accounts[a_to_b], accounts[not a_to_b]
            source.refresh_from_db()
            units = min(units, source.balance)
            if units == 0:
                continue
            open_before = len(open_lots(a)) + len(open_lots(b))
            entry = transfer(source, destination, units, restriction=NO_SALE if restrict else "")
            taken = Lot.objects.filter(movements__posting__entry=entry)
            opened = Lot.objects.filter(opened_by__entry=entry)
            assert opened.count() <= len({_key(lot) for lot in taken})
            # Every lot the entry took fed exactly the opened lots of its key (provenance).
            fed = {lot.pk: {source.pk for source in lots_taken_into(lot)} for lot in opened}
            assert set().union(*fed.values()) == {lot.pk for lot in taken}
            for lot in opened:
                assert {_key(source)[:2] for source in taken if source.pk in fed[lot.pk]} <= {
                    (lot.root_id, lot.restriction),
                    (lot.root_id, ""),
                }
            assert len(open_lots(a)) + len(open_lots(b)) <= open_before + 1

        for source, destination in ((a, b), (b, a)):
            source.refresh_from_db()
            if source.balance:
                transfer(source, destination, source.balance)
        assert open_lots(b) == []
        held = open_lots(a)
        assert len(held) == len({_key(lot) for lot in held})
        assert sum(lot.remaining for lot in held) == 150
        report = verify_ledger()
        assert report.ok, report.problems
        transaction.set_rollback(True)


def test_consuming_reads_about_the_lots_it_takes_in_fifo_order(asset, wallet, fund_in, accounts):
    """FIFO runs in the database a small batch first: a posting that takes one lot of an account
    holding a hundred reads two; one that takes fifty reads 2, 8, then 64 at most."""
    seized, fragmented, destination = accounts
    fund_in(wallet, asset, 1_000, label="Seizure A")
    fragment(seized, fragmented, 100)

    def lot_reads(units):
        with CaptureQueriesContext(connection) as queries:
            transfer(fragmented, destination, units)
        return [
            int(q["sql"].rsplit("LIMIT", 1)[1].split()[0])
            for q in queries.captured_queries
            if q["sql"].startswith('SELECT "reserve_lot"') and "LIMIT" in q["sql"]
        ]

    assert lot_reads(1) == [2]
    assert lot_reads(50) == [2, 8, 64]
    assert [lot.amount for lot in open_lots(destination)] == [1, 50]
    assert len(open_lots(fragmented)) == 49
