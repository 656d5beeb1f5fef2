"""A reversal never launders a no-sale restriction into saleable units.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

from reserve.ledger.reasons import NO_SALE
from reserve.ledger.services import LedgerError, Line, Origin, get_account, post_entry, reverse_entry
from reserve.models import (
    Lot,
)
from tests.support.factories import FORFEITED, WalletFactory


def test_a_reversal_never_turns_no_sale_units_into_saleable_ones(asset, db):
    a, b, c = (WalletFactory(code=code) for code in ("w-a", "w-b", "w-c"))
    external = get_account(wallet=None, category="external", asset=asset)
    acc = {w.code: get_account(wallet=w, category=FORFEITED, asset=asset) for w in (a, b, c)}
    post_entry(
        reason="test.inflow",
        lines=[Line(external, -10), Line(acc["w-a"], 10)],
        origin=Origin(kind="test.inflow", label="free coins"),
    )
    first = post_entry(reason="test.move", lines=[Line(acc["w-a"], -10), Line(acc["w-b"], 10)])
    post_entry(
        reason="test.inflow",
        lines=[Line(external, -10), Line(acc["w-b"], 10)],
        origin=Origin(kind="test.inflow", label="no-sale coins", restriction=NO_SALE),
    )
    post_entry(reason="test.move", lines=[Line(acc["w-b"], -10), Line(acc["w-c"], 10)])  # FIFO: the free lot
    try:
        reverse_entry(entry=first)
    except LedgerError:
        return  # refusing is a correct answer: the units the entry brought to w-b are gone
    no_sale = sum(Lot.objects.filter(restriction=NO_SALE).values_list("remaining", flat=True))
    assert no_sale == 10, "the 10 no-sale units vanished: w-a now holds them as saleable coins"
