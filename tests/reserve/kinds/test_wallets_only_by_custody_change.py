"""A custody wallet is registered only through an approved custody change, never by one clerk in
the admin.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

from django.test import Client


def test_a_wallet_one_clerk_just_registered_cannot_receive_a_transfer(
    team, funded_opening_balance, wallet, asset, approve
):
    clerk = team.maker  # Intake clerk, staff
    admin = Client()
    admin.force_login(clerk)
    response = admin.post(
        "/admin/reserve/wallet/add/",
        {
            "code": "hot-x",
            "name": "Hot X",
            "kind": "hot",
            "network": "bitcoin",
            "custodian": "",
            "description": "",
            "is_active": "on",
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-MIN_NUM_FORMS": "0",
            "addresses-MAX_NUM_FORMS": "1000",
            # Any address at all, e.g. one the clerk controls.
            "addresses-0-address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "addresses-0-label": "",
            "addresses-0-is_active": "on",
        },
    )
    # Custody wallets are registered only through an approved custody change.
    from reserve.models import Wallet

    assert response.status_code == 403
    assert not Wallet.objects.filter(code="hot-x").exists()
