"""The ledger's idempotency key is bound to what the entry is.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import pytest

from reserve.ledger.services import LedgerError, Line, get_account, post_entry
from tests.support.factories import FORFEITED


def test_an_idempotency_key_reused_for_a_different_entry_is_refused(asset, wallet, other_wallet, fund_in):
    source = fund_in(wallet, asset, 100)
    target = get_account(wallet=other_wallet, category=FORFEITED, asset=asset)
    first = post_entry(
        reason="test.move", lines=[Line(source, -10), Line(target, 10)], memo="first", idempotency_key="k"
    )
    with pytest.raises(LedgerError):
        post_entry(
            reason="test.outflow",
            lines=[Line(source, -10), Line(target, 10)],
            memo="another",
            idempotency_key="k",
            source=first,
        )
