"""Helpers of the API tests: integration clients and tokens, second factors through the API,
the one error body, transfer requests made by a client.

No tests and no fixtures here (the API tests' fixtures are in tests/reserve/api/conftest.py).
"""

from __future__ import annotations

import time
import uuid

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from reserve.api.clients import create_client, issue_token
from reserve.models import Scope

ALL_SCOPES = list(Scope.values)
MAKER_SCOPES = [Scope.REQUESTS_READ, Scope.REQUESTS_WRITE, Scope.HOLDINGS_READ]
APPROVER_SCOPES = [Scope.REQUESTS_READ, Scope.REQUESTS_DECIDE]
TRANSFERS = "/api/v1/requests/transfers/"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def client_with_token(name: str, scopes, *, user=None) -> tuple:
    """An integration client (acting as ``user``, or a new service user) and its token secret."""
    api_client = create_client(name=name, scopes=list(scopes), user=user, actor=user)
    return api_client, issue_token(api_client, actor=user).secret


def totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def otp(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The device's code now (or ``steps_ahead`` 30-second steps later: a fresh code for a second
    decision, since a code is accepted only once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def new_key() -> str:
    return str(uuid.uuid4())


class Approver:
    """An approver of the ``team`` deciding through the API: a client acting as them, their token
    and their TOTP device."""

    def __init__(self, user, scopes=APPROVER_SCOPES):
        self.user = user
        self.client, self.secret = client_with_token(f"{user.username}-desk", scopes, user=user)
        self.device = totp_device(user)
        self.api = bearer(self.secret)
        self.steps = 0

    def decide(self, request_id: int, verdict: str = "approve", *, digest: str, comment="Checked.", **extra):
        body = {"verdict": verdict, "comment": comment, "digest": digest}
        if "otp_token" not in extra:
            body["otp_token"] = otp(self.device, steps_ahead=self.steps)
            self.steps += 1
        body.update({k: v for k, v in extra.items() if v is not None})
        return self.api.post(
            f"/api/v1/requests/{request_id}/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
        )


def assert_error_body(body, code):
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


def transfer_body(**overrides) -> dict:
    return {
        "asset": "BTC",
        "amount": "1.25",
        "from_wallet": "cold-a",
        "to_wallet": "cold-b",
        "category": "reserve:forfeited",
        "comment": "Rebalancing.",
        **overrides,
    }


def post_transfer(api, key=None, **overrides):
    return api.post(
        TRANSFERS, transfer_body(**overrides), format="json", HTTP_IDEMPOTENCY_KEY=key or new_key()
    )
