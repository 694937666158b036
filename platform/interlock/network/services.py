"""Writes about the network: organisation vetting lifecycle, sharing groups, the policy."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from interlock.access import NETWORK, Action, can
from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, Conflict, InvalidState, NotFound
from interlock.network.access import access_organisation_by_id, access_sharing_group_by_id
from interlock.network.models import (
    NetworkPolicy,
    Organisation,
    OrganisationActivation,
    OrganisationStatus,
    SharingGroup,
)
from interlock.network.selectors import network_policy_current

NAME_MAX = Organisation._meta.get_field("name").max_length or 200
SLUG_MAX = Organisation._meta.get_field("slug").max_length or 80


def _free_slug(name: str) -> str:
    """A slug no organisation has: names that differ only past the slug's length, or only in
    characters a slug drops ("!!!" and "???" both give "org"), get a random suffix."""
    base = slugify(name)[:SLUG_MAX] or "org"
    slug = base
    while Organisation.objects.filter(slug=slug).exists():
        slug = f"{base[: SLUG_MAX - 7]}-{secrets.token_hex(3)}"
    return slug


@transaction.atomic
def organisation_apply(
    *, actor: Principal | None, name: str, declared_scope: str = "", clearance_ceiling: int = 1
) -> Organisation:
    """Register an applicant organisation; it becomes active only after two stewards approve.

    A person applies on the network's behalf only if the policy lets them (stewards); `None`
    is the operator's bootstrap of the first organisations."""
    if actor is not None and not can(actor, Action.APPLY_ORGANISATION, NETWORK):
        raise NotFound
    name = name.strip()
    if not name:
        raise ApplicationError("An organisation needs a name.", {"name": ["required"]})
    if len(name) > NAME_MAX:
        raise ApplicationError("The name is too long.", {"name": [f"at most {NAME_MAX} characters"]})
    if not 0 <= clearance_ceiling <= 3:
        raise ApplicationError("The clearance ceiling is a tier from 0 to 3.", {"clearance_ceiling": ["0–3"]})
    if Organisation.objects.filter(name__iexact=name).exists():
        raise Conflict("An organisation with this name exists.", {"name": ["already taken"]})
    org = Organisation.objects.create(
        name=name,
        slug=_free_slug(name),
        declared_scope=declared_scope,
        clearance_ceiling=clearance_ceiling,
    )
    audit_record(actor=actor, event=Event.ORGANISATION_APPLIED, target=org)
    return org


def _set_status(org: Organisation, status: str) -> None:
    org.status = status
    org.status_changed_at = timezone.now()
    org.save(update_fields=["status", "status_changed_at"])


@transaction.atomic
def organisation_approve_activation(*, actor: Principal, org_uuid: object) -> Organisation:
    """One steward's approval; the second distinct steward's approval activates the organisation."""
    org = access_organisation_by_id(actor, org_uuid, action=Action.APPROVE_ACTIVATION)
    org = Organisation.objects.select_for_update().get(pk=org.pk)
    if org.status != OrganisationStatus.APPLICANT:
        raise InvalidState("Only applicant organisations can be approved.")
    _, created = OrganisationActivation.objects.get_or_create(organisation=org, steward=actor.person)
    if not created:
        raise Conflict("You already approved this organisation; another steward must approve it.")
    audit_record(actor=actor, event=Event.ORGANISATION_ACTIVATION_APPROVED, target=org)
    needed = network_policy_current()["organisation_activation_stewards"]
    if org.activations.values("steward").distinct().count() >= needed:
        _set_status(org, OrganisationStatus.ACTIVE)
        audit_record(actor=actor, event=Event.ORGANISATION_ACTIVATED, target=org)
    return org


@transaction.atomic
def organisation_suspend(*, actor: Principal, org_uuid: object, reason: str) -> Organisation:
    """Takes effect on the next request: the gate refuses members, and their sessions and tokens die."""
    org = access_organisation_by_id(actor, org_uuid, action=Action.SUSPEND)
    if org.status != OrganisationStatus.ACTIVE:
        raise InvalidState("Only active organisations can be suspended.")
    if not reason.strip():
        raise ApplicationError("Give a reason for the suspension.", {"reason": ["required"]})
    _set_status(org, OrganisationStatus.SUSPENDED)
    Person.objects.filter(organisation=org).update(auth_epoch=F("auth_epoch") + 1)
    audit_record(
        actor=actor, event=Event.ORGANISATION_SUSPENDED, target=org, extra={"reason_length": len(reason)}
    )
    return org


@transaction.atomic
def organisation_reinstate(*, actor: Principal, org_uuid: object) -> Organisation:
    org = access_organisation_by_id(actor, org_uuid, action=Action.REINSTATE)
    if org.status != OrganisationStatus.SUSPENDED:
        raise InvalidState("Only suspended organisations can be reinstated.")
    _set_status(org, OrganisationStatus.ACTIVE)
    audit_record(actor=actor, event=Event.ORGANISATION_REINSTATED, target=org)
    return org


@transaction.atomic
def organisation_remove(*, actor: Principal, org_uuid: object) -> Organisation:
    org = access_organisation_by_id(actor, org_uuid, action=Action.REMOVE)
    if org.status == OrganisationStatus.REMOVED:
        raise InvalidState("This organisation is already removed.")
    _set_status(org, OrganisationStatus.REMOVED)
    Person.objects.filter(organisation=org).update(auth_epoch=F("auth_epoch") + 1, is_active=False)
    audit_record(actor=actor, event=Event.ORGANISATION_REMOVED, target=org)
    return org


@transaction.atomic
def organisation_bootstrap(*, name: str, clearance_ceiling: int, declared_scope: str = "") -> Organisation:
    """Operators only (management commands): a founding organisation, active from the start, audited."""
    org = organisation_apply(
        actor=None, name=name, declared_scope=declared_scope, clearance_ceiling=clearance_ceiling
    )
    _set_status(org, OrganisationStatus.ACTIVE)
    audit_record(actor=None, event=Event.ORGANISATION_ACTIVATED, target=org, actor_label="operator")
    return org


def _member_orgs(member_uuids: list[Any]) -> list[Organisation]:
    orgs = list(Organisation.objects.filter(uuid__in=member_uuids, status=OrganisationStatus.ACTIVE))
    if len(orgs) != len(set(map(str, member_uuids))):
        raise ApplicationError(
            "Some member organisations are unknown or not active.", {"members": ["unknown"]}
        )
    return orgs


@transaction.atomic
def sharing_group_create(
    *, actor: Principal, name: str, member_uuids: list[Any], hide_members: bool = False
) -> SharingGroup:
    home = actor.person.organisation
    if home is None:
        raise NotFound
    owner = access_organisation_by_id(actor, home.uuid, action=Action.CREATE_SHARING_GROUP)
    name = name.strip()
    if not name:
        raise ApplicationError("A sharing group needs a name.", {"name": ["required"]})
    if SharingGroup.objects.filter(owner_org=owner, name__iexact=name).exists():
        raise Conflict("Your organisation already has a group with this name.", {"name": ["already taken"]})
    members = _member_orgs(member_uuids)
    group = SharingGroup.objects.create(name=name, owner_org=owner, hide_members=hide_members)
    group.members.set({*members, owner})
    audit_record(
        actor=actor,
        event=Event.SHARING_GROUP_CREATED,
        target=group,
        extra={"members": sorted(str(org.uuid) for org in group.members.all())},
    )
    return group


@transaction.atomic
def sharing_group_update(
    *,
    actor: Principal,
    group_uuid: object,
    member_uuids: list[Any] | None = None,
    hide_members: bool | None = None,
) -> SharingGroup:
    group = access_sharing_group_by_id(actor, group_uuid, action=Action.CHANGE)
    if member_uuids is not None:
        group.members.set({*_member_orgs(member_uuids), group.owner_org})
    if hide_members is not None:
        group.hide_members = hide_members
        group.save(update_fields=["hide_members"])
    audit_record(
        actor=actor,
        event=Event.SHARING_GROUP_CHANGED,
        target=group,
        extra={
            "members": sorted(str(org.uuid) for org in group.members.all()),
            "hide_members": group.hide_members,
        },
    )
    return group


@transaction.atomic
def network_policy_publish(*, actor: Principal | None, changes: dict[str, Any]) -> NetworkPolicy:
    """A new policy version: the current document with `changes` applied; unknown keys refused."""
    document = network_policy_current()
    unknown = sorted(set(changes) - set(document))
    if unknown:
        raise ApplicationError("Unknown policy settings.", {key: ["unknown setting"] for key in unknown})
    document.update(changes)
    version = (NetworkPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0) + 1
    policy = NetworkPolicy.objects.create(
        version=version, document=document, created_by=actor.person if actor else None
    )
    audit_record(actor=actor, event=Event.NETWORK_POLICY_PUBLISHED, target=policy, extra={"version": version})
    return policy
