"""Approvers' TOTP secrets stay out of every admin page, the auditor's included.

Regression tests of findings of an adversarial review of the reserve core.
"""

from __future__ import annotations

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice


def test_an_auditor_cannot_read_an_approvers_totp_secret(team):
    device = TOTPDevice.objects.create(user=team.custody1, name="phone", confirmed=True)
    auditor = team.outsider  # role Auditor
    auditor.is_staff = True
    auditor.save()
    client = Client()
    client.force_login(auditor)
    config = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/")
    change = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert device.key not in config.content.decode()
    assert device.key not in change.content.decode()
