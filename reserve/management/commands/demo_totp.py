"""Print the current code of a user's authenticator, so the demo runs without a phone.

Refused with DJANGO_ENV=production: there a code comes only from the approver's own device.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "Print the current 6-digit TOTP code of USERNAME's confirmed authenticator "
        "(demo and development only; refused with DJANGO_ENV=production)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        if getattr(settings, "DJANGO_ENV", "embedded") == "production":
            raise CommandError("demo_totp is refused with DJANGO_ENV=production.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        device = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id").first()
        if device is None:
            raise CommandError(
                f"{username} has no confirmed authenticator; enrol at /workflow/otp/enrol/ after signing in."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
