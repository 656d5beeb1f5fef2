"""verify_ledger finds every kind of problem it checks for, with the same messages, and counts
what it checked: each test tampers with a consistent ledger behind the services' back."""

import datetime as dt

import pytest

from reserve.ledger.services import Line, get_account, post_entry, reverse_entry
from reserve.ledger.verification import verify_ledger
from reserve.models import Account, AccountDay, JournalEntry, JournalSequence, Lot, LotMovement, Posting

ALMATY = dt.timezone(dt.timedelta(hours=5))
MOVED_AT = dt.datetime(2025, 3, 4, 10, 0, tzinfo=ALMATY)


@pytest.fixture
def ledger(asset, wallet, other_wallet, fund_in):
    """10,000 sats in, 3,000 moved to another wallet, a move of 100 reversed: four entries."""
    source = fund_in(wallet, asset, 10_000)
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    move = post_entry(
        reason="test.move", lines=[Line(source, -3_000), Line(target, 3_000)], effective_at=MOVED_AT
    )
    undone = post_entry(
        reason="test.move", lines=[Line(source, -100), Line(target, 100)], effective_at=MOVED_AT
    )
    reversal = reverse_entry(entry=undone, effective_at=MOVED_AT)
    source.refresh_from_db()
    target.refresh_from_db()
    report = verify_ledger()
    assert report.ok, report.problems
    return {"source": source, "target": target, "move": move, "undone": undone, "reversal": reversal}


def _entry(number: int, *, year: int = 2025, reverses=None) -> JournalEntry:
    return JournalEntry.objects.create(
        number=f"{year}-{number:06d}",
        year=year,
        sequence=number,
        effective_at=MOVED_AT,
        posted_at=MOVED_AT,
        reason="test.move",
        reverses=reverses,
    )


def _postings(entry, *lines, first_line=1) -> None:
    Posting.objects.bulk_create(
        [
            Posting(
                entry=entry,
                line=i,
                account=account,
                amount=amount,
                balance_after=after,
                effective_at=MOVED_AT,
            )
            for i, (account, amount, after) in enumerate(lines, start=first_line)
        ]
    )


def _problems() -> list[str]:
    report = verify_ledger()
    assert not report.ok
    return report.problems


def _checked() -> dict[str, int]:
    return {check.name: check.checked for check in verify_ledger().checks}


def test_a_consistent_ledger_passes_and_counts_what_it_checked(ledger):
    assert _checked() == {
        "entries balance per asset": 4,
        "account balance = sum of postings": 3,
        "posting balance_after = running sum": 8,
        "daily closing balances = cumulative postings": 3,
        "open lots cover each balance exactly": 2,
        "lot remaining = opened - taken": Lot.objects.count(),
        "entry numbers gapless per year": 1,
        "reversals mirror their originals": 1,
    }


def test_an_entry_that_does_not_balance(ledger):
    target = ledger["target"]
    _postings(ledger["move"], (target, 7, target.balance + 7), first_line=3)

    problems = _problems()

    entry, asset_id = ledger["move"], target.asset_id
    assert f"entries balance per asset: entry id {entry.pk} asset id {asset_id} sums to 7" in problems
    assert f"account balance = sum of postings: {target}: balance 3000 != postings 3007" in problems


def test_entries_with_fewer_than_two_postings(ledger):
    JournalSequence.objects.filter(year=2025).update(last_number=6)
    _entry(5)
    _postings(_entry(6), (ledger["target"], 1, ledger["target"].balance + 1))

    problems = _problems()

    assert "entries balance per asset: entry 2025-000005 has fewer than two postings" in problems
    assert "entries balance per asset: entry 2025-000006 has fewer than two postings" in problems
    # The entry without postings is not counted as checked; the one with a posting is.
    assert _checked()["entries balance per asset"] == 5


def test_a_balance_changed_behind_the_ledgers_back(ledger):
    source = ledger["source"]
    Account.objects.filter(pk=source.pk).update(balance=source.balance + 1)

    problems = _problems()

    assert f"account balance = sum of postings: {source}: balance 7001 != postings 7000" in problems
    assert (
        f"daily closing balances = cumulative postings: account id {source.pk}: last closing != balance"
        in problems
    )
    assert f"open lots cover each balance exactly: {source}: lots 7000 != balance 7001" in problems


def test_a_posting_whose_balance_after_is_not_the_running_sum(ledger):
    target = ledger["target"]
    JournalSequence.objects.filter(year=2025).update(last_number=5)
    _postings(_entry(5), (target, 5, 3_005), (target, -5, 3_001))

    problems = _problems()

    posting = Posting.objects.get(entry__number="2025-000005", line=2)
    assert problems == [
        f"posting balance_after = running sum: posting id {posting.pk}: balance_after 3001 != 3000"
    ]


def test_stored_days_that_differ_from_the_postings(ledger):
    target = ledger["target"]
    day = AccountDay.objects.get(account=target)
    AccountDay.objects.filter(pk=day.pk).update(delta=day.delta + 1)

    assert _problems() == [
        f"daily closing balances = cumulative postings: account id {target.pk}: stored days differ from postings"
    ]


def test_a_stored_day_without_postings(ledger):
    target = ledger["target"]
    AccountDay.objects.create(account=target, day=dt.date(2026, 1, 1), delta=0, closing=target.balance)

    assert _problems() == [
        f"daily closing balances = cumulative postings: account id {target.pk}: stored days differ from postings"
    ]


def test_a_lot_whose_remaining_was_changed(ledger):
    target = ledger["target"]
    lot = Lot.objects.filter(account=target).order_by("id").first()
    taken = sum(LotMovement.objects.filter(lot=lot).values_list("amount", flat=True))
    Lot.objects.filter(pk=lot.pk).update(remaining=lot.remaining - 1)

    problems = _problems()

    assert problems == [
        f"open lots cover each balance exactly: {target}: lots 2999 != balance 3000",
        f"lot remaining = opened - taken: lot {lot.pk}: opened {lot.amount}, taken {taken}, "
        f"remaining {lot.remaining - 1}",
    ]


def test_a_lot_movement_recorded_behind_the_ledgers_back(ledger):
    source = ledger["source"]
    lot = Lot.objects.get(account=source, parent=None)
    LotMovement.objects.create(lot=lot, posting=ledger["move"].postings.get(line=1), amount=1)

    assert _problems() == [
        f"lot remaining = opened - taken: lot {lot.pk}: opened 10000, taken 3101, remaining 6900"
    ]


def test_a_sequence_moved_on_and_a_gap_in_the_numbers(ledger):
    JournalSequence.objects.filter(year=2025).update(last_number=9)

    assert _problems() == ["entry numbers gapless per year: 2025: sequence at 9, highest 4"]

    JournalSequence.objects.filter(year=2025).update(last_number=6)
    target = ledger["target"]
    _postings(_entry(6), (target, 5, 3_005), (target, -5, 3_000))

    assert _problems() == ["entry numbers gapless per year: 2025: 5 entries but highest number 6"]


def test_a_reversal_that_does_not_mirror_its_original(ledger):
    source, target = ledger["source"], ledger["target"]
    JournalSequence.objects.filter(year=2025).update(last_number=5)
    # Nets to nothing on every account, so only the mirror check can see it.
    bogus = _entry(5, reverses=ledger["move"])
    _postings(bogus, (source, -4, 6_996), (source, 4, 7_000), (target, -1, 2_999), (target, 1, 3_000))

    assert _problems() == [
        f"reversals mirror their originals: 2025-000005 does not mirror {ledger['move'].number}"
    ]


def test_postings_are_grouped_by_the_local_day_on_both_sides_of_every_offset_change(asset):
    from django.conf import settings
    from django.db.models import DateTimeField, Value
    from django.utils import timezone

    from reserve.ledger.verification import _LocalDate, _utc_offsets
    from reserve.models import Asset

    for start, _offset in _utc_offsets(settings.TIME_ZONE)[1:]:
        change = dt.datetime.strptime(start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        # Local midnight under the new offset, and just before it (also within the second).
        midnight = timezone.localtime(change + dt.timedelta(days=2)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for moment in (
            change - dt.timedelta(seconds=1),
            change,
            change + dt.timedelta(hours=23),
            midnight,
            midnight - dt.timedelta(seconds=1),
            midnight - dt.timedelta(microseconds=1),
            midnight + dt.timedelta(microseconds=1),
        ):
            day = (
                Asset.objects.annotate(day=_LocalDate(Value(moment, output_field=DateTimeField())))
                .values_list("day", flat=True)
                .first()
            )
            assert day == timezone.localtime(moment).date(), moment


# Amounts past 2**63: SQLite sums amounts below 10**18 natively and the others exactly


@pytest.fixture
def ether_ledger(db, fund_in):
    """Wei amounts far past 2**63 beside small ones: 10**30 + 1 wei in, 10**24 + 7 moved, and 5 wei in."""
    from tests.support.factories import WalletFactory, eth

    ether = eth()
    hot = WalletFactory(code="eth-a", name="Eth A", network="ethereum")
    cold = WalletFactory(code="eth-b", name="Eth B", network="ethereum")
    source = fund_in(hot, ether, 10**30 + 1)
    fund_in(cold, ether, 5, label="Dust")
    target = get_account(wallet=cold, category="reserve:forfeited", asset=ether)
    post_entry(
        reason="test.move",
        lines=[Line(source, -(10**24 + 7)), Line(target, 10**24 + 7)],
        effective_at=MOVED_AT,
    )
    report = verify_ledger()
    assert report.ok, report.problems
    source.refresh_from_db()
    target.refresh_from_db()
    return {"source": source, "target": target}


def test_a_lot_of_huge_amounts_changed_by_one_wei_is_named(ether_ledger):
    source = ether_ledger["source"]
    lot = Lot.objects.get(account=source)
    Lot.objects.filter(pk=lot.pk).update(remaining=lot.remaining + 1)

    assert _problems() == [
        f"open lots cover each balance exactly: {source}: lots {10**30 - 10**24 - 5} != balance {10**30 - 10**24 - 6}",
        f"lot remaining = opened - taken: lot {lot.pk}: opened {10**30 + 1}, taken {10**24 + 7}, "
        f"remaining {10**30 - 10**24 - 5}",
    ]


def test_a_huge_posting_whose_balance_after_is_off_by_one_wei(ether_ledger):
    target = ether_ledger["target"]
    JournalSequence.objects.filter(year=2025).update(last_number=4)
    _postings(_entry(4), (target, 10**24, 2 * 10**24 + 12), (target, -(10**24), 10**24 + 13))

    posting = Posting.objects.get(entry__number="2025-000004", line=2)
    assert _problems() == [
        f"posting balance_after = running sum: posting id {posting.pk}: "
        f"balance_after {10**24 + 13} != {10**24 + 12}"
    ]


def test_movements_summing_past_two_to_the_63_fall_back_to_exact_sums(asset, wallet, other_wallet, fund_in):
    """Ten movements just below 10**18 each out of one lot (only a tampered ledger has them):
    SQLite's native SUM would overflow, the exact sums still name the lot."""
    source = fund_in(wallet, asset, 10_000)
    target = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    move = post_entry(reason="test.move", lines=[Line(source, -1), Line(target, 1)], effective_at=MOVED_AT)
    lot = Lot.objects.get(account=source, parent=None)
    posting = move.postings.get(line=1)
    LotMovement.objects.bulk_create(
        [LotMovement(lot=lot, posting=posting, amount=10**18 - 1) for _ in range(10)]
    )

    problems = _problems()

    assert (
        f"lot remaining = opened - taken: lot {lot.pk}: opened 10000, taken {10 * (10**18 - 1) + 1}, remaining 9999"
        in problems
    )


def test_an_entry_of_huge_amounts_one_wei_off_balance(ether_ledger):
    source, target = ether_ledger["source"], ether_ledger["target"]
    JournalSequence.objects.filter(year=2025).update(last_number=4)
    entry = _entry(4)
    _postings(
        entry, (source, -(10**21), source.balance - 10**21), (target, 10**21 + 1, target.balance + 10**21 + 1)
    )

    problems = _problems()

    assert f"entries balance per asset: entry id {entry.pk} asset id {source.asset_id} sums to 1" in problems


def test_an_entry_summing_past_two_to_the_63_falls_back_to_exact_sums(ledger):
    target = ledger["target"]
    JournalSequence.objects.filter(year=2025).update(last_number=5)
    entry = _entry(5)
    _postings(entry, *[(target, 10**18 - 1, target.balance) for _ in range(10)])

    problems = _problems()

    assert (
        f"entries balance per asset: entry id {entry.pk} asset id {target.asset_id} sums to {10 * (10**18 - 1)}"
        in problems
    )
