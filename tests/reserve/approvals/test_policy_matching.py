"""The policy governing a request: a stricter policy added later does not govern a pending request,
and a reversal is governed by the policy for its asset and amount.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from reserve.approvals.services import create_request
from reserve.models import (
    ApprovalPolicy,
    JournalEntry,
    PolicyTier,
    RequestStatus,
)
from tests.support.factories import transfer_payload

# A stricter policy added later does not govern pending requests


def test_a_pending_request_is_not_executed_under_a_policy_that_no_longer_governs_it(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    # A policy change (as if approved by the board) puts a stricter policy ahead of "Transfers".
    stricter = ApprovalPolicy.objects.create(
        priority=5,
        name="Transfers need the board",
        kind="reserve.transfer",
        expires_after=dt.timedelta(days=7),
    )
    PolicyTier.objects.create(
        policy=stricter, position=1, group=Group.objects.get(name="Board member"), required=2
    )
    with pytest.raises(ValidationError, match="policy governing this request changed"):
        approve(transfer, team.custody1)
    with contextlib.suppress(ValidationError):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status != RequestStatus.EXECUTED


# Reversals escape asset- and amount-scoped policies


def test_a_large_reversal_is_governed_by_the_policy_for_its_asset_and_amount(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet, "2"), maker=team.maker
    )
    approve(transfer, team.custody1)
    approve(transfer, team.custody2)
    entry = JournalEntry.objects.get(request=transfer)
    large = ApprovalPolicy.objects.create(
        priority=3,
        name="Large reversals",
        kind="reserve.reversal",
        asset=funded_opening_balance.asset,
        min_units=10**8,
        expires_after=dt.timedelta(days=7),
    )
    PolicyTier.objects.create(
        policy=large, position=1, group=Group.objects.get(name="Board member"), required=2
    )
    reversal = create_request(
        kind="reserve.reversal", payload={"entry": entry.number, "reason": "mistake"}, maker=team.maker
    )
    assert reversal.policy == large, f"a 2 BTC reversal was matched to “{reversal.policy.name}”"
