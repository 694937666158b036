"""HTTP IDOR sweep, second part: findings, their attachments, organisation libraries and the
network objects (organisations, people, sharing groups).

Every person of a small seeded network requests every object through every endpoint that takes
its id (API and pages), plus unknown ids of every type. The expected answer is written below in
words, from the rules of docs/findings.md, docs/access.md and ../shared/SECURITY.md — never from
`interlock.access`:

- 200 when the person may see the object (and, for author-only views, may do that to it);
- 404 for an object the person may not see, exactly like an id that does not exist;
- 403 (or 409 for a state the view does not apply to) only where the person may *see* the finding
  but not do this to it (docs/access.md: `PolicyDenied` is for visible objects). A 403 or 409 for
  a finding outside the person's view would confirm that the id exists: it counts as a mismatch.

Prints the figure; the problem list must be empty.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from interlock.findings.models import Capability, Finding, FindingGrant, FindingState, Label
from interlock.findings.rules import Audience
from interlock.findings.services import (
    comment_create,
    finding_create,
    finding_grant,
    finding_revise,
    finding_share,
    finding_withdraw,
)
from interlock.network.models import OrganisationStatus, SharingGroup
from tests.interlock.builders import PASSWORD, principal_for

pytestmark = pytest.mark.django_db

A_ORG, B_ORG, C_ORG, D_ORG = "a_", "b_", "c_", "d_"


@dataclass(frozen=True)
class Seeded:
    """One finding of the sweep: who wrote it, and who may read it — in words and as names."""

    finding: Finding
    authors: frozenset[str]
    readers: frozenset[str]
    why: str


def _upload(client: Any, parent_type: str, parent_id: object, filename: str) -> str:
    response = client.generic(
        "POST",
        f"/api/v1/artifacts/?parent_type={parent_type}&parent_id={parent_id}&filename={filename}",
        f"contents of {filename}".encode(),
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content[:300]
    return str(response.json()["id"])


def _status(client: Any, method: str, path: str, data: dict[str, Any] | None = None) -> int:
    response: Any
    if method == "POST" and isinstance(client, APIClient):
        response = client.post(path, data or {}, format="json")
    elif method == "POST":
        response = client.post(path, data or {})
    else:
        response = client.get(path)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)  # a download must also finish, not only start
    return int(response.status_code)


def test_every_person_requests_every_finding_artifact_and_network_object_as_the_rules_say(
    network: Any, api_client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")  # thousands of expected 404s, unlogged
    a, b = network.org("Alpha"), network.org("Beta")
    c, d = network.org("Gamma"), network.org("Delta")
    suspended = network.org("Suspended", status=OrganisationStatus.SUSPENDED)
    applicant = network.org("Applicant", status=OrganisationStatus.APPLICANT)
    people = {
        "a_author": network.person(a, clearance=1, password=PASSWORD),
        "a_member0": network.person(a, clearance=0, password=PASSWORD),
        "a_admin": network.person(a, role="org_admin", clearance=3, password=PASSWORD),
        "b_member": network.person(b, clearance=1, password=PASSWORD),
        "b_grantee": network.person(b, clearance=2, password=PASSWORD),
        "c_member": network.person(c, clearance=1, password=PASSWORD),
        "c_steward": network.person(c, steward=True, clearance=3, password=PASSWORD),
        "d_admin": network.person(d, role="org_admin", clearance=1, password=PASSWORD),
    }
    # people who are objects only: they cannot pass the gate, or are not in the network now
    targets = {
        **people,
        "b_inactive": network.person(b, clearance=1, active=False),
        "suspended_member": network.person(suspended, clearance=1),
        "applicant_member": network.person(applicant, clearance=1),
    }
    groups = {
        "g_ab": SharingGroup.objects.create(name="Alpha and Beta", owner_org=a),
        "g_cd": SharingGroup.objects.create(name="Gamma and Delta", owner_org=c),
        "g_bc_hidden": SharingGroup.objects.create(name="Beta's circle", owner_org=b, hide_members=True),
    }
    groups["g_ab"].members.set([a, b])
    groups["g_cd"].members.set([c, d])
    groups["g_bc_hidden"].members.set([b, c])
    orgs = {"a": a, "b": b, "c": c, "d": d, "suspended": suspended, "applicant": applicant}

    author, admin = people["a_author"], people["a_admin"]
    apis = {name: api_client_for(person) for name, person in people.items()}
    in_a = frozenset({"a_author", "a_member0", "a_admin"})
    in_b = frozenset({"b_member", "b_grantee"})
    in_c = frozenset({"c_member", "c_steward"})
    everyone = frozenset(people)

    def write(by: str, title: str, *, label: str, tier: int = 0) -> Finding:
        finding = finding_create(
            actor=principal_for(people[by]), title=title, body="first text", label=label, hazard_tier=tier
        )
        finding_revise(
            actor=principal_for(people[by]), finding_uuid=finding.uuid, title=title, body="second text"
        )
        return finding

    def share(by: str, finding: Finding, label: str, **audience: Any) -> None:
        finding_share(
            actor=principal_for(people[by]),
            finding_uuid=finding.uuid,
            label=label,
            audience=Audience(**audience),
        )

    def grant(finding: Finding, name: str, capability: str, *, by: str = "a_author") -> None:
        finding_grant(
            actor=principal_for(people[by]),
            finding_uuid=finding.uuid,
            person_uuid=people[name].uuid,
            capability=capability,
            expires_at=timezone.now() + timedelta(days=7),
            reason="needs it for the replication",
        )

    seeded: dict[str, Seeded] = {}

    def seed(
        key: str, finding: Finding, authors: set[str], readers: frozenset[str] | set[str], why: str
    ) -> None:
        seeded[key] = Seeded(finding, frozenset(authors), frozenset(readers), why)

    f = write("a_author", "Draft", label=Label.AMBER)
    seed(
        "draft", f, {"a_author"}, {"a_author"}, "a draft is for its authors; the owner org's admin too is out"
    )

    f = write("a_author", "Own org, amber", label=Label.AMBER)
    share("a_author", f, Label.AMBER, own_org=True)
    seed("own_amber", f, {"a_author"}, in_a, "AMBER to the owner organisation, H0: every Alpha person")

    f = write("a_author", "Own org, amber, H1", label=Label.AMBER, tier=1)
    share("a_author", f, Label.AMBER, own_org=True)
    seed("own_amber_h1", f, {"a_author"}, in_a - {"a_member0"}, "H1 needs clearance 1: Alpha minus a_member0")

    f = write("b_member", "Beta's own", label=Label.AMBER)
    share("b_member", f, Label.AMBER, own_org=True)
    seed("b_own_amber", f, {"b_member"}, in_b, "AMBER to Beta's own organisation: Beta only")

    f = write("a_author", "To the Alpha–Beta group", label=Label.AMBER)
    share("a_author", f, Label.AMBER, group_uuids=(str(groups["g_ab"].uuid),))
    comment_create(actor=principal_for(people["b_member"]), finding_uuid=f.uuid, body="Reproduced here.")
    seed("group_ab_amber", f, {"a_author"}, in_a | in_b, "AMBER to group Alpha+Beta: its two organisations")

    f = write("c_member", "To the Gamma–Delta group", label=Label.GREEN)
    share("c_member", f, Label.GREEN, group_uuids=(str(groups["g_cd"].uuid),))
    seed("group_cd_green", f, {"c_member"}, in_c | {"d_admin"}, "GREEN to group Gamma+Delta, not the network")

    f = write("a_author", "Whole network", label=Label.GREEN)
    share("a_author", f, Label.GREEN, network=True)
    seed("network_green", f, {"a_author"}, everyone, "GREEN to the whole network, H0: everyone")

    f = write("a_admin", "Whole network, H2", label=Label.GREEN, tier=2)
    share("a_admin", f, Label.GREEN, network=True)
    seed(
        "network_green_h2",
        f,
        {"a_admin"},
        {"a_admin", "b_grantee", "c_steward"},
        "H2 narrows even the whole network to clearance ≥ 2",
    )

    f = write("a_author", "Red", label=Label.RED)
    share("a_author", f, Label.RED)
    grant(f, "b_grantee", Capability.READ)
    FindingGrant.objects.create(  # an expired grant gives nothing
        content_object=f,
        user=people["c_member"],
        permission=Permission.objects.get(codename=Capability.READ, content_type__app_label="findings"),
        expires_at=timezone.now() - timedelta(minutes=1),
        granted_by=author,
        reason="expired",
    )
    seed("red", f, {"a_author"}, {"a_author", "b_grantee"}, "RED: authors and named, unexpired grants only")

    f = write("a_author", "Amber strict", label=Label.AMBER_STRICT)
    share("a_author", f, Label.AMBER_STRICT)
    grant(f, "a_member0", Capability.COMMENT)
    seed(
        "amber_strict",
        f,
        {"a_author"},
        {"a_author", "a_member0"},
        "AMBER+STRICT: authors and named colleagues",
    )

    f = write("a_author", "Amber with a named outsider", label=Label.AMBER)
    share("a_author", f, Label.AMBER, own_org=True)
    grant(f, "d_admin", Capability.COMMENT)
    seed("amber_named", f, {"a_author"}, in_a | {"d_admin"}, "AMBER to Alpha plus a named Delta person")

    f = write("a_author", "Amber stored too wide", label=Label.AMBER)
    share("a_author", f, Label.AMBER)
    Finding.objects.filter(pk=f.pk).update(audience_network=True)  # a row wider than its label allows
    seed(
        "amber_stored_network",
        f,
        {"a_author"},
        {"a_author"},
        "AMBER never reaches the network, whatever is saved",
    )

    f = write("a_admin", "Above most clearances", label=Label.AMBER, tier=3)
    share("a_admin", f, Label.AMBER, own_org=True)
    f.authors.add(people["a_member0"])  # an author below the tier: clearance binds authors too
    seed(
        "above_clearance", f, {"a_admin", "a_member0"}, {"a_admin"}, "H3: clearance 3 only, authors included"
    )

    f = write("a_author", "Later withdrawn", label=Label.GREEN)
    share("a_author", f, Label.GREEN, network=True)
    seed("withdrawn", f, {"a_author"}, {"a_author"}, "a withdrawn finding is for its authors only")

    f = write("a_author", "Released", label=Label.GREEN)
    share("a_author", f, Label.GREEN, network=True)
    seed("clear", f, {"a_author"}, everyone, "CLEAR (set by a released decision) to the network: everyone")

    # attachments go on while each finding is still editable; then the closing moves
    attachments = {
        key: _upload(apis[sorted(item.authors)[0]], "finding", item.finding.uuid, f"{key}.txt")
        for key, item in seeded.items()
    }
    finding_withdraw(
        actor=principal_for(admin), finding_uuid=seeded["withdrawn"].finding.uuid, reason="wrong"
    )
    Finding.objects.filter(pk=seeded["clear"].finding.pk).update(
        label=Label.CLEAR, state=FindingState.DISCLOSED
    )
    for item in seeded.values():
        item.finding.refresh_from_db()
    libraries = {
        "a": (_upload(apis["a_author"], "library", a.uuid, "alpha-notes.txt"), in_a),
        "c": (_upload(apis["c_steward"], "library", c.uuid, "gamma-notes.txt"), in_c),
    }

    # --- the truth, in words ------------------------------------------------------------------
    def finding_answer(name: str, key: str, view: str) -> int:
        """`view`: read (any reader), author (share dialog, grants), readers (the read log)."""
        item = seeded[key]
        if name not in item.readers:
            return 404
        if view == "read":
            return 200
        # only authors decide the audience and see the read log, and not once it is withdrawn
        if name not in item.authors or item.finding.state == FindingState.WITHDRAWN:
            return 403
        if view == "readers" and item.finding.label not in (Label.RED, Label.AMBER_STRICT):
            return 409  # reads are recorded for RED and AMBER+STRICT only
        return 200

    def sees_organisation(name: str, key: str) -> bool:
        # every vetted person sees active organisations and their member lists; stewards see all;
        # one's own organisation always (its members pass the gate only while it is active)
        own = people[name].organisation_id == orgs[key].pk
        return orgs[key].status == OrganisationStatus.ACTIVE or name == "c_steward" or own

    def sees_person(name: str, key: str) -> bool:
        # self, colleagues and stewards; anyone else only when active in an active organisation
        target = targets[key]
        if name == key or name == "c_steward" or people[name].organisation_id == target.organisation_id:
            return True
        return key not in ("b_inactive", "suspended_member", "applicant_member")

    group_orgs = {"g_ab": (A_ORG, B_ORG), "g_cd": (C_ORG, D_ORG), "g_bc_hidden": (B_ORG, C_ORG)}

    def sees_group(name: str, key: str) -> bool:
        # owner and member organisations only; being a steward gives nothing here
        return name.startswith(group_orgs[key])

    # the rule behind each finding, to name it next to a mismatch
    rules = {str(item.finding.uuid): f"({key}: {item.why})" for key, item in seeded.items()}
    rules |= {attachments[key]: f"(attached to {key}: {item.why})" for key, item in seeded.items()}
    rules |= {str(org.uuid): f"(organisation {key}, {org.status})" for key, org in orgs.items()}
    rules |= {str(target.uuid): f"(person {key})" for key, target in targets.items()}
    rules |= {str(group.uuid): f"(sharing group {key})" for key, group in groups.items()}
    share_form = {"label": Label.GREEN, "audience_own_org": "on"}
    share_json = {"label": Label.GREEN, "audience_own_org": True}
    unknown = {kind: str(uuid.uuid4()) for kind in ("finding", "artifact", "org", "person", "group")}
    requests = mismatches = 0
    problems: list[str] = []
    for name in people:
        api, browser = apis[name], network.signed_in_client(people[name])
        # (client, method, path, form data, expected status)
        probes: list[tuple[Any, str, str, dict[str, Any] | None, int]] = []
        for key, item in seeded.items():
            fid = item.finding.uuid
            read, by_author = finding_answer(name, key, "read"), finding_answer(name, key, "author")
            probes += [
                (api, "GET", f"/api/v1/findings/{fid}/", None, read),
                (api, "GET", f"/api/v1/findings/{fid}/revisions/", None, read),
                (api, "GET", f"/api/v1/findings/{fid}/revisions/1/", None, read),
                (api, "GET", f"/api/v1/findings/{fid}/revisions/2/", None, read),
                (api, "GET", f"/api/v1/findings/{fid}/revisions/9/", None, 404),
                (api, "GET", f"/api/v1/findings/{fid}/comments/", None, read),
                (api, "GET", f"/api/v1/findings/{fid}/readers/", None, finding_answer(name, key, "readers")),
                (api, "GET", f"/api/v1/findings/{fid}/grants/", None, by_author),
                (api, "POST", f"/api/v1/findings/{fid}/share/preview/", share_json, by_author),
                (api, "GET", f"/api/v1/artifacts/?parent_type=finding&parent_id={fid}", None, read),
                (api, "GET", f"/api/v1/artifacts/{attachments[key]}/", None, read),
                (api, "GET", f"/api/v1/artifacts/{attachments[key]}/content/", None, read),
                (browser, "GET", f"/findings/{fid}/", None, read),
                (browser, "GET", f"/findings/{fid}/?revision=1", None, read),
                # the htmx preview renders a refusal inside the dialog for a reader who is no author
                (browser, "POST", f"/findings/{fid}/share/preview/", share_form, read),
                (browser, "GET", f"/findings/{fid}/disclose/", None, read),
                (browser, "GET", f"/network/library/{attachments[key]}/download/", None, read),
            ]
        for artifact_id, readers in libraries.values():
            # an organisation's library is for its own members; stewards of other orgs included out
            allowed = 200 if name in readers else 404
            probes += [
                (api, "GET", f"/api/v1/artifacts/{artifact_id}/", None, allowed),
                (api, "GET", f"/api/v1/artifacts/{artifact_id}/content/", None, allowed),
                (browser, "GET", f"/network/library/{artifact_id}/download/", None, allowed),
            ]
        for key, org in orgs.items():
            allowed = 200 if sees_organisation(name, key) else 404
            probes += [
                (api, "GET", f"/api/v1/organisations/{org.uuid}/", None, allowed),
                (api, "GET", f"/api/v1/organisations/{org.uuid}/members/", None, allowed),
                (browser, "GET", f"/network/organisations/{org.uuid}/", None, allowed),
            ]
        for key, target in targets.items():
            probes.append(
                (api, "GET", f"/api/v1/people/{target.uuid}/", None, 200 if sees_person(name, key) else 404)
            )
        for key, group in groups.items():
            allowed = 200 if sees_group(name, key) else 404
            probes.append((api, "GET", f"/api/v1/sharing-groups/{group.uuid}/", None, allowed))
        # ids that exist nowhere, and ids that are not ids: 404 for everyone, on every endpoint
        for bogus in (unknown["finding"], "not-a-uuid"):
            probes += [
                (api, "GET", f"/api/v1/findings/{bogus}/{tail}", None, 404)
                for tail in ("", "revisions/", "revisions/1/", "comments/", "readers/", "grants/")
            ]
            probes += [
                (api, "POST", f"/api/v1/findings/{bogus}/share/preview/", share_json, 404),
                (api, "GET", f"/api/v1/artifacts/?parent_type=finding&parent_id={bogus}", None, 404),
                (browser, "GET", f"/findings/{bogus}/", None, 404),
                (browser, "POST", f"/findings/{bogus}/share/preview/", share_form, 404),
                (browser, "GET", f"/findings/{bogus}/disclose/", None, 404),
            ]
        for bogus in (unknown["artifact"], "not-a-uuid"):
            probes += [
                (api, "GET", f"/api/v1/artifacts/{bogus}/", None, 404),
                (api, "GET", f"/api/v1/artifacts/{bogus}/content/", None, 404),
                (browser, "GET", f"/network/library/{bogus}/download/", None, 404),
            ]
        for kind, paths in (
            (
                "org",
                (
                    "/api/v1/organisations/{}/",
                    "/api/v1/organisations/{}/members/",
                    "/network/organisations/{}/",
                ),
            ),
            ("person", ("/api/v1/people/{}/",)),
            ("group", ("/api/v1/sharing-groups/{}/",)),
        ):
            for bogus in (unknown[kind], "not-a-uuid"):
                probes += [
                    (browser if p.startswith("/network/") else api, "GET", p.format(bogus), None, 404)
                    for p in paths
                ]

        for client, method, path, data, expected in probes:
            status = _status(client, method, path, data)
            requests += 1
            if status != expected:
                mismatches += 1
                rule = next((why for object_id, why in rules.items() if object_id in path), "")
                problems.append(f"{name} {method} {path} -> {status}, expected {expected} {rule}".rstrip())
    print(
        f"\nIDOR sweep (findings, artifacts, network objects): {requests} requests, {mismatches} mismatches"
    )
    assert problems == [], "\n".join(problems[:60])
