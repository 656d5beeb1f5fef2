import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reserve.ledger.selectors import account_balances_as_of, holdings_as_of, lots_for
from reserve.ledger.services import (
    LedgerError,
    Line,
    Origin,
    get_account,
    post_entry,
    reverse_entry,
)
from reserve.ledger.verification import verify_ledger
from reserve.models import (
    Account,
    AuditEvent,
    ImmutableRowError,
    JournalEntry,
    Lot,
    Period,
    Posting,
)
from tests.support.factories import WalletFactory, eth

ALMATY = dt.timezone(dt.timedelta(hours=5))


def transfer(source, destination, units, **kwargs):
    return post_entry(reason="test.move", lines=[Line(source, -units), Line(destination, units)], **kwargs)


@pytest.fixture
def funded_10000_sats(asset, wallet, fund_in):
    return fund_in(wallet, asset, 10_000, label="Court order 2-15/2026, case 0417")


def test_an_entry_is_numbered_gaplessly_per_year(funded_10000_sats, other_wallet, asset):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    numbers = [transfer(funded_10000_sats, target, 1).number for _ in range(3)]
    year = timezone.localdate().year
    assert numbers == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]
    assert JournalEntry.objects.get(reverses__isnull=True, year=2025).number == "2025-000001"


def test_it_refuses_an_unbalanced_entry(funded_10000_sats, other_wallet, asset):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    with pytest.raises(LedgerError, match="does not balance"):
        post_entry(reason="test.move", lines=[Line(funded_10000_sats, -5), Line(target, 4)])
    assert JournalEntry.objects.count() == 1


def test_it_refuses_an_unknown_reason_zero_and_single_lines(funded_10000_sats, other_wallet, asset):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    with pytest.raises(LedgerError, match="Unknown posting reason"):
        post_entry(reason="made.up", lines=[Line(funded_10000_sats, -1), Line(target, 1)])
    with pytest.raises(LedgerError, match="zero"):
        post_entry(reason="test.move", lines=[Line(funded_10000_sats, 0), Line(target, 0)])
    with pytest.raises(LedgerError, match="two postings"):
        post_entry(reason="test.move", lines=[Line(funded_10000_sats, 0)])


def test_it_refuses_an_overdraft_and_writes_nothing(funded_10000_sats, other_wallet, asset):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    with pytest.raises(LedgerError, match="Insufficient balance"):
        transfer(funded_10000_sats, target, 10_001)
    funded_10000_sats.refresh_from_db()
    assert funded_10000_sats.balance == 10_000
    assert JournalEntry.objects.count() == 1
    assert verify_ledger().ok


def test_the_database_refuses_a_negative_held_balance(funded_10000_sats):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=funded_10000_sats.pk).update(balance=-1)


def test_it_refuses_mixing_assets_and_networks(funded_10000_sats, db):
    ether = eth()
    eth_wallet = WalletFactory(network="ethereum")
    with pytest.raises(LedgerError, match="is on"):
        get_account(wallet=funded_10000_sats.wallet, category="reserve:forfeited", asset=ether)
    eth_account = get_account(wallet=eth_wallet, category="reserve:forfeited", asset=ether)
    with pytest.raises(LedgerError, match="does not balance"):
        post_entry(reason="test.move", lines=[Line(funded_10000_sats, -1), Line(eth_account, 1)])


def test_an_inflow_needs_an_origin(asset, wallet):
    account = get_account(wallet=wallet, category="custody:pending", asset=asset)
    external = get_account(wallet=None, category="external", asset=asset)
    with pytest.raises(LedgerError, match="name their origin"):
        post_entry(reason="test.inflow", lines=[Line(external, -5), Line(account, 5)])
    with pytest.raises(LedgerError, match="name their origin"):
        post_entry(
            reason="test.move",
            lines=[Line(external, -5), Line(account, 5)],
            origin=Origin(kind="x", label="a transfer reason cannot open lots"),
        )


def test_reversal_restores_balances_and_lots(funded_10000_sats, other_wallet, asset, wallet):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    entry = transfer(funded_10000_sats, target, 600)
    reversal = reverse_entry(entry=entry, memo="Wrong destination")

    funded_10000_sats.refresh_from_db()
    target.refresh_from_db()
    assert (funded_10000_sats.balance, target.balance) == (10_000, 0)
    assert reversal.reverses == entry
    assert entry.reversed_by == reversal
    assert [v.origin_label for v in lots_for(wallet, asset)] == ["Court order 2-15/2026, case 0417"] * 2
    assert sum(v.remaining for v in lots_for(wallet, asset)) == 10_000
    assert verify_ledger().ok


def test_an_entry_is_reversed_at_most_once(funded_10000_sats, other_wallet, asset):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    entry = transfer(funded_10000_sats, target, 5)
    reversal = reverse_entry(entry=entry)
    with pytest.raises(LedgerError, match="already been reversed"):
        reverse_entry(entry=entry)
    with pytest.raises(LedgerError, match="itself a reversal"):
        reverse_entry(entry=reversal)


def test_reversing_an_outflow_gives_back_the_original_provenance(funded_10000_sats, asset, wallet):
    external = get_account(wallet=None, category="external", asset=asset)
    out = post_entry(reason="test.move", lines=[Line(funded_10000_sats, -300), Line(external, 300)])
    reverse_entry(entry=out)
    views = lots_for(wallet, asset)
    assert sum(v.remaining for v in views) == 10_000
    assert {v.origin_label for v in views} == {"Court order 2-15/2026, case 0417"}
    assert verify_ledger().ok


class TestImmutability:
    def test_the_model_refuses_saving_a_posted_entry(self, funded_10000_sats):
        entry = JournalEntry.objects.get()
        entry.memo = "edited"
        with pytest.raises(ImmutableRowError):
            entry.save()
        with pytest.raises(ImmutableRowError):
            entry.delete()

    def test_querysets_refuse_update_and_delete(self, funded_10000_sats):
        with pytest.raises(ImmutableRowError):
            JournalEntry.objects.update(memo="edited")
        with pytest.raises(ImmutableRowError):
            Posting.objects.all().delete()
        with pytest.raises(ImmutableRowError):
            Posting.objects.filter(amount__gt=0).update(amount=1)

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE reserve_posting SET amount = amount",
            "DELETE FROM reserve_posting",
            "UPDATE reserve_journalentry SET memo = 'edited'",
            "DELETE FROM reserve_journalentry",
            "UPDATE reserve_auditevent SET action = 'x'",
            "DELETE FROM reserve_lotmovement",
        ],
    )
    def test_the_database_refuses_raw_sql(self, funded_10000_sats, other_wallet, asset, sql):
        transfer(
            funded_10000_sats, get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset), 1
        )
        with pytest.raises(Exception, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
        assert Posting.objects.count() == 4


class TestLots:
    def test_outflows_consume_lots_first_in_first_out(self, asset, wallet, other_wallet, fund_in):
        source = fund_in(wallet, asset, 100, label="Seizure A")
        fund_in(wallet, asset, 50, label="Seizure B")
        target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        transfer(source, target, 120)

        assert [(v.origin_label, v.remaining) for v in lots_for(wallet, asset)] == [("Seizure B", 30)]
        assert [(v.origin_label, v.remaining) for v in lots_for(other_wallet, asset)] == [
            ("Seizure A", 100),
            ("Seizure B", 20),
        ]

    def test_provenance_survives_several_hops(self, asset, wallet, other_wallet, fund_in):
        source = fund_in(wallet, asset, 100, label="Seizure A")
        third = WalletFactory(code="hot-c")
        middle = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        last = get_account(wallet=third, category="reserve:forfeited", asset=asset)
        transfer(source, middle, 70)
        transfer(middle, last, 70)
        (view,) = lots_for(third, asset)
        assert view.origin_label == "Seizure A"
        assert view.root_lot_id == Lot.objects.get(parent__isnull=True).pk

    def test_a_restriction_stays_for_life(self, asset, wallet, other_wallet, fund_in):
        restricted = fund_in(wallet, asset, 10, category="restricted")
        Lot.objects.filter(account=restricted).update(restriction="no_sale")
        target = get_account(wallet=other_wallet, category="restricted", asset=asset)
        transfer(restricted, target, 10)
        assert [v.restriction for v in lots_for(other_wallet, asset)] == ["no_sale"]


class TestPeriodsAndDates:
    def test_a_closed_period_refuses_entries_dated_in_it(self, funded_10000_sats, other_wallet, asset):
        target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        Period.objects.create(year=2026, month=1, closed_at=timezone.now())
        with pytest.raises(LedgerError, match="closed"):
            transfer(
                funded_10000_sats, target, 1, effective_at=dt.datetime(2026, 1, 31, 23, 0, tzinfo=ALMATY)
            )
        transfer(funded_10000_sats, target, 1, effective_at=dt.datetime(2026, 2, 1, 0, 0, tzinfo=ALMATY))

    def test_the_period_is_the_almaty_month(self, funded_10000_sats, other_wallet, asset):
        target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        Period.objects.create(year=2026, month=2, closed_at=timezone.now())
        # 2026-01-31 20:30 UTC is already 2026-02-01 01:30 in Almaty (UTC+5).
        with pytest.raises(LedgerError, match="2026-02 is closed"):
            transfer(
                funded_10000_sats, target, 1, effective_at=dt.datetime(2026, 1, 31, 20, 30, tzinfo=dt.UTC)
            )

    def test_it_refuses_future_and_naive_dates(self, funded_10000_sats, other_wallet, asset):
        target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
        with pytest.raises(LedgerError, match="future"):
            transfer(funded_10000_sats, target, 1, effective_at=timezone.now() + dt.timedelta(days=1))
        with pytest.raises(LedgerError, match="time zone"):
            transfer(funded_10000_sats, target, 1, effective_at=dt.datetime(2026, 1, 1))

    def test_almaty_is_utc_plus_5_since_march_2024(self):
        from zoneinfo import ZoneInfo

        almaty = ZoneInfo("Asia/Almaty")
        assert dt.datetime(2025, 6, 1, tzinfo=almaty).utcoffset() == dt.timedelta(hours=5)
        assert dt.datetime(2023, 6, 1, tzinfo=almaty).utcoffset() == dt.timedelta(hours=6)


class TestHoldingsAsOf:
    def test_holdings_as_of_a_past_date_leave_out_later_entries(self, asset, wallet, other_wallet):
        external = get_account(wallet=None, category="external", asset=asset)
        account = get_account(wallet=wallet, category="custody:pending", asset=asset)

        def bring(units, when):
            post_entry(
                reason="test.inflow",
                lines=[Line(external, -units), Line(account, units)],
                origin=Origin(kind="test", label="test"),
                effective_at=when,
            )

        bring(100, dt.datetime(2026, 3, 1, 10, 0, tzinfo=ALMATY))
        bring(20, dt.datetime(2026, 3, 5, 10, 0, tzinfo=ALMATY))
        bring(3, dt.datetime(2026, 3, 5, 18, 0, tzinfo=ALMATY))
        # A backdated entry moves the closing balances of every later day.
        bring(1000, dt.datetime(2026, 2, 1, 9, 0, tzinfo=ALMATY))

        def units(as_of):
            return [h.units for h in holdings_as_of(as_of)]

        assert units(dt.date(2026, 1, 31)) == []
        assert units(dt.date(2026, 2, 28)) == [1000]
        assert units(dt.date(2026, 3, 4)) == [1100]
        assert units(dt.datetime(2026, 3, 5, 12, 0, tzinfo=ALMATY)) == [1120]
        assert units(dt.date(2026, 3, 5)) == [1123]
        assert units(None) == [1123]
        assert verify_ledger().ok

    def test_holdings_as_of_use_one_query(self, asset, wallet, fund_in, django_assert_num_queries):
        fund_in(wallet, asset, 10)
        for i in range(5):
            fund_in(WalletFactory(code=f"w{i}"), asset, 10, category="custody:pending")
        with django_assert_num_queries(1):
            account_balances_as_of(dt.date.today())


def test_every_posting_is_in_the_audit_journal(funded_10000_sats, clerk):
    event = AuditEvent.objects.get(action="reserve.entry.posted")
    entry = JournalEntry.objects.get()
    assert event.subject == entry
    assert event.subject_repr == event.data["number"] == entry.number
    assert event.data["postings"][1]["amount"] == "0.00010000"


def test_a_transfer_is_posted_in_a_fixed_number_of_statements(funded_10000_sats, other_wallet, asset):
    """One statement a kind of row (issue #16), and on PostgreSQL the writes whose results are not
    read go in one round trip with the last: a rule check or a row added per line shows here."""
    from django.test.utils import CaptureQueriesContext

    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    transfer(funded_10000_sats, target, 1)  # the day rows exist from here on
    with CaptureQueriesContext(connection) as ctx:
        transfer(funded_10000_sats, target, 1)
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == (6 if connection.vendor == "postgresql" else 12), statements


def test_idempotency_key_returns_the_same_entry_and_refuses_a_different_one(
    funded_10000_sats, other_wallet, asset
):
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    first = transfer(funded_10000_sats, target, 5, idempotency_key="k-1")
    assert transfer(funded_10000_sats, target, 5, idempotency_key="k-1") == first
    with pytest.raises(LedgerError, match="idempotency key"):
        transfer(funded_10000_sats, target, 6, idempotency_key="k-1")
    funded_10000_sats.refresh_from_db()
    assert funded_10000_sats.balance == 9_995


def test_an_outflow_takes_the_named_lots_first(asset, wallet, other_wallet, fund_in):
    fund_in(wallet, asset, 300, label="Case A")
    fund_in(wallet, asset, 500, label="Case B")
    source = get_account(wallet=wallet, category="reserve:forfeited", asset=asset)
    case_b = Lot.objects.get(account=source, origin_label="Case B")
    destination = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    transfer(source, destination, 400, take_lots_first=[case_b])
    arrived = Lot.objects.filter(account=destination).order_by("id")
    assert [(lot.origin_label, lot.amount) for lot in arrived] == [("Case B", 400)]
    assert Lot.objects.get(account=source, origin_label="Case A").remaining == 300
