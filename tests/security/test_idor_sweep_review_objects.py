"""HTTP IDOR sweep, third part: disclosure cases (with their votes and comments), analysis-access
requests, output releases and sharing groups, as every role and every token scope.

Every person of a small seeded network — a cleared member of another organisation, a member
below the objects' hazard tier, a member of the owner organisation outside the case's audience, a
steward below the tier, an organisation admin of the owner and of another organisation, the
owner, a cleared steward and a seated reviewer, and an anonymous caller — sends every request of
every route that takes the id of one of those objects, in a rolled-back savepoint each (so an act
that succeeds changes nothing for the next probe). Who may see each object is written below in
words from docs/disclosure.md, docs/analyses.md and docs/access.md — never from
`interlock.access`:

- an object the person may not see answers 404, and exactly what the same request with an id
  that exists nowhere answers (status and body, the id itself aside): never 403, 409, 200 or 5xx;
- an object the person may see answers without a 5xx (200 for a read), whatever the act;
- an anonymous caller gets the same refusal for a real id and a random one;
- ids inside a request body (a release's or a case's target group, a checkpoint asked for) answer
  the same for an invisible object and a random id;
- text only the case's audience may read (the pinned body, a vote's rationale, a comment) and an
  access request's reason appear in no answer to anyone else, lists included.

A second test walks the token scopes (api/permissions.py: safe methods need `read`, writes need
`write`, analysis requests and releases `analyses`; interlock.access.actions.scope_of): a token
without the scope gets the same refusal for a real id and a random one, and a token that may not
read gets no content back from a write. The sweep fails when a route taking one of these ids is
added without a probe here (`routes_taking`). Prints the figures.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIClient

from interlock.analyses.models import OutputRelease
from interlock.artifacts.models import Artifact
from interlock.checkpoints.models import AnalysisAccessGrant
from interlock.disclosure.services.cases import case_assign, case_comment, case_open
from interlock.disclosure.services.reviews import case_vote
from interlock.disclosure.transitions import CASE_ACTIONS, TRANSITIONS
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock.network.models import SharingGroup
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.disclosure import ASSESSMENT
from tests.support.routes import routes_taking
from tests.support.sweep import approved_tiered_checkpoint, finished_analysis, normalised_answer

pytestmark = pytest.mark.django_db
# the route parameters naming the objects of this sweep (and the analysis a release widens)
SWEPT_PARAMS = ("case_id", "release_id", "grant_id", "group_id", "analysis_id")
CANARY_BODY = "CANARY-pinned-body-5c1e"
CANARY_VOTE = "CANARY-vote-rationale-9a4d"
CANARY_COMMENT = "CANARY-case-comment-77b2"
CANARY_RED = "CANARY-red-body-0f3a"
CANARY_REASON = "CANARY-access-reason-3e8c"
CANARY_GROUP = "CANARY-group-name-d41f"
CANARY_OPEN = "CANARY-uncased-body-61c0"


@dataclass
class Seeded:
    """The network of the sweep: people by role, objects by name, and who sees which, in words."""

    people: dict[str, Any]
    objects: dict[str, Any]
    plot_id: str
    to_open: Any  # a finding of the owner without a case (to open one that targets a group)


def _seed(network: Any, api_client_for: Any, capture: Any) -> Seeded:
    a, b, c = network.org("Owner"), network.org("Beta"), network.org("Gamma")
    people = {
        "owner": network.person(a, clearance=1, password=PASSWORD),
        "a_member": network.person(a, clearance=1, password=PASSWORD),
        "a_tier0": network.person(a, clearance=0, password=PASSWORD),
        "a_admin": network.person(a, role="org_admin", clearance=1, password=PASSWORD),
        "b_member": network.person(b, clearance=1, password=PASSWORD),
        "b_admin": network.person(b, role="org_admin", clearance=1, password=PASSWORD),
        "b_steward_low": network.person(b, steward=True, clearance=0, password=PASSWORD),
        "c_steward": network.person(c, steward=True, clearance=3, password=PASSWORD),
        "c_reviewer": network.person(c, clearance=1, password=PASSWORD),
    }
    owner, steward = principal_for(people["owner"]), principal_for(people["c_steward"])

    def finding(title: str, body: str, label: str) -> Any:
        made = finding_create(actor=owner, title=title, body=body, label=label, hazard_tier=1)
        audience = Audience(own_org=True) if label == "amber" else Audience()
        finding_share(actor=owner, finding_uuid=made.uuid, label=label, audience=audience)
        return made

    amber = finding("Amber, H1", f"The recipe. {CANARY_BODY}", "amber")
    amber_case = case_open(
        actor=owner,
        finding_uuid=amber.uuid,
        target="public",  # two approvals from two organisations: one vote leaves it under review
        rationale="Worth widening.",
        assessment=ASSESSMENT,
    )
    case_assign(actor=steward, case_uuid=amber_case.uuid, person_uuid=people["c_reviewer"].uuid)
    reviewer = principal_for(people["c_reviewer"])
    case_comment(actor=reviewer, case_uuid=amber_case.uuid, body=f"Checked. {CANARY_COMMENT}")
    case_vote(actor=reviewer, case_uuid=amber_case.uuid, choice="approve", rationale=f"Sound. {CANARY_VOTE}")
    amber_case.refresh_from_db()
    assert amber_case.state == "review", "one vote must not decide the case: the sweep needs it open"
    red = finding("Red, H1", f"Named people only. {CANARY_RED}", "red")
    red_case = case_open(
        actor=owner,
        finding_uuid=red.uuid,
        target="network",
        rationale="Worth widening.",
        assessment=ASSESSMENT,
    )
    to_open = finding("Amber, no case yet", f"Not reviewed yet. {CANARY_OPEN}", "amber")

    checkpoint = approved_tiered_checkpoint(people["owner"], people["c_steward"], api_client_for, "tier 1", 1)
    analysis = finished_analysis(people["owner"], checkpoint, capture)
    release = OutputRelease.objects.create(
        analysis=analysis, requested_by=people["owner"], target="network", reason="r" * 12
    )
    grant = AnalysisAccessGrant.objects.create(
        checkpoint=checkpoint, grantee=people["b_member"], reason=f"To compare. {CANARY_REASON}"
    )
    group = SharingGroup.objects.create(name=f"Beta and Gamma {CANARY_GROUP}", owner_org=b)
    group.members.set([b, c])
    plot = Artifact.objects.get(parent_type="analysis", parent_id=analysis.uuid)
    objects = {
        "amber_case": amber_case,
        "red_case": red_case,
        "analysis": analysis,
        "release": release,
        "grant": grant,
        "group": group,
    }
    return Seeded(people, objects, str(plot.uuid), to_open)


# --- the truth, in words ------------------------------------------------------------------------
# Disclosure cases (docs/disclosure.md): cleared authors; stewards who pass the finding's label and
# tier; seated reviewers who pass them while their review time runs. TLP:RED goes only to people the
# owner named, so nobody but the author sees the RED case — the cleared steward included.
# Volunteering needs no sight of the case: a cleared person of another organisation who is no
# author may volunteer for an AMBER case under review.
# Analyses and output releases (docs/analyses.md): the cleared requester and cleared members of the
# owner organisation; cleared stewards while a release is pending.
# Analysis-access requests: the owner organisation's admins cleared for the checkpoint's tier only.
# Sharing groups: members of the owner and member organisations; a steward is no exception.
SEES: dict[str, frozenset[str]] = {
    "amber_case": frozenset({"owner", "c_steward", "c_reviewer"}),
    "red_case": frozenset({"owner"}),
    "analysis": frozenset({"owner", "a_member", "a_admin", "c_steward"}),
    "release": frozenset({"owner", "a_member", "a_admin", "c_steward"}),
    "grant": frozenset({"a_admin"}),
    "group": frozenset({"b_member", "b_admin", "b_steward_low", "c_steward", "c_reviewer"}),
}
MAY_VOLUNTEER = {"amber_case": frozenset({"b_member", "b_admin"})}
# who may read each canary: the case's audience, and the access request's deciders
CANARIES = {
    CANARY_BODY: SEES["amber_case"],
    CANARY_VOTE: SEES["amber_case"],
    CANARY_COMMENT: SEES["amber_case"],
    CANARY_RED: SEES["red_case"],
    CANARY_REASON: SEES["grant"],
    CANARY_GROUP: SEES["group"],
    CANARY_OPEN: frozenset({"owner", "a_member", "a_admin"}),  # AMBER to the owner org, H1
}


@dataclass(frozen=True)
class Probe:
    """One request: a route with `{id}` where the object's id goes, and the body it sends."""

    via: str  # "api" or "web"
    method: str
    route: str
    obj: str  # a key of Seeded.objects
    body: dict[str, Any] | None = None
    also: dict[str, str] = field(default_factory=dict)  # other placeholders of the route


def _action_body(seeded: Seeded, via: str, action: str) -> dict[str, Any]:
    """A body the action accepts (only the fields of its input in the transition table), so that
    validation never answers before the lookup."""
    until = timezone.now() + timedelta(days=20)
    accepted = set(TRANSITIONS[action].input().fields)
    every = {
        "person": str(seeded.people["c_reviewer"].uuid),
        "choice": "approve",
        "rationale": "Read the pinned text with care.",
        "relation": "none that I know of",
        "body": "A comment from the sweep.",
        "reason": "A reason given by the sweep.",
        "until": until.isoformat() if via == "api" else until.strftime("%Y-%m-%dT%H:%M"),
    }
    return {name: value for name, value in every.items() if name in accepted}


def _probes(seeded: Seeded) -> list[Probe]:
    probes: list[Probe] = []
    for case in ("amber_case", "red_case"):
        probes += [
            Probe("api", "GET", "/api/v1/disclosures/{id}/", case),
            Probe("web", "GET", "/disclosures/{id}/", case),
            # how a case ended: before the decision, exactly the people who see the case
            Probe("web", "GET", "/disclosures/{id}/outcome/", case),
        ]
        for action in CASE_ACTIONS:
            probes += [
                Probe(
                    "api",
                    "POST",
                    f"/api/v1/disclosures/{{id}}/{action}/",
                    case,
                    _action_body(seeded, "api", action),
                ),
                Probe(
                    "web", "POST", f"/disclosures/{{id}}/{action}/", case, _action_body(seeded, "web", action)
                ),
            ]
    release_body = {"target": "network", "reason": "Wider, for the sweep."}
    probes += [
        Probe("api", "GET", "/api/v1/analyses/{id}/", "analysis"),
        Probe("api", "POST", "/api/v1/analyses/{id}/cancel/", "analysis", {}),
        Probe("api", "POST", "/api/v1/analyses/{id}/releases/", "analysis", release_body),
        Probe("web", "GET", "/analyses/{id}/", "analysis"),
        Probe("web", "GET", "/analyses/{id}/status/", "analysis"),
        Probe("web", "POST", "/analyses/{id}/cancel/", "analysis", {}),
        Probe("web", "GET", "/analyses/{id}/plots/{plot}.png", "analysis", also={"plot": seeded.plot_id}),
        Probe("web", "GET", "/analyses/{id}/metrics.csv", "analysis"),
        Probe("web", "GET", "/analyses/{id}/metrics.json", "analysis"),
        Probe(
            "api",
            "POST",
            "/api/v1/analysis-releases/{id}/vote/",
            "release",
            {"approve": True, "rationale": "Fine to widen."},
        ),
        Probe("api", "POST", "/api/v1/analysis-access/{id}/decide/", "grant", {"approve": False, "days": 30}),
        Probe("web", "POST", "/checkpoints/access-requests/{id}/approve/", "grant", {"days": "30"}),
        Probe("web", "POST", "/checkpoints/access-requests/{id}/refuse/", "grant", {}),
        Probe("api", "GET", "/api/v1/sharing-groups/{id}/", "group"),
        Probe("api", "PATCH", "/api/v1/sharing-groups/{id}/", "group", {"hide_members": True}),
    ]
    return probes


def _body_id_probes(seeded: Seeded) -> list[Probe]:
    """Requests that carry a protected id in their body: `{id}` there, not in the route."""
    return [
        Probe(
            "api",
            "POST",
            "/api/v1/analyses/" + str(seeded.objects["analysis"].uuid) + "/releases/",
            "group",
            {"target": "sharing_group", "group": "{id}", "reason": "To that group, for the sweep."},
        ),
        Probe(
            "api",
            "POST",
            "/api/v1/disclosures/",
            "group",
            {
                "finding": str(seeded.to_open.uuid),
                "target": "sharing_group",
                "group": "{id}",
                "rationale": "Widen to that group.",
                "assessment": ASSESSMENT,
            },
        ),
        Probe(
            "api",
            "POST",
            "/api/v1/analysis-access/",
            "checkpoint",
            {"checkpoint": "{id}", "reason": "To compare our curves."},
        ),
    ]


def _fill(value: Any, object_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", object_id)
    if isinstance(value, dict):
        return {key: _fill(item, object_id) for key, item in value.items()}
    return value


def _send(client: Any, probe: Probe, object_id: str) -> tuple[int, bytes, str]:
    """Send the probe with `object_id`, in a savepoint rolled back afterwards; status, body, Location."""
    path = _fill(probe.route, object_id)
    for name, value in probe.also.items():
        path = path.replace("{" + name + "}", value)
    body = _fill(probe.body, object_id)
    with transaction.atomic():
        try:
            if probe.method == "GET":
                response = client.get(path)
            elif isinstance(client, APIClient):
                response = getattr(client, probe.method.lower())(path, body or {}, format="json")
            else:
                response = getattr(client, probe.method.lower())(path, body or {})
            content = (
                b"".join(response.streaming_content)
                if getattr(response, "streaming", False)
                else response.content
            )
            return int(response.status_code), bytes(content), str(response.get("Location", ""))
        finally:
            transaction.set_rollback(True)


def _leaks(name: str, text: bytes, *, seated_now: frozenset[str] = frozenset()) -> list[str]:
    """Canaries in `text` that `name` may not read; `seated_now` is the case audience a successful
    volunteer joined with this very request."""
    return [
        canary
        for canary, readers in CANARIES.items()
        if name not in readers
        and not (name in seated_now and readers == SEES["amber_case"])
        and canary.encode() in text
    ]


def test_every_role_gets_404_like_a_random_id_for_review_objects_it_may_not_see(
    network: Any,
    api_client_for: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")  # hundreds of expected 404s, unlogged
    seeded = _seed(network, api_client_for, django_capture_on_commit_callbacks)
    ids = {key: str(obj.uuid) for key, obj in seeded.objects.items()}
    ids["checkpoint"] = str(seeded.objects["analysis"].checkpoint.uuid)
    probes = _probes(seeded)
    body_probes = _body_id_probes(seeded)
    lists = [
        "/api/v1/disclosures/",
        "/api/v1/disclosures/?calls=1",
        "/api/v1/analysis-access/",
        "/api/v1/sharing-groups/",
    ]
    web_lists = [
        "/disclosures/",
        "/network/sharing-groups/",
        "/analyses/",
        "/checkpoints/",
        "/checkpoints/access-requests/",
        "/checkpoints/awaiting-approval/",
    ]

    probed_routes = {
        resolve(_fill(p.route, ids[p.obj]).replace("{plot}", seeded.plot_id)).view_name for p in probes
    }
    unswept = sorted(set(routes_taking(SWEPT_PARAMS)) - probed_routes)
    assert unswept == [], f"routes taking a swept id without a probe in this sweep: {unswept}"

    clients: dict[str, dict[str, Any]] = {
        name: {"api": api_client_for(person), "web": network.signed_in_client(person)}
        for name, person in seeded.people.items()
    }
    clients["anonymous"] = {"api": APIClient(), "web": Client()}
    requests = mismatches = 0
    problems: list[str] = []
    for name, client in clients.items():
        for probe in probes + body_probes:
            real_id, random_id = ids[probe.obj], str(uuid.uuid4())
            status, content, location = _send(client[probe.via], probe, real_id)
            random_answer = normalised_answer(*_send(client[probe.via], probe, random_id), random_id)
            answer = normalised_answer(status, content, location, real_id)
            requests += 2
            in_body = probe in body_probes
            sees = name in SEES.get(probe.obj, frozenset()) or (
                probe.route.endswith("/volunteer/") and name in MAY_VOLUNTEER.get(probe.obj, frozenset())
            )
            path = _fill(probe.route, real_id).replace("{plot}", seeded.plot_id)
            label = f"{name} {probe.method} {path} ({probe.obj})"
            if status >= 500:
                problems.append(f"{label} -> {status}")
            elif name == "anonymous" or in_body or not sees:
                if answer != random_answer:
                    problems.append(
                        f"{label} -> {status}, but {random_answer[0]} for a random id: {content[:160]!r}"
                    )
                elif not in_body and name != "anonymous" and status != 404:
                    problems.append(f"{label} -> {status}, expected 404")
            elif status == 404 or (probe.method == "GET" and status != 200):
                problems.append(f"{label} -> {status}, expected a visible object's answer")
            volunteered = (
                frozenset({name}) if sees and name not in SEES.get(probe.obj, frozenset()) else frozenset()
            )
            for canary in _leaks(name, content, seated_now=volunteered):
                problems.append(f"{label} shows {canary}")
        for path in lists + web_lists:
            if name == "anonymous":
                continue
            response = client["web" if path in web_lists else "api"].get(path)
            requests += 1
            problems += [f"{name} GET {path} shows {canary}" for canary in _leaks(name, response.content)]
            if name not in SEES["grant"] and ids["grant"].encode() in response.content:
                problems.append(f"{name} GET {path} lists the pending access request")
    mismatches = len(problems)
    print(
        f"\nIDOR sweep (disclosure cases, votes, comments, releases, access requests, sharing groups): "
        f"{requests} requests by {len(clients)} roles over {len(probes) + len(body_probes)} probes, "
        f"{mismatches} mismatches"
    )
    assert problems == [], "\n".join(problems[:60])


# Who holds each object in the token sweep: a person who sees it and may act on it with a full token.
HOLDERS = {
    "amber_case": "owner",
    "red_case": "owner",
    "analysis": "owner",
    "release": "c_steward",
    "grant": "a_admin",
    "group": "b_admin",
    "finding": "owner",
    "checkpoint": "b_member",  # who asks the owner organisation for analysis access
}
SCOPE_SETS = (("read",), ("write",), ("analyses",), ("read", "write"), ("write", "analyses"))


def _needed(probe: Probe) -> frozenset[str]:
    """The scopes a request needs, from api/permissions.py and interlock.access.actions.scope_of:
    a safe method needs `read`; asking for an analysis's release needs `analyses` at the gate and
    `write` for the act; asking for analysis access needs `analyses`; every other write `write`."""
    if probe.method == "GET":
        return frozenset({"read"})
    if probe.route.endswith("/releases/"):
        return frozenset({"analyses", "write"})
    if probe.route == "/api/v1/analysis-access/":
        return frozenset({"analyses"})
    return frozenset({"write"})


def _succeeds(probe: Probe) -> bool:
    """The writes the holder may do (so that the no-content check reads a real answer): open a
    case on their finding, comment on their case, vote on a release (a cleared steward of another
    organisation), decide an access request (the owner's admin), change a group (its owner's
    admin), ask for analysis access."""
    return (probe.method, probe.route) in {
        ("POST", "/api/v1/disclosures/"),
        ("POST", "/api/v1/disclosures/{id}/comment/"),
        ("POST", "/api/v1/analysis-releases/{id}/vote/"),
        ("POST", "/api/v1/analysis-access/{id}/decide/"),
        ("PATCH", "/api/v1/sharing-groups/{id}/"),
        ("POST", "/api/v1/analysis-access/"),
    }


def test_every_token_scope_gets_only_what_its_scopes_allow_on_review_objects(
    network: Any,
    api_client_for: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")
    seeded = _seed(network, api_client_for, django_capture_on_commit_callbacks)
    ids = {key: str(obj.uuid) for key, obj in seeded.objects.items()}
    ids["finding"] = str(seeded.to_open.uuid)
    ids["checkpoint"] = str(seeded.objects["analysis"].checkpoint.uuid)
    probes = [probe for probe in _probes(seeded) if probe.via == "api"] + [
        Probe(
            "api",
            "POST",
            "/api/v1/disclosures/",
            "finding",
            {
                "finding": "{id}",
                "target": "network",
                "rationale": "Widen it to the network.",
                "assessment": ASSESSMENT,
            },
        ),
        Probe(
            "api",
            "POST",
            "/api/v1/analysis-access/",
            "checkpoint",
            {"checkpoint": "{id}", "reason": "To compare our curves."},
        ),
    ]
    lists = [
        Probe("api", "GET", "/api/v1/disclosures/", "amber_case"),
        Probe("api", "GET", "/api/v1/analysis-access/", "grant"),
    ]
    requests = 0
    problems: list[str] = []
    for scopes in SCOPE_SETS:
        tokens = {name: api_client_for(seeded.people[name], scopes=scopes) for name in set(HOLDERS.values())}
        for probe in probes + lists:
            holder = HOLDERS[probe.obj]
            client = tokens[holder]
            real_id, random_id = ids[probe.obj], str(uuid.uuid4())
            status, content, location = _send(client, probe, real_id)
            requests += 2
            answer = normalised_answer(status, content, location, real_id)
            random_answer = normalised_answer(*_send(client, probe, random_id), random_id)
            label = (
                f"{holder} with {'+'.join(scopes)} {probe.method} {_fill(probe.route, real_id)} ({probe.obj})"
            )
            if status >= 500:
                problems.append(f"{label} -> {status}")
            elif not _needed(probe) <= set(scopes):
                if status != 403 or answer != random_answer:
                    problems.append(f"{label} -> {status}, expected the same 403 as for a random id")
            elif probe in lists:
                if status != 200:
                    problems.append(f"{label} -> {status}, expected 200")
            elif status == 404 and probe.route != "/api/v1/analysis-access/":
                problems.append(f"{label} -> 404, though the holder sees it")
            elif _succeeds(probe) and not 200 <= status < 300:
                problems.append(f"{label} -> {status}, expected the act to succeed: {content[:160]!r}")
            # a token that may not read gets no content back, whatever it may write
            readable = (
                set() if "read" not in scopes else {c for c, readers in CANARIES.items() if holder in readers}
            )
            problems += [
                f"{label} shows {canary}"
                for canary in CANARIES
                if canary not in readable and canary.encode() in content
            ]
            if "read" not in scopes and ids["grant"].encode() in content and probe.obj != "grant":
                problems.append(f"{label} shows the pending access request's id")
    print(
        f"\nIDOR sweep, token scopes ({', '.join('+'.join(s) for s in SCOPE_SETS)}): "
        f"{requests} requests, {len(problems)} mismatches"
    )
    assert problems == [], "\n".join(problems[:60])
