"""`manage.py demo_totp EMAIL`: the current MFA code of a demo person (refused in production)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts.mfa import totp_code


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo person's authenticator (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_totp is refused when INTERLOCK_ENV=production")
        device = TOTPDevice.objects.filter(user__email=email.lower(), confirmed=True).first()
        if device is None:
            raise CommandError(f"no confirmed authenticator for {email}")
        self.stdout.write(totp_code(device))
