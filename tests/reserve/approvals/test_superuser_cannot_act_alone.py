"""A superuser cannot move funds alone: approvers' clients and second factors are theirs, not the
admin's.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

import re
import time

from django.test import Client
from django_otp.oath import TOTP

from reserve.approvals.services import create_request
from reserve.ledger.services import get_account
from reserve.models import (
    ApiClient,
    RequestStatus,
)
from tests.support.api import bearer, new_key
from tests.support.factories import FORFEITED, transfer_payload


def _code(key_hex: str, *, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex), 30, 0, 6, 0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_a_superuser_cannot_move_funds_alone_by_impersonating_approvers_in_the_admin(
    team, funded_opening_balance, wallet, other_wallet, asset
):
    transfer = create_request(
        kind="reserve.transfer", payload=transfer_payload(wallet, other_wallet), maker=team.root
    )
    admin = Client()
    admin.force_login(team.root)
    for victim in (team.custody1, team.custody2):
        # 1. An API client that "acts as" the approver, made by the superuser in the admin.
        admin.post(
            "/admin/reserve/apiclient/add/",
            {
                "name": f"{victim.username}-shadow",
                "description": "",
                "acts_as": victim.pk,
                "scopes": ["requests:read", "requests:decide"],
            },
        )
        shadow = ApiClient.objects.filter(user=victim).first()
        if shadow is None:
            continue
        page = admin.post(
            "/admin/reserve/apiclient/",
            {"action": "issue_token_action", "_selected_action": [shadow.pk]},
            follow=True,
        ).content.decode()
        secret = re.search(r"<code>(sdaf_[^<]+)</code>", page).group(1)
        # 2. A second factor for the approver, with a key the superuser chose, in the admin.
        key = "3132333435363738393031323334353637383930"
        admin.post(
            "/admin/otp_totp/totpdevice/add/",
            {
                "user": victim.pk,
                "name": "shadow",
                "confirmed": "on",
                "key": key,
                "step": 30,
                "t0": 0,
                "digits": 6,
                "tolerance": 1,
                "drift": 0,
                "throttling_failure_count": 0,
            },
        )
        # 3. Decide through the API as the approver.
        bearer(secret).post(
            f"/api/v1/requests/{transfer.pk}/decisions/",
            {"verdict": "approve", "comment": "", "digest": transfer.payload_digest, "otp_token": _code(key)},
            format="json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )
    transfer.refresh_from_db()
    assert transfer.status == RequestStatus.PENDING
    assert get_account(wallet=other_wallet, category=FORFEITED, asset=asset).balance == 0
