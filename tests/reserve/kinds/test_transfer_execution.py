"""Executing a transfer re-checks that its wallets are still active.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from reserve.approvals.services import create_request
from reserve.models import (
    RequestStatus,
)
from tests.support.factories import transfer_payload


def test_a_transfer_into_a_wallet_deactivated_since_the_request_is_not_executed(
    team, funded_opening_balance, wallet, other_wallet, approve
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.maker
    )
    other_wallet.is_active = False  # e.g. its keys are suspected compromised
    other_wallet.save()
    approve(transfer, team.custody1)
    with pytest.raises(ValidationError, match="has been deactivated"):
        approve(transfer, team.custody2)
    transfer.refresh_from_db()
    assert transfer.status != RequestStatus.EXECUTED
