"""Helpers of the screen tests: the page as a user reads it, signed-in clients (with and without
the second factor), authenticator codes, the request page and the admin's wallet form."""

import html
import re

from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def text(response) -> str:
    """The page as the user reads it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def current_code(device: TOTPDevice) -> str:
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{token:0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    valid = set()
    for offset in (-1, 0, 1):
        totp.drift = device.drift + offset
        valid.add(f"{totp.token():06d}")
    return next(code for code in (f"{n:06d}" for n in range(123456, 10**6)) if code not in valid)


def enrolled_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)


def verified_client(user) -> Client:
    """A client signed in as ``user`` whose session passed the second factor (through the
    verify page with a real TOTP code)."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrolled_device(user)
    response = client.post(reverse("workflow:otp-verify"), {"code": current_code(device)})
    assert response.status_code == 302, text(response)
    return client


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def request_url(approval) -> str:
    return reverse("workflow:request", args=[approval.pk])


def decide_via_page(
    client, approval, verdict="approve", comment="Checked against the evidence.", digest=None
):
    return client.post(
        request_url(approval),
        {"verdict": verdict, "comment": comment, "digest": digest or approval.payload_digest},
    )


def wallet_form_data(wallet=None, addresses=(), **overrides) -> dict:
    """POST data of the wallet page: the wallet, its recorded addresses, new ``addresses``."""
    data = {
        "code": wallet.code if wallet else "cold-new",
        "name": wallet.name if wallet else "Cold New",
        "kind": wallet.kind if wallet else "cold_multisig",
        "network": wallet.network if wallet else "bitcoin",
        "custodian": wallet.custodian if wallet else "",
        "description": wallet.description if wallet else "",
        "is_active": "on",
        "_save": "Save",
    }
    recorded = list(wallet.addresses.order_by("id")) if wallet else []
    rows = [
        {"id": str(a.pk), "wallet": str(wallet.pk), "address": a.address, "label": a.label} for a in recorded
    ] + [{"address": address, "label": ""} for address in addresses]
    data.update(
        {
            "addresses-TOTAL_FORMS": str(len(rows)),
            "addresses-INITIAL_FORMS": str(len(recorded)),
            "addresses-MIN_NUM_FORMS": "0",
            "addresses-MAX_NUM_FORMS": "1000",
        }
    )
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"addresses-{i}-{key}"] = value
        data[f"addresses-{i}-is_active"] = "on"
    if wallet is not None:
        data.update(
            {
                "accounts-TOTAL_FORMS": "0",
                "accounts-INITIAL_FORMS": "0",
                "accounts-MIN_NUM_FORMS": "0",
                "accounts-MAX_NUM_FORMS": "0",
            }
        )
    data.update(overrides)
    return data
