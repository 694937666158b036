"""The network policy over every action × role × steward × org status × clearance × gate condition.

The expected outcome is written out below as plain rules, independently of
`interlock.access` (which is never consulted to compute it). Every mismatch is listed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from interlock.access import Action, can
from interlock.accounts.models import Person, Role
from interlock.network.models import OrganisationStatus
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db

ORG_ACTIONS = [
    Action.VIEW,
    Action.VIEW_MEMBERS,
    Action.APPROVE_ACTIVATION,
    Action.SUSPEND,
    Action.REINSTATE,
    Action.REMOVE,
    Action.INVITE_MEMBER,
    Action.CREATE_SHARING_GROUP,
]
PERSON_ACTIONS = [
    Action.VIEW,
    Action.CHANGE_ROLE,
    Action.SUSPEND,
    Action.REINSTATE,
    Action.SET_CLEARANCE,
    Action.APPROVE_CLEARANCE,
    Action.SET_STEWARD,
]


@dataclass(frozen=True)
class ActorCase:
    role: str
    steward: bool
    org_status: str
    clearance: int
    active: bool
    mfa: bool
    accepted: bool


def passes_gate(a: ActorCase) -> bool:
    return a.active and a.mfa and a.accepted and a.org_status == "active"


def expected_on_org(a: ActorCase, action: Action, own: bool, status: str) -> bool:
    if not passes_gate(a):
        return False
    admin = a.role == "org_admin"
    table = {
        Action.VIEW: status == "active" or own or a.steward,
        Action.VIEW_MEMBERS: status == "active" or own or a.steward,
        Action.APPROVE_ACTIVATION: a.steward and not own,
        Action.SUSPEND: a.steward and not own,
        Action.REINSTATE: a.steward and not own,
        Action.REMOVE: a.steward and not own,
        Action.INVITE_MEMBER: admin and own,
        Action.CREATE_SHARING_GROUP: admin and own,
    }
    return table[action]


def expected_on_person(a: ActorCase, action: Action, target: str) -> bool:
    """target: self | colleague | inactive_colleague | outsider | outsider_suspended_org"""
    if not passes_gate(a):
        return False
    admin = a.role == "org_admin"
    colleague = target in ("self", "colleague", "inactive_colleague")
    is_self = target == "self"
    visible_to_all = target in ("self", "colleague", "outsider")
    table = {
        Action.VIEW: visible_to_all or colleague or a.steward,
        Action.CHANGE_ROLE: not is_self and ((admin and colleague) or a.steward),
        Action.SUSPEND: not is_self and ((admin and colleague) or a.steward),
        Action.REINSTATE: not is_self and ((admin and colleague) or a.steward),
        Action.SET_CLEARANCE: not is_self and admin and colleague,
        Action.APPROVE_CLEARANCE: a.steward and not is_self,
        Action.SET_STEWARD: a.steward and not is_self,
    }
    return table[action]


def test_network_policy_matches_the_written_rules(
    network: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.interlock.builders import NetworkBuilder

    build = NetworkBuilder()
    home = {status: build.org(f"Home {status}", status=status) for status in ("active", "suspended")}
    others = {status: build.org(f"Other {status}", status=status) for status in OrganisationStatus.values}
    outsider = build.person(others["active"])
    outsider_suspended_org = build.person(others["suspended"])
    cases = 0
    mismatches: list[str] = []
    for role, steward, org_status, clearance, active, mfa, accepted in itertools.product(
        [Role.MEMBER, Role.ORG_ADMIN],
        [False, True],
        ["active", "suspended"],
        [0, 1, 3],
        [True, False],
        [True, False],
        [True, False],
    ):
        case = ActorCase(role, steward, org_status, clearance, active, mfa, accepted)
        actor = build.person(
            home[org_status],
            role=role,
            steward=steward,
            clearance=clearance,
            active=active,
            mfa=mfa,
            accepted=accepted,
        )
        colleague = build.person(home[org_status])
        inactive_colleague = build.person(home[org_status], active=False)
        actor = principal_for(Person.objects.select_related("organisation").get(pk=actor.pk), mfa=mfa)
        org_targets = [(home[org_status], True, org_status)] + [
            (org, False, st) for st, org in others.items()
        ]
        for (org, own, status), action in itertools.product(org_targets, ORG_ACTIONS):
            cases += 1
            want = expected_on_org(case, action, own, status)
            if bool(can(actor, action, org)) != want:
                mismatches.append(f"{case} {action} org(own={own}, {status}): expected {want}")
        person_targets = {
            "self": actor.person,
            "colleague": colleague,
            "inactive_colleague": inactive_colleague,
            "outsider": outsider,
            "outsider_suspended_org": outsider_suspended_org,
        }
        for (label, target), action in itertools.product(person_targets.items(), PERSON_ACTIONS):
            cases += 1
            target = Person.objects.select_related("organisation").get(pk=target.pk)
            want = expected_on_person(case, action, label)
            if bool(can(actor, action, target)) != want:
                mismatches.append(f"{case} {action} person({label}): expected {want}")
    with capsys.disabled():
        print(f"\nnetwork policy matrix: {cases} decisions, {len(mismatches)} mismatches")
    assert cases > 5000
    assert mismatches == []


def test_superuser_gets_no_bypass(network: object) -> None:
    from tests.interlock.builders import NetworkBuilder

    build = NetworkBuilder()
    applicant = build.org(status="applicant")
    superuser = build.person(build.org())
    superuser.is_superuser = True
    superuser.is_staff = True
    superuser.save()
    assert not can(principal_for(superuser), Action.VIEW, applicant)
    assert not can(principal_for(superuser), Action.APPROVE_ACTIVATION, applicant)
    assert not can(principal_for(superuser, mfa=False), Action.VIEW, build.org())
