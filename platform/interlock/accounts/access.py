"""The rule for people: who is listed in the directory, and who changes whose standing."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.lookups import access_by_uuid
from interlock.access.principal import Principal
from interlock.accounts.models import Person, Role
from interlock.network.models import OrganisationStatus


def _is_admin_of(person: Person, organisation_id: int | None) -> bool:
    return person.role == Role.ORG_ADMIN and person.organisation_id == organisation_id


def person_rule(principal: Principal, action: Action, target: Person) -> Decision:
    person = principal.person
    same_org = person.organisation_id == target.organisation_id
    if action == Action.VIEW:
        if person.pk == target.pk or same_org or (person.is_steward and target.organisation_id is not None):
            return allow("self, steward or colleague")
        if target.is_active and target.organisation is not None and target.organisation.is_active:
            return allow("active member of an active organisation")
        return deny("inactive people are listed only to stewards and colleagues")
    if action in (Action.CHANGE_ROLE, Action.SUSPEND, Action.REINSTATE):
        if person.pk == target.pk:
            return deny("nobody changes their own standing")
        if _is_admin_of(person, target.organisation_id) or person.is_steward:
            return allow("org admin or steward")
        return deny("only the org's admins or stewards")
    if action == Action.SET_CLEARANCE:
        if person.pk == target.pk:
            return deny("nobody sets their own clearance")
        if _is_admin_of(person, target.organisation_id):
            return allow("org admin")
        return deny("only the org's admins request clearance")
    if action == Action.APPROVE_CLEARANCE:
        if not person.is_steward:
            return deny("clearance ≥ 2 needs a steward")
        if person.pk == target.pk:
            return deny("nobody approves their own clearance")
        return allow("steward")
    if action == Action.SET_STEWARD:
        if person.is_steward and person.pk != target.pk:
            return allow("stewards appoint stewards")
        return deny("only another steward")
    return deny(f"{action} does not apply to people")


def visible_people(principal: Principal, queryset: QuerySet[Person]) -> QuerySet[Person]:
    person = principal.person
    if person.is_steward:
        return queryset.exclude(organisation__isnull=True)
    return queryset.filter(
        Q(pk=person.pk)
        | Q(organisation_id=person.organisation_id)
        | Q(is_active=True, organisation__status=OrganisationStatus.ACTIVE)
    )


def access_person_by_id(principal: Principal, person_uuid: object, *, action: Action) -> Person:
    return access_by_uuid(
        principal, Person.objects.select_related("organisation"), person_uuid, action=action
    )


policy.register(
    Person,
    rule=person_rule,
    filter_=visible_people,
    actions=(
        Action.VIEW,
        Action.CHANGE_ROLE,
        Action.SUSPEND,
        Action.REINSTATE,
        Action.SET_CLEARANCE,
        Action.APPROVE_CLEARANCE,
        Action.SET_STEWARD,
    ),
    axes="none (directory entry: name, organisation, role, clearance)",
    audience="active members of active organisations; everyone of one's own organisation; stewards see all",
)
