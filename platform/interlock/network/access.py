"""Rules for network objects: organisations, sharing groups and the network as a whole.

Each rule is a function of (principal, action, target) that runs after the network gate and
the token scope (`interlock.access.policy.can`). Superusers are not mentioned anywhere on
purpose: they get no bypass. Role checks (steward, org admin) live here and in the other
apps' `access.py`, never in services or views.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.lookups import access_by_uuid
from interlock.access.policy import NETWORK, _Network
from interlock.access.principal import Principal
from interlock.accounts.models import Person, Role
from interlock.core.errors import NotFound
from interlock.network.models import Organisation, OrganisationStatus, SharingGroup


def is_admin_of(person: Person, organisation_id: int | None) -> bool:
    return person.role == Role.ORG_ADMIN and person.organisation_id == organisation_id


def organisation_rule(principal: Principal, action: Action, org: Organisation) -> Decision:
    person = principal.person
    own = person.organisation_id == org.pk
    if action == Action.VIEW:
        if org.status == OrganisationStatus.ACTIVE or own or person.is_steward:
            return allow("active organisations are listed in the directory")
        return deny("only stewards see organisations outside the network")
    if action == Action.VIEW_MEMBERS:
        if own or person.is_steward or org.status == OrganisationStatus.ACTIVE:
            return allow("members of active organisations are listed")
        return deny("members of inactive organisations are not listed")
    if action in (Action.APPROVE_ACTIVATION, Action.SUSPEND, Action.REINSTATE, Action.REMOVE):
        if not person.is_steward:
            return deny("vetting needs a steward")
        if own:
            return deny("a steward does not vet their own organisation")
        return allow("steward of another organisation")
    if action == Action.INVITE_MEMBER:
        return allow("org admin") if is_admin_of(person, org.pk) else deny("only the org's admins invite")
    if action == Action.CREATE_SHARING_GROUP:
        return (
            allow("org admin") if is_admin_of(person, org.pk) else deny("only the org's admins create groups")
        )
    if action == Action.MANAGE_KEYS:
        return allow("steward") if person.is_steward else deny("only stewards manage key versions")
    return deny(f"{action} does not apply to organisations")


def sharing_group_rule(principal: Principal, action: Action, group: SharingGroup) -> Decision:
    person = principal.person
    owner = person.organisation_id == group.owner_org_id
    member = group.members.filter(pk=principal.organisation_id).exists()
    if action == Action.VIEW:
        return allow("owner or member org") if owner or member else deny("not in the group")
    if action == Action.VIEW_MEMBERS:
        if owner or (member and not group.hide_members):
            return allow("owner, or member of a group with a visible list")
        return deny("member list hidden")
    if action == Action.CHANGE:
        return (
            allow("owner org admin")
            if is_admin_of(person, group.owner_org_id)
            else deny("not the owner's admin")
        )
    return deny(f"{action} does not apply to sharing groups")


def network_rule(principal: Principal, action: Action, _target: object) -> Decision:
    steward = principal.person.is_steward
    if action in (Action.VIEW_AUDIT, Action.APPLY_ORGANISATION, Action.MANAGE_KEYS, Action.VET):
        return allow("steward") if steward else deny("only stewards do this for the network")
    if action == Action.LIST_OPEN_CALLS:
        return allow("vetted member")
    return deny(f"{action} does not apply to the network")


# --- the same rules as SQL filters for lists ------------------------------------------------


def visible_organisations(principal: Principal, queryset: QuerySet[Organisation]) -> QuerySet[Organisation]:
    if principal.person.is_steward:
        return queryset
    return queryset.filter(Q(status=OrganisationStatus.ACTIVE) | Q(pk=principal.organisation_id))


def visible_sharing_groups(principal: Principal, queryset: QuerySet[SharingGroup]) -> QuerySet[SharingGroup]:
    org_id = principal.organisation_id
    member_of = SharingGroup.members.through.objects.filter(organisation_id=org_id).values("sharinggroup_id")
    return queryset.filter(Q(owner_org_id=org_id) | Q(pk__in=member_of))


def access_organisation_by_id(principal: Principal, org_uuid: object, *, action: Action) -> Organisation:
    return access_by_uuid(principal, Organisation.objects.all(), org_uuid, action=action)


def access_sharing_group_by_id(principal: Principal, group_uuid: object, *, action: Action) -> SharingGroup:
    return access_by_uuid(
        principal, SharingGroup.objects.select_related("owner_org"), group_uuid, action=action
    )


def target_sharing_group(principal: Principal, group_uuid: object | None) -> SharingGroup | None:
    """The sharing group a widening (an output release, a disclosure case) names as its target,
    if the principal may see it; None otherwise. A group the principal's organisation neither
    owns nor belongs to answers exactly like an id that exists nowhere, so a target field can
    neither probe for groups nor send anything to one the sender cannot see."""
    if not group_uuid:
        return None
    try:
        return access_sharing_group_by_id(principal, group_uuid, action=Action.VIEW)
    except NotFound:
        return None


policy.register(
    Organisation,
    rule=organisation_rule,
    filter_=visible_organisations,
    actions=(
        Action.VIEW,
        Action.VIEW_MEMBERS,
        Action.APPROVE_ACTIVATION,
        Action.SUSPEND,
        Action.REINSTATE,
        Action.REMOVE,
        Action.INVITE_MEMBER,
        Action.CREATE_SHARING_GROUP,
        Action.MANAGE_KEYS,
    ),
    axes="none (directory metadata; no label or tier)",
    audience="active organisations: every vetted member; others: their own members and stewards",
)
policy.register(
    SharingGroup,
    rule=sharing_group_rule,
    filter_=visible_sharing_groups,
    actions=(Action.VIEW, Action.VIEW_MEMBERS, Action.CHANGE),
    axes="none (never carries RED or AMBER+STRICT content; what is shared with it keeps its own axes)",
    audience="owner and member organisations; the member list only to the owner unless hidden",
)
policy.register(
    _Network,
    rule=network_rule,
    filter_=None,
    actions=(
        Action.VIEW_AUDIT,
        Action.APPLY_ORGANISATION,
        Action.MANAGE_KEYS,
        Action.VET,
        Action.LIST_OPEN_CALLS,
    ),
    axes="none",
    audience="stewards for the audit log, new organisations and keys; open calls: every vetted member",
)

__all__ = ["NETWORK", "access_organisation_by_id", "access_sharing_group_by_id", "is_admin_of"]
