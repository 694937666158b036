"""Reads about people: a confirmed MFA device, an open invitation. Reads never import writes: nothing
here imports `interlock.accounts.services`.
"""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.access import visible
from interlock.access.principal import Principal
from interlock.accounts import tokens
from interlock.accounts.models import Invitation, Person
from interlock.core.errors import ApplicationError, NotFound

SUGGESTIONS = 8  # at most this many people suggested for one text
MIN_SUGGEST_LENGTH = 2  # fewer characters suggest nobody (no walking the directory letter by letter)


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


def person_label(person: Person) -> str:
    """How the people picker writes a person: the name and organisation the directory shows
    (never the e-mail address, which the directory does not list)."""
    organisation = person.organisation.name if person.organisation is not None else "no organisation"
    return f"{person.display_name} ({organisation})"


def _pickable(principal: Principal) -> QuerySet[Person]:
    """The people `principal` may see, by the directory's own rule (interlock.access)."""
    return visible(principal, Person.objects.select_related("organisation")).order_by("display_name", "pk")


def person_suggestions(*, principal: Principal, text: str) -> list[Person]:
    """People the picker offers for what was typed: names containing it, or the one person whose
    whole e-mail address it is. Only people `principal` may see; nothing for a very short text."""
    text = text.strip()
    if len(text) < MIN_SUGGEST_LENGTH:
        return []
    matches = Q(display_name__icontains=text) | Q(email__iexact=text)
    return list(_pickable(principal).filter(matches)[:SUGGESTIONS])


def person_pick(*, principal: Principal, text: str, field: str = "person") -> Person:
    """The one person `principal` may see whom `text` names, exactly: an e-mail address, a name,
    the picker's "Name (Organisation)", or a person id. Otherwise an ApplicationError whose
    `field` error says, in words, that nobody or several people match (and whom it might mean)."""
    text = " ".join(text.split())
    if not text:
        raise ApplicationError("Choose a person.", {field: ["Give a name or an e-mail address."]})
    people = _pickable(principal)
    try:
        exact = people.filter(uuid=uuid.UUID(text))
    except ValueError:
        name, _, organisation = text[:-1].rpartition(" (") if text.endswith(")") else ("", "", "")
        exact = people.filter(
            Q(email__iexact=text)
            | Q(display_name__iexact=text)
            | Q(display_name__iexact=name, organisation__name__iexact=organisation)
        )
    found = list(exact[:SUGGESTIONS])
    if len(found) == 1:
        return found[0]
    if found:
        names = "; ".join(person_label(p) for p in found)
        raise ApplicationError(
            "More than one person matches.",
            {
                field: [
                    f"“{text}” matches {len(found)} people: {names}. Pick one with its organisation, or give the e-mail address."
                ]
            },
        )
    near = person_suggestions(principal=principal, text=text)
    hint = f" Did you mean {'; '.join(person_label(p) for p in near[:5])}?" if near else ""
    raise ApplicationError(
        "Nobody matches.",
        {
            field: [
                f"Nobody you can see in the network is “{text}”.{hint} Give the name as the directory shows it, or the e-mail address."
            ]
        },
    )
