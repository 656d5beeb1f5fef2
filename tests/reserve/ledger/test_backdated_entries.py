"""Backdated entries: never a negative past balance, never into a closed period.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reserve.ledger.selectors import account_balances_as_of
from reserve.ledger.services import LedgerError, Line, Origin, get_account, post_entry
from reserve.models import (
    AccountDay,
)
from tests.support.factories import FORFEITED

# A backdated outflow makes a past closing balance negative


def test_a_backdated_outflow_never_makes_a_past_balance_negative(asset, wallet, other_wallet, fund_in):
    source = fund_in(wallet, asset, 10)  # arrives now
    target = get_account(wallet=other_wallet, category=FORFEITED, asset=asset)
    ten_days_ago = timezone.now() - dt.timedelta(days=10)
    try:
        post_entry(reason="test.move", lines=[Line(source, -10), Line(target, 10)], effective_at=ten_days_ago)
    except LedgerError:
        return
    day = timezone.localtime(ten_days_ago).date()
    closing = AccountDay.objects.get(account=source, day=day).closing
    as_of = dict((a.pk, units) for a, units in account_balances_as_of(day))[source.pk]
    assert closing >= 0 and as_of >= 0, f"{source} held {as_of} units on {day}"


# Closing a month leaves every earlier month open


def test_an_entry_dated_before_a_closed_period_is_refused(asset, wallet, db):
    from reserve.models import Period

    today = timezone.localdate()
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    Period.objects.create(year=last_month.year, month=last_month.month, closed_at=timezone.now())
    three_months_ago = timezone.make_aware(
        dt.datetime.combine(last_month.replace(day=1) - dt.timedelta(days=40), dt.time(12))
    )
    external = get_account(wallet=None, category="external", asset=asset)
    account = get_account(wallet=wallet, category=FORFEITED, asset=asset)
    with pytest.raises(LedgerError):
        post_entry(
            reason="test.inflow",
            lines=[Line(external, -5), Line(account, 5)],
            origin=Origin(kind="test.inflow", label="late"),
            effective_at=three_months_ago,
        )


# A backdated entry costs a constant number of statements, however many later days it moves


def test_a_backdated_entry_runs_the_same_statements_however_many_later_days_it_moves(
    asset, wallet, other_wallet, fund_in
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    source = fund_in(wallet, asset, 10**6, effective_at=now - dt.timedelta(days=400))
    target = get_account(wallet=other_wallet, category=FORFEITED, asset=asset)
    for back in range(60, -1, -2):  # a day row every other day on both accounts, today included
        post_entry(
            reason="test.move",
            lines=[Line(source, -1), Line(target, 1)],
            effective_at=now - dt.timedelta(days=back),
        )

    def statements(back_days: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            post_entry(
                reason="test.move",
                lines=[Line(source, -1), Line(target, 1)],
                effective_at=now - dt.timedelta(days=back_days),
            )
        return len(ctx.captured_queries)

    # Onto a day that has its row: 1 later day, 30 later days.
    assert statements(2) == statements(60)
    # Onto a day without a row yet: 1, 30 and 31 later days.
    assert statements(1) == statements(59) == statements(365)
    closings = list(
        AccountDay.objects.filter(account=target).order_by("day").values_list("closing", flat=True)
    )
    assert closings == sorted(closings) and closings[-1] == 36


def test_later_closings_move_exactly_across_every_boundary_of_the_native_sum(asset, wallet):
    from reserve.ledger.services import _ClosingPlus

    account = get_account(wallet=wallet, category=FORFEITED, asset=asset)
    edges = [-(10**30), -(10**18) - 1, -(10**18), -(10**18) + 1, -1, 0, 1, 10**18 - 1, 10**18, 10**30]
    start = dt.date(2025, 1, 1)
    for units in (1, -1, 10**18 - 1, -(10**18), 10**18, 7 * 10**20):
        AccountDay.objects.all().delete()
        AccountDay.objects.bulk_create(
            [
                AccountDay(account=account, day=start + dt.timedelta(days=i), delta=0, closing=closing)
                for i, closing in enumerate(edges)
            ]
        )
        AccountDay.objects.update(closing=_ClosingPlus("closing", units))
        moved = list(AccountDay.objects.order_by("day").values_list("closing", flat=True))
        assert moved == [closing + units for closing in edges], units
