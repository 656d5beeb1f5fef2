"""The engine's idempotency key is bound to the maker and the action.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

from reserve.approvals.services import ApprovalError, create_request
from tests.support.factories import UserFactory, transfer_payload


def test_a_request_idempotency_key_never_returns_someone_elses_request(
    team, funded_opening_balance, wallet, other_wallet
):
    mine = create_request(
        kind="reserve.transfer",
        payload=transfer_payload(wallet, other_wallet, "1"),
        maker=team.maker,
        idempotency_key="k1",
    )
    clerk2 = UserFactory(username="clerk2", roles=["Intake clerk"])
    try:
        theirs = create_request(
            kind="reserve.allowlist_change",
            payload={
                "action": "add",
                "network": "bitcoin",
                "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                "label": "Exchange",
            },
            maker=clerk2,
            idempotency_key="k1",
        )
    except ApprovalError:
        return
    assert theirs.pk != mine.pk and theirs.maker == clerk2
