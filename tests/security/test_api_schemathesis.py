"""Schemathesis against our own OpenAPI schema, as people of each role, with planted canaries.

Every operation of `/api/schema/` is fuzzed in process (Django's WSGI application, the real
middleware, real PostgreSQL) by an anonymous caller, two members of different clearance, an
organisation admin and a steward of another organisation. Path parameters are drawn mostly
from the ids of real objects — visible and invisible ones — so the fuzzer probes ownership, not
only parsing. Objects the caller must not see carry canary strings (titles, bodies, comments,
file names, file bytes, a group name, a case rationale, a vote's rationale and a reviewer's
comment, an access request's reason, an output release's reason); who may see each canary is
written below in words from docs/findings.md, docs/access.md, docs/analyses.md and
docs/disclosure.md. The review objects — disclosure cases (the case actions drawn from the real
action names), sharing groups, analysis-access requests and output releases — exist both in the
callers' own organisation and in one they cannot see, and the run fails if the schema loses one
of their operations.

Fails on any 5xx, on any response whose body the schema does not describe (each answer is
validated against the schema documented for its status code, so the serializers must tell the
truth), and on any response that contains a canary its caller may not see (raw, or base64 as
plots are inlined). Prints cases per operation per role and the totals; a marker in
an object every signed-in role may see proves the fuzzer really reached data.

Each (role, operation) runs in a savepoint rolled back afterwards, so what one operation's
fuzzing changes (a withdrawn finding, a suspended person) never blinds the next.
`INTERLOCK_SCHEMATHESIS_EXAMPLES` sets examples per operation per role and
generation mode (default 4); the long run in docs/security.md uses 20.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from interlock.accounts.services import api_token_create
from interlock.analyses.models import OutputRelease
from interlock.checkpoints.models import AnalysisAccessGrant
from interlock.checkpoints.services import checkpoint_register
from interlock.disclosure.services.cases import case_assign, case_comment, case_open
from interlock.disclosure.services.reviews import case_vote
from interlock.disclosure.transitions import CASE_ACTIONS
from interlock.findings.rules import Audience
from interlock.findings.services import comment_create, finding_create, finding_share
from interlock.network.services import sharing_group_create
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT
from tests.support.sweep import SPEC, approved_tiered_checkpoint, finished_analysis

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("INTERLOCK_SCHEMATHESIS_EXAMPLES", "4"))
SEED = 7
ROLES = ("anonymous", "member_low", "member", "org_admin", "steward")
VISIBLE_MARKER = "VISIBLE-MARKER-6b1d"
# disclosure cases (and their votes), sharing groups, analysis-access requests, output releases
REVIEW_OPERATIONS = {
    "/api/v1/disclosures/",
    "/api/v1/disclosures/{case_id}/",
    "/api/v1/disclosures/{case_id}/{action}/",
    "/api/v1/sharing-groups/",
    "/api/v1/sharing-groups/{group_id}/",
    "/api/v1/analysis-access/",
    "/api/v1/analysis-access/{grant_id}/decide/",
    "/api/v1/analyses/{analysis_id}/releases/",
    "/api/v1/analysis-releases/{release_id}/vote/",
}
REVIEW_READS = ("GET /api/v1/disclosures/{case_id}/", "GET /api/v1/sharing-groups/{group_id}/")


@dataclass(frozen=True)
class Canary:
    """A string planted in one object, and who may see that object, in words."""

    text: str
    where: str
    seen_by: frozenset[str] = frozenset()


def _canary(where: str, *, seen_by: tuple[str, ...] = ()) -> Canary:
    return Canary(f"CANARY-{uuid.uuid4().hex[:16]}", where, frozenset(seen_by))


def _contains(body: bytes, text: str) -> bool:
    """The text itself, or any base64 rendering of it (plots and files are inlined as base64)."""
    raw = text.encode()
    if raw in body:
        return True
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + raw)[4 if shift else 0 :][: (len(raw) * 4) // 3 - 4]
        if encoded and encoded in body:
            return True
    return False


def _plant(network: Any, api_client_for: Any, capture: Any) -> tuple[dict[str, Any], list[Canary], dict]:
    """The seeded network: callers in Home and Watch, canaries in Sealed and above clearance."""
    home, watch, sealed = network.org("Home"), network.org("Watch"), network.org("Sealed")
    pending = network.org("Pending", status="applicant")  # a real status: the schema lists them
    other = network.org("Other")
    people = {
        "member_low": network.person(home, clearance=0),
        "member": network.person(home, clearance=1),
        "org_admin": network.person(home, role="org_admin", clearance=1),
        "steward": network.person(watch, steward=True, clearance=3),
    }
    sealed_author = network.person(sealed, clearance=3)
    sealed_admin = network.person(sealed, role="org_admin", clearance=1)
    sealed_steward = network.person(sealed, steward=True, clearance=3)
    home_senior = network.person(home, clearance=3)

    canaries = {
        "sealed_title": _canary("title of an AMBER finding shared with Sealed only"),
        "sealed_body": _canary("body of that finding"),
        "sealed_comment": _canary("comment on that finding"),
        "sealed_file": _canary("bytes of that finding's attachment"),
        "sealed_filename": _canary("file name of that attachment"),
        "tier3_title": _canary("title of a Home finding at hazard tier 3 (callers hold ≤ 1)"),
        "group_name": _canary("name of a sharing group of Sealed and Other"),
        "checkpoint_name": _canary("name of a Sealed checkpoint", seen_by=("steward",)),
        "case_rationale": _canary("rationale of a disclosure case of Sealed", seen_by=("steward",)),
        "case_title": _canary("title of the finding under that case", seen_by=("steward",)),
        "plot_bytes": _canary("bytes of a plot of a Sealed analysis"),
        "vote_rationale": _canary("rationale of a vote on that case", seen_by=("steward",)),
        "case_comment": _canary("comment of a reviewer on that case", seen_by=("steward",)),
        "access_reason": _canary("reason of a pending request for access to the Sealed checkpoint"),
        "release_reason": _canary(
            "reason of a pending output release of a Sealed analysis", seen_by=("steward",)
        ),
    }
    c = {name: canary.text for name, canary in canaries.items()}

    secret = finding_create(
        actor=principal_for(sealed_author),
        title=f"Sealed {c['sealed_title']}",
        body=c["sealed_body"],
        label="amber",
    )
    finding_share(
        actor=principal_for(sealed_author),
        finding_uuid=secret.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    comment_create(
        actor=principal_for(sealed_author), finding_uuid=secret.uuid, body=f"note {c['sealed_comment']}"
    )
    attachment = api_client_for(sealed_author).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=finding&parent_id={secret.uuid}&filename={c['sealed_filename']}.txt",
        f"attachment {c['sealed_file']}".encode(),
        content_type="application/octet-stream",
    )
    assert attachment.status_code == 201, attachment.content

    tier3 = finding_create(
        actor=principal_for(home_senior),
        title=f"Tier 3 {c['tier3_title']}",
        body="body",
        label="amber",
        hazard_tier=3,
    )
    finding_share(
        actor=principal_for(home_senior),
        finding_uuid=tier3.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    group = sharing_group_create(
        actor=principal_for(sealed_admin), name=f"Group {c['group_name']}", member_uuids=[str(other.uuid)]
    )

    visible = finding_create(
        actor=principal_for(people["member"]),
        title=f"Shared {VISIBLE_MARKER}",
        body="network-wide",
        label="green",
    )
    finding_share(
        actor=principal_for(people["member"]),
        finding_uuid=visible.uuid,
        label="green",
        audience=Audience(network=True),
    )
    comment_create(
        actor=principal_for(people["member"]), finding_uuid=visible.uuid, body=f"comment {VISIBLE_MARKER}"
    )

    sealed_checkpoint = approved_tiered_checkpoint(
        sealed_author, people["steward"], api_client_for, c["checkpoint_name"], 1
    )
    own_checkpoint = checkpoint_register(
        actor=principal_for(people["member"]), name="home model", spec=SPEC, hazard_tier=0
    )
    analysis = finished_analysis(sealed_author, sealed_checkpoint, capture)
    from interlock.analyses.services.jobs import _store_plot

    _store_plot(analysis, "loss_trace", b"\x89PNG\r\n\x1a\n" + c["plot_bytes"].encode())
    grant = AnalysisAccessGrant.objects.create(
        checkpoint=sealed_checkpoint,
        grantee=people["steward"],
        reason=f"compare {c['access_reason']}",
        state="pending",
        expires_at=timezone.now() + timedelta(days=3),
    )

    under_review = finding_create(
        actor=principal_for(sealed_author), title=f"Case {c['case_title']}", body="b", label="amber"
    )
    finding_share(
        actor=principal_for(sealed_author),
        finding_uuid=under_review.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    case = case_open(
        actor=principal_for(sealed_author),
        finding_uuid=under_review.uuid,
        target="public",  # two approvals from two organisations: the one vote below leaves it open
        rationale=f"Because {c['case_rationale']}",
        assessment=ASSESSMENT,
    )
    reviewer = network.person(other, clearance=1)
    case_assign(actor=principal_for(people["steward"]), case_uuid=case.uuid, person_uuid=reviewer.uuid)
    case_comment(actor=principal_for(reviewer), case_uuid=case.uuid, body=f"note {c['case_comment']}")
    case_vote(
        actor=principal_for(reviewer),
        case_uuid=case.uuid,
        choice="approve",
        rationale=f"ok {c['vote_rationale']}",
    )
    # the objects of the callers' own organisation: a case on a member's finding, a group Home is
    # in, a request for access to Home's checkpoint, a pending release of a second Sealed analysis
    own_finding = finding_create(
        actor=principal_for(people["member"]), title="Home finding", body="b", label="amber"
    )
    finding_share(
        actor=principal_for(people["member"]),
        finding_uuid=own_finding.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    own_case = case_open(
        actor=principal_for(people["member"]),
        finding_uuid=own_finding.uuid,
        target="network",
        rationale="Worth widening.",
        assessment=ASSESSMENT,
    )
    own_group = sharing_group_create(
        actor=principal_for(people["org_admin"]), name="Home and Other", member_uuids=[str(other.uuid)]
    )
    own_grant = AnalysisAccessGrant.objects.create(
        checkpoint=own_checkpoint, grantee=sealed_author, reason="compare our curves"
    )
    released = finished_analysis(sealed_author, sealed_checkpoint, capture)
    release = OutputRelease.objects.create(
        analysis=released, requested_by=sealed_author, target="network", reason=f"wider {c['release_reason']}"
    )
    del sealed_steward

    from interlock.artifacts.models import Artifact

    artifact_ids = [str(a.uuid) for a in Artifact.objects.all()]
    findings = [str(f.uuid) for f in (secret, tier3, visible, under_review)]
    pools: dict[str, list[Any]] = {
        "finding_id": findings,
        "checkpoint_id": [str(sealed_checkpoint.uuid), str(own_checkpoint.uuid)],
        "analysis_id": [str(analysis.uuid), str(released.uuid)],
        "artifact_id": artifact_ids,
        "case_id": [str(case.uuid), str(own_case.uuid)],
        "org_id": [str(o.uuid) for o in (home, watch, sealed, pending, other)],
        "person_id": [str(p.uuid) for p in (*people.values(), sealed_author, sealed_admin, home_senior)],
        # hypothesis favours the first entry: the callers' own group, so the fuzzer reads one too
        "group_id": [str(own_group.uuid), str(group.uuid)],
        "grant_id": [str(grant.uuid), str(own_grant.uuid)],
        "release_id": [str(release.uuid), str(uuid.uuid4())],
        "parent_id": [*findings, str(sealed_checkpoint.uuid), str(analysis.uuid)],
        "number": [1, 2],
        "action": list(CASE_ACTIONS),
    }
    return people, list(canaries.values()), pools


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _auth_headers(role: str, people: dict[str, Any]) -> dict[str, str]:
    if role == "anonymous":
        return {}
    issued = api_token_create(
        actor=principal_for(people[role]), name=f"fuzz {role}", scopes=["read", "write", "analyses"], days=1
    )
    return {"Authorization": f"Bearer {issued.secret}"}


@dataclass
class Tally:
    """What the fuzzing saw, for the printed figures and the assertions."""

    cases: Counter[tuple[str, str]]
    statuses: Counter[int]
    markers_seen: Counter[str]
    answered: Counter[str]  # 2xx answers per operation, over every role
    server_errors: list[str]
    leaks: list[str]
    nonconforming: list[str]


def _fuzz(
    operation: Any, role: str, headers: dict[str, str], canaries: list[Canary], pools: dict, tally: Tally
) -> None:
    """Run one operation as one role in both generation modes, inside a rolled-back savepoint."""
    label = f"{operation.method.upper()} {operation.path}"
    forbidden = [canary for canary in canaries if role not in canary.seen_by]

    def probe(case: Any, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            if name in pools and data.draw(st.integers(0, 9), label="use a real id") < 8:
                case.path_parameters[name] = data.draw(st.sampled_from(pools[name]))
        if case.query and "parent_id" in case.query and data.draw(st.booleans()):
            case.query["parent_id"] = data.draw(st.sampled_from(pools["parent_id"]))
        response = case.call(headers=headers)
        tally.cases[(role, label)] += 1
        tally.statuses[response.status_code] += 1
        if 200 <= response.status_code < 300:
            tally.answered[label] += 1
        body = response.content or b""
        if response.status_code >= 500:
            tally.server_errors.append(f"{role}: {label} -> {response.status_code}: {case.as_curl_command()}")
        try:
            operation.validate_response(response, case=case)
        except (Failure, FailureGroup) as failure:
            tally.nonconforming.append(f"{role}: {label} -> {response.status_code}: {failure}")
        for canary in forbidden:
            if _contains(body, canary.text):
                tally.leaks.append(f"{role}: {label} -> {response.status_code} shows the {canary.where}")
        if VISIBLE_MARKER.encode() in body:
            tally.markers_seen[role] += 1

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run = hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(hypothesis.seed(SEED)(given(case=operation.as_strategy(mode), data=st.data())(probe)))
        with transaction.atomic():
            try:
                run()
            finally:
                transaction.set_rollback(True)


def test_schemathesis_as_every_role_finds_no_5xx_and_no_canary(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    people, canaries, pools = _plant(network, api_client_for, django_capture_on_commit_callbacks)
    # Like Django's test client: the WSGI handler must not close the test's connection (and with
    # it the transaction holding the planted network) at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        _fuzz_every_operation(people, canaries, pools)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _fuzz_every_operation(people: dict[str, Any], canaries: list[Canary], pools: dict) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = _operations(schema)
    assert len(operations) >= 50, "the schema lost operations"
    paths = {operation.path for operation in operations}
    missing = sorted(REVIEW_OPERATIONS - paths)
    assert missing == [], f"the run lost the review objects' operations: {missing}"
    tally = Tally(Counter(), Counter(), Counter(), Counter(), [], [], [])
    for role in ROLES:
        headers = _auth_headers(role, people)
        for operation in operations:
            _fuzz(operation, role, headers, canaries, pools, tally)

    per_role = Counter(role for role, _ in tally.cases.elements())
    per_operation = list(tally.cases.values())
    print(
        f"\nschemathesis: {len(operations)} operations × {len(ROLES)} roles, {sum(per_role.values())} cases "
        f"({min(per_operation)}–{max(per_operation)} per operation per role; "
        + ", ".join(f"{role} {per_role[role]}" for role in ROLES)
        + f"); statuses {dict(sorted(tally.statuses.items()))}; 5xx {len(tally.server_errors)}; "
        f"canaries planted {len(canaries)}, found where forbidden {len(tally.leaks)}; "
        f"answers the schema does not describe {len(tally.nonconforming)}; "
        f"visible marker reached {dict(tally.markers_seen)}; review objects answered 2xx "
        + str(
            {
                path: sum(n for label, n in tally.answered.items() if label.endswith(" " + path))
                for path in sorted(REVIEW_OPERATIONS)
            }
        )
    )
    assert tally.server_errors == []
    assert tally.leaks == []
    assert tally.nonconforming == []
    for role in ROLES[1:]:
        assert tally.markers_seen[role] > 0, f"the fuzzer never reached data visible to {role}"
    # the review objects were reached, not only refused: a case and a group read by someone who may
    unreached = [read for read in REVIEW_READS if tally.answered[read] == 0]
    assert unreached == [], f"the fuzzer never read a real review object through {unreached}"
