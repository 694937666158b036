"""Reads about people: a confirmed MFA device, an open invitation. Reads never import writes: nothing
here imports `interlock.accounts.services`.
"""

from __future__ import annotations

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts import tokens
from interlock.accounts.models import Invitation, Person
from interlock.core.errors import NotFound


def mfa_confirmed_device(*, person: Person) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=person, confirmed=True).first()


def invitation_get_open(*, secret: str) -> Invitation:
    """The open invitation for a secret; unknown, used and expired ones look alike (NotFound)."""
    invitation = (
        Invitation.objects.select_related("organisation")
        .filter(token_hash=tokens.hash_secret(secret))
        .first()
    )
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= timezone.now():
        raise NotFound("This invitation is not valid. Ask your organisation admin for a new one.")
    return invitation
