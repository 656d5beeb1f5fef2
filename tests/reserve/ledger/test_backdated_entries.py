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
