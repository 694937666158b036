"""The finding policy over viewer role × clearance × org status × relation × label × audience ×
hazard tier × state × grant × action.

Expected outcomes come from the plain rules written below (the DESIGN.md tables, in words),
never from `interlock.access`. Both the object check `can()` and the SQL filter `visible()`
are compared with them. Findings are written straight to the database, including label and
audience combinations the services would refuse, so the label still narrows the audience
even for inconsistent stored data.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from interlock.access import Action, can, visible
from interlock.accounts.models import Person, Role
from interlock.findings.models import Finding, FindingGrant, FindingRevision, FindingState, Label
from interlock.findings.services import group_recipients_bind
from interlock.network.models import OrganisationStatus, SharingGroup
from tests.interlock.builders import NetworkBuilder, principal_for

pytestmark = pytest.mark.django_db

LABELS = [Label.RED, Label.AMBER_STRICT, Label.AMBER, Label.GREEN, Label.CLEAR]
STATES = [FindingState.SHARED, FindingState.DRAFT, FindingState.WITHDRAWN]
GRANTS = ["none", "read", "comment", "expired"]


@dataclass(frozen=True)
class Viewer:
    relation: str  # author | owner_org | group_org | other_org
    role: str
    clearance: int
    org_active: bool


@dataclass(frozen=True)
class FindingCase:
    label: str
    own_org: bool
    group: bool
    network: bool
    hazard: int
    state: str


def grant_for(viewer_pk: int, finding_pk: int) -> str:
    digest = hashlib.sha256(f"{viewer_pk}:{finding_pk}".encode()).digest()
    return GRANTS[digest[0] % len(GRANTS)]


# --- the rules, in words -------------------------------------------------------------------------


def expected_view(v: Viewer, f: FindingCase, grant: str) -> bool:
    if not v.org_active:
        return False  # the network gate: organisation must be active
    if v.clearance < f.hazard:
        return False  # hazard tier n needs clearance ≥ n, for everyone
    if v.relation == "author":
        return True
    if f.state in (FindingState.DRAFT, FindingState.WITHDRAWN):
        return False
    granted = grant in ("read", "comment")
    if f.label == Label.RED:
        return granted  # named people with explicit, unexpired grants
    if f.label == Label.AMBER_STRICT:
        return granted and v.relation == "owner_org"  # named people of the owner org
    if granted:
        return True
    if f.own_org and v.relation == "owner_org":
        return True
    if f.group and v.relation in ("owner_org", "group_org"):
        return True
    return f.network and f.label in (Label.GREEN, Label.CLEAR)  # the whole network: GREEN/CLEAR only


def reached_without_grant(v: Viewer, f: FindingCase) -> bool:
    return expected_view(v, f, "none")


def expected_comment(v: Viewer, f: FindingCase, grant: str) -> bool:
    if not expected_view(v, f, grant):
        return False
    if v.relation == "author":
        return True
    if grant == "comment":
        return True
    if f.label in (Label.RED, Label.AMBER_STRICT):
        return False
    return reached_without_grant(v, f)


def expected_edit(v: Viewer, f: FindingCase, grant: str) -> bool:
    return expected_view(v, f, grant) and v.relation == "author" and f.state != FindingState.WITHDRAWN


def expected_withdraw(v: Viewer, f: FindingCase, grant: str) -> bool:
    if not expected_view(v, f, grant) or f.state == FindingState.WITHDRAWN:
        return False
    return v.relation == "author" or (v.role == Role.ORG_ADMIN and v.relation == "owner_org")


# --- the test ------------------------------------------------------------------------------------------


def test_finding_policy_matches_the_written_rules(capsys: pytest.CaptureFixture[str]) -> None:
    build = NetworkBuilder()
    owner = build.org("Owner")
    member_orgs = {
        True: build.org("Member"),
        False: build.org("Member (suspended)", status=OrganisationStatus.SUSPENDED),
    }
    other_orgs = {
        True: build.org("Other"),
        False: build.org("Other (suspended)", status=OrganisationStatus.SUSPENDED),
    }
    group = SharingGroup.objects.create(name="G", owner_org=owner)
    group.members.set([owner, *member_orgs.values()])

    viewers: list[tuple[Viewer, Person]] = []
    for role, clearance in itertools.product([Role.MEMBER, Role.ORG_ADMIN], [0, 1, 2, 3]):
        viewers.append(
            (Viewer("author", role, clearance, True), build.person(owner, role=role, clearance=clearance))
        )
        viewers.append(
            (Viewer("owner_org", role, clearance, True), build.person(owner, role=role, clearance=clearance))
        )
        for active in (True, False):
            viewers.append(
                (
                    Viewer("group_org", role, clearance, active),
                    build.person(member_orgs[active], role=role, clearance=clearance),
                )
            )
            viewers.append(
                (
                    Viewer("other_org", role, clearance, active),
                    build.person(other_orgs[active], role=role, clearance=clearance),
                )
            )
    authors = [person for viewer, person in viewers if viewer.relation == "author"]
    read_perm = Permission.objects.get(codename="read_finding")
    comment_perm = Permission.objects.get(codename="comment_finding")
    now = timezone.now()

    cases: dict[int, FindingCase] = {}
    for label, own_org, in_group, network, hazard, state in itertools.product(
        LABELS, [False, True], [False, True], [False, True], [0, 1, 2, 3], STATES
    ):
        finding = Finding.objects.create(
            owner_org=owner,
            label=label,
            audience_own_org=own_org,
            audience_network=network,
            hazard_tier=hazard,
            state=state,
        )
        finding.authors.set(authors)
        if in_group:
            finding.audience_groups.add(group)
            group_recipients_bind(finding=finding, groups=[group])  # what every share does
        cases[finding.pk] = FindingCase(label, own_org, in_group, network, hazard, state)
    grants = []
    for (viewer, person), finding_pk in itertools.product(viewers, cases):
        kind = grant_for(person.pk, finding_pk)
        if kind == "none" or viewer.relation == "author":
            continue
        grants.append(
            FindingGrant(
                content_object_id=finding_pk,
                user=person,
                granted_by=authors[0],
                reason="matrix",
                permission=comment_perm if kind == "comment" else read_perm,
                expires_at=now - timedelta(days=1) if kind == "expired" else now + timedelta(days=1),
            )
        )
    FindingGrant.objects.bulk_create(grants)
    assert not FindingRevision.objects.exists()

    decisions = 0
    mismatches: list[str] = []
    findings = {f.pk: f for f in Finding.objects.select_related("owner_org")}
    for viewer, person in viewers:
        person = Person.objects.select_related("organisation").get(pk=person.pk)
        seen = set(visible(principal_for(person), Finding.objects.all()).values_list("pk", flat=True))
        for finding_pk, case in cases.items():
            grant = "none" if viewer.relation == "author" else grant_for(person.pk, finding_pk)
            want = expected_view(viewer, case, grant)
            decisions += 1
            if (finding_pk in seen) != want:
                mismatches.append(f"visible() {viewer} {case} grant={grant}: expected {want}")
            # the object check, on a deterministic quarter of the pairs, for four actions
            if int(hashlib.sha256(f"{person.pk}/{finding_pk}".encode()).hexdigest(), 16) % 4:
                continue
            for action, rule in (
                (Action.VIEW, expected_view),
                (Action.COMMENT, expected_comment),
                (Action.EDIT, expected_edit),
                (Action.WITHDRAW, expected_withdraw),
            ):
                decisions += 1
                want = rule(viewer, case, grant)
                if bool(can(principal_for(person), action, findings[finding_pk])) != want:
                    mismatches.append(f"can({action}) {viewer} {case} grant={grant}: expected {want}")
    with capsys.disabled():
        print(
            f"\nfinding policy matrix: {len(viewers)} viewers × {len(cases)} findings, "
            f"{decisions} decisions, {len(mismatches)} mismatches"
        )
    assert decisions > 10_000
    assert mismatches[:20] == []
