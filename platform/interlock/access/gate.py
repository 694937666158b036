"""The gate every read and write passes first: is this a vetted, present member of the network?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from interlock.access.actions import Decision, allow, deny
from interlock.network.models import OrganisationStatus

if TYPE_CHECKING:
    from interlock.access.principal import Principal
    from interlock.accounts.models import Person

# Accepted-agreement answers for the length of one request, keyed by the person row object
# (never an attribute on the person: the principal and the person stay what they are).
_AGREEMENT_CACHE_ATTR = "_interlock_agreement_accepted"


def has_accepted_current_agreement(person: Person) -> bool:
    """One round trip: no agreement published yet, or an acceptance of the newest one."""
    cached = person.__dict__.get(_AGREEMENT_CACHE_ATTR)
    if cached is not None:
        return bool(cached)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM accounts_agreement) OR EXISTS ("
            " SELECT 1 FROM accounts_agreementacceptance a WHERE a.person_id = %s AND a.agreement_id ="
            " (SELECT id FROM accounts_agreement ORDER BY version DESC LIMIT 1))",
            [person.pk],
        )
        row = cursor.fetchone()
    accepted = bool(row and row[0])
    person.__dict__[_AGREEMENT_CACHE_ATTR] = accepted
    return accepted


def standing_gate(person: Person | None) -> Decision:
    """What the person's account must be, whoever asks on their behalf — each on its own line."""
    if person is None or not person.is_authenticated:
        return deny("not signed in")
    if not person.is_active:
        return deny("account inactive")
    if person.organisation_id is None or person.organisation is None:
        return deny("no home organisation")
    if person.organisation.status != OrganisationStatus.ACTIVE:
        return deny("organisation not active")
    if not has_accepted_current_agreement(person):
        return deny("current agreement not accepted")
    return allow("vetted member")


def network_gate(principal: Principal | None) -> Decision:
    """Account active with MFA, organisation active, current agreement accepted."""
    if principal is None:
        return deny("not signed in")
    if not principal.mfa_verified:
        return deny("MFA not verified")
    return standing_gate(principal.person)
