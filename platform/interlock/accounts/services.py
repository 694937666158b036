"""Writes about people: creation, invitations, tokens, MFA, agreement, standing and clearance.

Every function is keyword-only, runs in one transaction and writes its audit row inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.access import Action
from interlock.access.principal import Principal
from interlock.accounts import tokens
from interlock.accounts.access import access_person_by_id
from interlock.accounts.models import (
    Agreement,
    AgreementAcceptance,
    ApiToken,
    Invitation,
    Person,
    Role,
    TokenScope,
)
from interlock.accounts.selectors import invitation_get_open
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, Conflict, InvalidState, NotFound
from interlock.network.access import access_organisation_by_id
from interlock.network.models import Organisation, OrganisationStatus
from interlock.network.selectors import network_policy_current

TOKEN_PREFIX = "ilk"  # noqa: S105 - a public prefix
INVITATION_PREFIX = "inv"
MAX_TOKEN_DAYS = 365


@transaction.atomic
def person_create(
    *,
    actor: Principal | None,
    email: str,
    display_name: str,
    organisation: Organisation,
    password: str | None,
    role: str = Role.MEMBER,
    clearance: int = 0,
    is_steward: bool = False,
) -> Person:
    """Used by invitations and by operators' bootstrap commands; audited either way."""
    if Person.objects.filter(email__iexact=email).exists():
        raise Conflict("A person with this e-mail already exists.", {"email": ["already registered"]})
    if clearance > organisation.clearance_ceiling:
        raise ApplicationError(
            f"Clearance {clearance} exceeds the organisation's ceiling of {organisation.clearance_ceiling}.",
            {"clearance": ["above the organisation ceiling"]},
        )
    if password is not None:
        validate_password(password)
    person = Person.objects.create_user(
        email=email,
        password=password,
        display_name=display_name,
        organisation=organisation,
        role=role,
        clearance=clearance,
        is_steward=is_steward,
    )
    audit_record(
        actor=actor,
        event=Event.PERSON_CREATED,
        target=person,
        extra={
            "organisation": str(organisation.uuid),
            "role": role,
            "clearance": clearance,
            "steward": is_steward,
        },
    )
    return person


@transaction.atomic
def password_change(*, person: Person, current_password: str, new_password: str) -> Person:
    """A signed-in person changes their own password; every other session and API token stops.

    The current password is asked for so that a stolen session cookie cannot take the account
    over; the new one passes the same validators as at sign-up (length 12, common passwords,
    similarity to the e-mail). The caller re-stamps its own session with the new epoch.
    """
    if not person.check_password(current_password):
        raise ApplicationError(
            "Your current password is not right; nothing was changed.",
            {"current_password": ["does not match"]},
        )
    try:
        validate_password(new_password, user=person)
    except ValidationError as invalid:
        raise ApplicationError(
            "The new password is not accepted; nothing was changed.", {"new_password": list(invalid.messages)}
        ) from invalid
    person.set_password(new_password)
    person.save(update_fields=["password"])
    person_kill_sessions(person=person)
    audit_record(actor=person, event=Event.PASSWORD_CHANGED, target=person)
    return person


def person_kill_sessions(*, person: Person) -> None:
    """Every session and API token minted before now stops working on its next request."""
    Person.objects.filter(pk=person.pk).update(auth_epoch=F("auth_epoch") + 1)
    person.refresh_from_db(fields=["auth_epoch"])


@transaction.atomic
def person_suspend(*, actor: Principal, person_uuid: object) -> Person:
    person = access_person_by_id(actor, person_uuid, action=Action.SUSPEND)
    if not person.is_active:
        raise InvalidState("This person is already suspended.")
    person.is_active = False
    person.save(update_fields=["is_active"])
    person_kill_sessions(person=person)
    audit_record(actor=actor, event=Event.PERSON_SUSPENDED, target=person)
    return person


@transaction.atomic
def person_reinstate(*, actor: Principal, person_uuid: object) -> Person:
    person = access_person_by_id(actor, person_uuid, action=Action.REINSTATE)
    if person.is_active:
        raise InvalidState("This person is not suspended.")
    person.is_active = True
    person.save(update_fields=["is_active"])
    audit_record(actor=actor, event=Event.PERSON_REINSTATED, target=person)
    return person


@transaction.atomic
def person_set_role(*, actor: Principal, person_uuid: object, role: str) -> Person:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", {"role": [f"must be one of {', '.join(Role.values)}"]})
    person = access_person_by_id(actor, person_uuid, action=Action.CHANGE_ROLE)
    previous = person.role
    person.role = role
    person.save(update_fields=["role"])
    audit_record(
        actor=actor, event=Event.PERSON_ROLE_CHANGED, target=person, extra={"from": previous, "to": role}
    )
    return person


@transaction.atomic
def person_set_steward(*, actor: Principal, person_uuid: object, is_steward: bool) -> Person:
    person = access_person_by_id(actor, person_uuid, action=Action.SET_STEWARD)
    person.is_steward = is_steward
    person.save(update_fields=["is_steward"])
    audit_record(
        actor=actor, event=Event.PERSON_STEWARD_CHANGED, target=person, extra={"steward": is_steward}
    )
    return person


@transaction.atomic
def clearance_set(*, actor: Principal, person_uuid: object, clearance: int) -> Person:
    """An org admin sets a tier ≤ the org ceiling; tiers ≥ 2 then wait for a steward's approval."""
    person = access_person_by_id(actor, person_uuid, action=Action.SET_CLEARANCE)
    if not 0 <= clearance <= 3:
        raise ApplicationError("Clearance is a tier from 0 to 3.", {"clearance": ["must be 0, 1, 2 or 3"]})
    if person.organisation is None:  # SET_CLEARANCE admits only people of the admin's organisation
        raise ApplicationError("This person belongs to no organisation.", {"person": ["no organisation"]})
    if clearance > person.organisation.clearance_ceiling:
        raise ApplicationError(
            f"Clearance {clearance} exceeds the organisation's ceiling of {person.organisation.clearance_ceiling}.",
            {"clearance": ["above the organisation ceiling"]},
        )
    previous = person.clearance
    person.clearance = clearance
    if clearance < person.clearance_approved_level:
        person.clearance_approved_level = clearance
    person.save(update_fields=["clearance", "clearance_approved_level"])
    audit_record(
        actor=actor, event=Event.CLEARANCE_CHANGED, target=person, extra={"from": previous, "to": clearance}
    )
    return person


@transaction.atomic
def clearance_approve(*, actor: Principal, person_uuid: object) -> Person:
    """A steward (not the person) approves the requested tier ≥ 2 until the policy's expiry."""
    person = access_person_by_id(actor, person_uuid, action=Action.APPROVE_CLEARANCE)
    policy = network_policy_current()
    if person.clearance < policy["clearance_steward_approval_from"]:
        raise InvalidState("Only clearance of tier 2 or above needs a steward's approval.")
    person.clearance_approved_by = actor.person
    person.clearance_approved_level = person.clearance
    person.clearance_expires_at = timezone.now() + timedelta(days=policy["clearance_approval_days"])
    person.save(update_fields=["clearance_approved_by", "clearance_approved_level", "clearance_expires_at"])
    audit_record(
        actor=actor,
        event=Event.CLEARANCE_APPROVED,
        target=person,
        extra={"level": person.clearance, "expires_at": person.clearance_expires_at.isoformat()},
    )
    return person


# --- API tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


@transaction.atomic
def api_token_create(*, actor: Principal, name: str, scopes: list[str], days: int) -> IssuedToken:
    """Only from an MFA-verified session (the view checks); the secret is returned once."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["give the token a name of 1–100 characters"]
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if not scopes or unknown:
        errors["scopes"] = [f"choose from {', '.join(TokenScope.values)}"]
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = [f"between 1 and {MAX_TOKEN_DAYS}"]
    if errors:
        raise ApplicationError("The token request is not valid.", errors)
    secret, lookup, token_hash = tokens.new_secret(TOKEN_PREFIX)
    token = ApiToken.objects.create(
        person=actor.person,
        name=name,
        prefix=lookup,
        token_hash=token_hash,
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=days),
        auth_epoch=actor.person.auth_epoch,
    )
    audit_record(
        actor=actor, event=Event.TOKEN_CREATED, target=token, extra={"scopes": token.scopes, "days": days}
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, actor: Principal, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, person=actor.person, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, event=Event.TOKEN_REVOKED, target=token)
    return token


def api_token_authenticate(raw: str) -> Principal | None:
    """The principal behind a bearer token (the person and the token's scopes), or None if the
    token is unknown, expired, revoked or outdated."""
    lookup = tokens.split_lookup(raw, TOKEN_PREFIX)
    if lookup is None:
        return None
    token = ApiToken.objects.select_related("person", "person__organisation").filter(prefix=lookup).first()
    if token is None or not tokens.matches(raw, token.token_hash):
        return None
    now = timezone.now()
    person = token.person
    if token.revoked_at is not None or token.expires_at <= now or token.auth_epoch != person.auth_epoch:
        return None
    if not person.is_active or person.organisation is None or not person.organisation.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return Principal.token(person, token.scopes)


# --- MFA ----------------------------------------------------------------------------------


def mfa_device_for_enrolment(*, person: Person) -> TOTPDevice:
    """The person's unconfirmed TOTP device (created on first call), whose secret the QR code shows."""
    device = TOTPDevice.objects.filter(user=person, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="authenticator", confirmed=False)
    return device


@transaction.atomic
def mfa_confirm(*, person: Person, device: TOTPDevice, code: str, replacing: bool = False) -> bool:
    """Confirm a newly enrolled device with a first valid code, at first sign-in or as a replacement.

    Either way every other device is deleted and every session and API token ends, so a thief
    holding the old authenticator or an old session is out at once. Replacing needs a fresh
    re-authentication; the view checks it.
    """
    stage = "replacement" if replacing else "enrolment"
    if not device.verify_token(code.strip()):
        audit_record(actor=person, event=Event.MFA_FAILED, target=person, extra={"stage": stage})
        return False
    TOTPDevice.objects.filter(user=person).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    person_kill_sessions(person=person)
    audit_record(actor=person, event=Event.MFA_REPLACED if replacing else Event.MFA_ENROLLED, target=person)
    return True


# --- agreement ----------------------------------------------------------------------------


@transaction.atomic
def agreement_publish(*, actor: Principal | None, title: str, text: str) -> Agreement:
    version = (Agreement.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    agreement = Agreement.objects.create(version=version, title=title, text=text)
    audit_record(actor=actor, event=Event.AGREEMENT_PUBLISHED, target=agreement, extra={"version": version})
    return agreement


@transaction.atomic
def agreement_accept(*, person: Person, version: int) -> AgreementAcceptance:
    current = Agreement.objects.order_by("-version").first()
    if current is None or current.version != version:
        raise InvalidState("That is not the current agreement; reload the page and read the current one.")
    acceptance, _ = AgreementAcceptance.objects.get_or_create(person=person, agreement=current)
    audit_record(actor=person, event=Event.AGREEMENT_ACCEPTED, target=current, extra={"version": version})
    return acceptance


# --- invitations --------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    secret: str


@transaction.atomic
def invitation_create(
    *, actor: Principal, org_uuid: object, email: str, role: str = Role.MEMBER
) -> IssuedInvitation:
    organisation = access_organisation_by_id(actor, org_uuid, action=Action.INVITE_MEMBER)
    if organisation.status != OrganisationStatus.ACTIVE:
        raise InvalidState("Only active organisations can invite people.")
    if role not in Role.values:
        raise ApplicationError("Unknown role.", {"role": [f"must be one of {', '.join(Role.values)}"]})
    if Person.objects.filter(email__iexact=email).exists():
        raise Conflict("This e-mail already belongs to a member.", {"email": ["already registered"]})
    secret, _lookup, token_hash = tokens.new_secret(INVITATION_PREFIX)
    days = network_policy_current()["invitation_days"]
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email.lower(),
        role=role,
        token_hash=token_hash,
        invited_by=actor.person,
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(actor=actor, event=Event.INVITATION_CREATED, target=invitation, extra={"role": role})
    return IssuedInvitation(invitation=invitation, secret=secret)


@transaction.atomic
def invitation_accept(*, secret: str, display_name: str, password: str) -> Person:
    invitation = invitation_get_open(secret=secret)
    # lock the row so a double submit cannot create two people from one invitation
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise NotFound("This invitation is not valid. Ask your organisation admin for a new one.")
    person = person_create(
        actor=Principal.on_behalf_of(invitation.invited_by),
        email=invitation.email,
        display_name=display_name,
        organisation=invitation.organisation,
        password=password,
        role=invitation.role,
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = person
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(actor=person, event=Event.INVITATION_ACCEPTED, target=invitation)
    return person
