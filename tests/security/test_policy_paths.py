"""Attack tests for the paths that used to skip the hazard tier and the label (issue: one policy).

Each scenario is played once against the product and once against a mutant that restores
the old behaviour; the mutant must let the attack through, so the test is known to fail when
the defence is removed. All through the REST API with real tokens on real PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analysis_workers.zoo import example_spec
from interlock.access.actions import allow
from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.audit.events import Event
from interlock.audit.models import AuditEvent
from interlock.checkpoints.services import checkpoint_register
from interlock.disclosure.services.cases import case_open
from interlock.disclosure.transitions import TRANSITIONS
from interlock.findings.models import Finding
from interlock.findings.rules import Audience
from interlock.findings.services import comment_create, finding_create, finding_grant, finding_share
from interlock.network.models import SharingGroup
from tests.interlock.builders import approved_checkpoint, principal_for

pytestmark = pytest.mark.django_db(transaction=False)

ASSESSMENT = {
    "enables": "Locating a capability circuit.",
    "generality": "Small transformers only.",
    "novelty": "A new measurement.",
    "mitigations": "The recipe is redacted.",
}
RANDOM_ID = "3f0c9a1e-0000-4000-8000-000000000000"


def _reader_rows(finding: Finding, via: str) -> int:
    return AuditEvent.objects.filter(
        event=Event.FINDING_READ, target_id=str(finding.pk), extra__via=via
    ).count()


# --- 1. disclosure review follows the finding's label and tier ------------------------------


@pytest.fixture
def red_case(network: Any) -> dict[str, Any]:
    owner, beta, gamma = network.org("Owner"), network.org("Beta"), network.org("Gamma")
    author = network.person(owner, clearance=2)
    finding = finding_create(
        actor=principal_for(author), title="Circuit C", body="RED-BODY-CANARY", label="red", hazard_tier=2
    )
    finding_share(actor=principal_for(author), finding_uuid=finding.uuid, label="red", audience=Audience())
    case = case_open(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Ready for the network.",
        assessment=ASSESSMENT,
    )
    return {
        "author": author,
        "finding": finding,
        "case": case,
        "tier1": network.person(beta, clearance=1),
        "cleared_unnamed": network.person(beta, clearance=2),
        "low_steward": network.person(gamma, clearance=1, steward=True),
        "named": network.person(gamma, clearance=2),
    }


def _uncleared_volunteer_reads(world: dict[str, Any], api_client_for: Callable[..., Any]) -> bool:
    """The attack: a tier-1 member of another org volunteers on an open RED/H2 case and reads it;
    a steward below the tier reads it. True when any of it got through."""
    case_id = str(world["case"].uuid)
    leaked = False
    for who in ("tier1", "cleared_unnamed"):
        api = api_client_for(world[who])
        calls = api.get("/api/v1/disclosures/?calls=1").json()["results"]
        leaked |= any(c["id"] == case_id for c in calls)
        volunteered = api.post(f"/api/v1/disclosures/{case_id}/volunteer/", {}, format="json")
        leaked |= volunteered.status_code == 200
        leaked |= "RED-BODY-CANARY" in api.get(f"/api/v1/disclosures/{case_id}/").content.decode()
    steward = api_client_for(world["low_steward"])
    leaked |= steward.get(f"/api/v1/disclosures/{case_id}/").status_code != 404
    return leaked


def test_disclosure_review_needs_the_findings_tier_and_label(red_case, api_client_for) -> None:
    assert not _uncleared_volunteer_reads(red_case, api_client_for)
    # a case one cannot see answers exactly like a random id, whatever its state
    api = api_client_for(red_case["tier1"])
    hidden = api.post(f"/api/v1/disclosures/{red_case['case'].uuid}/volunteer/", {}, format="json")
    missing = api.post(f"/api/v1/disclosures/{RANDOM_ID}/volunteer/", {}, format="json")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()


def test_a_named_cleared_reviewer_is_seated_and_their_read_is_recorded(red_case, api_client_for) -> None:
    finding, named = red_case["finding"], red_case["named"]
    finding_grant(
        actor=principal_for(red_case["author"]),
        finding_uuid=finding.uuid,
        person_uuid=named.uuid,
        capability="read_finding",
        expires_at=timezone.now() + timedelta(days=7),
        reason="Reviewer for the disclosure case.",
    )
    api = api_client_for(named)
    case_id = str(red_case["case"].uuid)
    assert [c["id"] for c in api.get("/api/v1/disclosures/?calls=1").json()["results"]] == [case_id]
    assert api.post(f"/api/v1/disclosures/{case_id}/volunteer/", {}, format="json").status_code == 200
    body = api.get(f"/api/v1/disclosures/{case_id}/")
    assert body.status_code == 200 and "RED-BODY-CANARY" in body.content.decode()
    assert _reader_rows(finding, "disclosure case") >= 1
    readers = api_client_for(red_case["author"]).get(f"/api/v1/findings/{finding.uuid}/readers/").json()
    assert named.display_name in {r["person"] for r in readers}


def test_mutant_without_the_label_and_tier_lets_the_uncleared_reviewer_in(
    red_case, api_client_for, monkeypatch
) -> None:
    from interlock.disclosure import access as disclosure_access

    monkeypatch.setattr(disclosure_access, "content_axes", lambda person, finding: allow("mutant"))
    assert _uncleared_volunteer_reads(red_case, api_client_for)


# --- 2. sharing groups bind their membership at share time --------------------------------------


@pytest.fixture
def group_share(network: Any) -> dict[str, Any]:
    sharer_org, owner_org, newcomer_org = (
        network.org("Sharer"),
        network.org("Group owner"),
        network.org("New"),
    )
    author = network.person(sharer_org, clearance=1)
    group = SharingGroup.objects.create(name="Circle", owner_org=owner_org, hide_members=True)
    group.members.set([sharer_org, owner_org])
    finding = finding_create(
        actor=principal_for(author), title="Amber result", body="AMBER-CANARY", label="amber"
    )
    finding_share(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        label="amber",
        audience=Audience(group_uuids=(str(group.uuid),)),
    )
    return {
        "author": author,
        "finding": finding,
        "group": group,
        "newcomer_org": newcomer_org,
        "owner_admin": network.person(owner_org, role="org_admin"),
        "owner_member": network.person(owner_org),
        "newcomer": network.person(newcomer_org),
    }


def _newcomer_reads_earlier_share(world: dict[str, Any], api_client_for: Callable[..., Any]) -> bool:
    admin = api_client_for(world["owner_admin"])
    patched = admin.patch(
        f"/api/v1/sharing-groups/{world['group'].uuid}/",
        {"members": [str(o.uuid) for o in [*world["group"].members.all(), world["newcomer_org"]]]},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    return (
        api_client_for(world["newcomer"]).get(f"/api/v1/findings/{world['finding'].uuid}/").status_code == 200
    )


def test_an_organisation_added_to_a_group_later_never_reads_what_was_shared_before(
    group_share, api_client_for
) -> None:
    assert not _newcomer_reads_earlier_share(group_share, api_client_for)
    members_read = api_client_for(group_share["owner_member"]).get(
        f"/api/v1/findings/{group_share['finding'].uuid}/"
    )
    assert members_read.status_code == 200  # the organisations bound at share time still read it
    author = api_client_for(group_share["author"])
    receivers = author.get(f"/api/v1/findings/{group_share['finding'].uuid}/").json()["audience"]
    assert receivers["group_organisations"] == ["Group owner", "Sharer"]  # the sharer sees who receives it


def test_mutant_reading_membership_at_read_time_lets_the_newcomer_in(
    group_share, api_client_for, monkeypatch
) -> None:
    from interlock.findings import access as finding_access

    def current_members(finding: Finding) -> set[int]:
        return {o for g in finding.audience_groups.all() for o in g.members.values_list("pk", flat=True)}

    monkeypatch.setattr(finding_access, "group_org_ids", current_members)
    assert _newcomer_reads_earlier_share(group_share, api_client_for)


def _preview_names_hidden_members(world: dict[str, Any], api_client_for: Callable[..., Any]) -> bool:
    preview = api_client_for(world["author"]).post(
        f"/api/v1/findings/{world['finding'].uuid}/share/preview/",
        {"label": "amber", "groups": [str(world["group"].uuid)]},
        format="json",
    )
    assert preview.status_code == 200, preview.content
    names = {r["name"] for r in preview.json()["readers"]}
    return world["owner_member"].display_name in names


def test_the_share_preview_counts_hidden_members_without_naming_them(group_share, api_client_for) -> None:
    assert not _preview_names_hidden_members(group_share, api_client_for)
    preview = api_client_for(group_share["author"]).post(
        f"/api/v1/findings/{group_share['finding'].uuid}/share/preview/",
        {"label": "amber", "groups": [str(group_share["group"].uuid)]},
        format="json",
    )
    hidden = {row["organisation"]: row["people"] for row in preview.json()["hidden_members"]}
    assert hidden == {"Group owner": 2}


def test_mutant_ignoring_hidden_member_lists_names_them(group_share, api_client_for, monkeypatch) -> None:
    from interlock.findings import selectors as finding_selectors

    monkeypatch.setattr(finding_selectors, "can", lambda principal, action, obj: allow("mutant"))
    assert _preview_names_hidden_members(group_share, api_client_for)


# --- 3 and 4. grants, approvals and results need clearance ≥ the tier -----------------------------


@pytest.fixture
def h2_checkpoint(network: Any) -> dict[str, Any]:
    owner = network.org("Model owner", ceiling=3)
    member = network.person(owner, clearance=2)
    checkpoint = checkpoint_register(
        actor=principal_for(member), name="secret model", spec=example_spec("mlp"), hazard_tier=2
    )
    return {
        "checkpoint": checkpoint,
        "member": member,
        "admin": network.person(owner, role="org_admin", clearance=2),
        "low_admin": network.person(owner, role="org_admin", clearance=1),
        "tier1_outsider": network.person(clearance=1),
    }


def _uncleared_grant_approved(world: dict[str, Any], api_client_for: Callable[..., Any]) -> bool:
    outsider = api_client_for(world["tier1_outsider"])
    asked = outsider.post(
        "/api/v1/analysis-access/",
        {"checkpoint": str(world["checkpoint"].uuid), "reason": "We would like to compare LLC curves."},
        format="json",
    )
    assert asked.status_code == 202
    low = api_client_for(world["low_admin"]).get("/api/v1/analysis-access/").json()["results"]
    if low:
        return True  # an admin below the tier saw the request (and the checkpoint's name)
    pending = api_client_for(world["admin"]).get("/api/v1/analysis-access/").json()["results"]
    decided = api_client_for(world["admin"]).post(
        f"/api/v1/analysis-access/{pending[0]['id']}/decide/", {"approve": True, "days": 7}, format="json"
    )
    return decided.status_code == 200


def test_analysis_access_is_never_granted_below_the_tier(h2_checkpoint, api_client_for) -> None:
    assert not _uncleared_grant_approved(h2_checkpoint, api_client_for)
    assert h2_checkpoint["checkpoint"].access_grants.get().state == "pending"


def test_mutant_without_the_clearance_rule_grants_it(h2_checkpoint, api_client_for, monkeypatch) -> None:
    from interlock.checkpoints import access as checkpoint_access

    monkeypatch.setattr(checkpoint_access, "clearance_allows", lambda person, tier: True)
    assert _uncleared_grant_approved(h2_checkpoint, api_client_for)


def _requester_reads_after_clearance_drop(world: dict[str, Any], api_client_for: Callable[..., Any]) -> bool:
    member = world["member"]
    analysis = AnalysisRequest.objects.create(
        requester=member,
        checkpoint=world["checkpoint"],
        approval_id=0,
        kind="llc",
        params={},
        dataset={},
        state=AnalysisState.FAILED,
        hazard_tier=2,
    )
    path = f"/api/v1/analyses/{analysis.uuid}/"
    api = api_client_for(member)
    assert api.get(path).status_code == 200
    member.clearance_expires_at = timezone.now() - timedelta(minutes=1)  # the steward's approval lapsed
    member.save(update_fields=["clearance_expires_at"])
    return api.get(path).status_code == 200


def test_a_requester_whose_clearance_drops_stops_reading_their_results(h2_checkpoint, api_client_for) -> None:
    assert not _requester_reads_after_clearance_drop(h2_checkpoint, api_client_for)


def test_mutant_without_the_tier_on_results_keeps_showing_them(
    h2_checkpoint, api_client_for, monkeypatch
) -> None:
    from interlock.analyses import access as analysis_access

    monkeypatch.setattr(analysis_access, "clearance_allows", lambda person, tier: True)
    monkeypatch.setattr(analysis_access, "max_visible_tier", lambda person: 3)
    assert _requester_reads_after_clearance_drop(h2_checkpoint, api_client_for)


# --- 5. every read of RED or AMBER+STRICT text writes the reader row ------------------------------


@pytest.fixture
def strict_finding(network: Any) -> dict[str, Any]:
    org = network.org("Strict lab")
    author, colleague = network.person(org), network.person(org)
    finding = finding_create(actor=principal_for(author), title="Strict title", body="STRICT-CANARY")
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber_strict", audience=Audience()
    )
    finding_grant(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        person_uuid=colleague.uuid,
        capability="comment_finding",
        expires_at=timezone.now() + timedelta(days=3),
        reason="Colleague review.",
    )
    comment_create(actor=principal_for(author), finding_uuid=finding.uuid, body="A comment.")
    return {"finding": finding, "colleague": colleague}


PATHS = {
    "revision": "/api/v1/findings/{id}/revisions/1/",
    "comments": "/api/v1/findings/{id}/comments/",
    "search": "/api/v1/findings/?q=strict-canary",
    "export": "/api/v1/findings/export/",
}


def _unrecorded_reads(world: dict[str, Any], api_client_for: Callable[..., Any]) -> list[str]:
    api, finding = api_client_for(world["colleague"]), world["finding"]
    missing = []
    for via, path in PATHS.items():
        before = _reader_rows(finding, via)
        answer = api.get(path.format(id=finding.uuid))
        assert answer.status_code == 200, (via, answer.content)
        if _reader_rows(finding, via) != before + 1:
            missing.append(via)
    return missing


def test_every_path_that_opens_strict_text_writes_the_reader_row(strict_finding, api_client_for) -> None:
    assert _unrecorded_reads(strict_finding, api_client_for) == []


def test_mutant_that_records_the_finding_page_only_misses_them(
    strict_finding, api_client_for, monkeypatch
) -> None:
    from interlock.api import finding_views
    from interlock.findings import selectors

    for module in (finding_views, selectors):
        monkeypatch.setattr(module, "record_content_read", lambda *args, **kwargs: None)
    assert _unrecorded_reads(strict_finding, api_client_for) == list(PATHS)


# --- 6. token scopes follow the method; content in an answer needs `read` -------------------------


def _scope_leaks(world: dict[str, Any], api_client_for: Callable[..., Any]) -> list[str]:
    author, case_id = world["author"], str(world["case"].uuid)
    leaks = []
    if api_client_for(author, scopes=("read",)).get("/api/v1/disclosures/").status_code != 200:
        leaks.append("a read-only token cannot list cases")
    write_only = api_client_for(author, scopes=("write",))
    if write_only.get("/api/v1/disclosures/").status_code != 403:
        leaks.append("a write-only token lists cases")
    commented = write_only.post(
        f"/api/v1/disclosures/{case_id}/comment/", {"body": "Looks fine."}, format="json"
    )
    if commented.status_code != 200 or "RED-BODY-CANARY" in commented.content.decode():
        leaks.append("a write-only token's answer carries the pinned body")
    if api_client_for(author, scopes=("analyses",)).get("/api/v1/analysis-access/").status_code != 403:
        leaks.append("an analyses-only token reads pending access requests")
    return leaks


def test_token_scopes_follow_the_method_and_answers_carry_content_only_with_read(
    red_case, api_client_for
) -> None:
    assert _scope_leaks(red_case, api_client_for) == []


def test_mutant_scopes_by_view_and_plain_answers_leak(red_case, api_client_for, monkeypatch) -> None:
    from rest_framework.renderers import JSONRenderer

    from interlock.api import permissions, renderers

    monkeypatch.setattr(permissions, "scope_for_method", lambda method, write_scope: write_scope or "write")
    monkeypatch.setattr(renderers.ScopedJSONRenderer, "render", JSONRenderer.render)
    assert len(_scope_leaks(red_case, api_client_for)) >= 3


def test_a_random_id_and_a_hidden_case_answer_alike_on_every_action(red_case, api_client_for) -> None:
    api = api_client_for(red_case["tier1"])
    for action in TRANSITIONS:
        if action in ("open", "release"):
            continue
        hidden = api.post(f"/api/v1/disclosures/{red_case['case'].uuid}/{action}/", {}, format="json")
        missing = api.post(f"/api/v1/disclosures/{uuid.uuid4()}/{action}/", {}, format="json")
        assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()), action


# --- approvals are re-checked at every use: the approving steward must still hold the tier -------


def _analysis_allowed_after_the_approvers_clearance_lapses(
    network: Any, api_client_for: Callable[..., Any]
) -> bool:
    owner = network.org("Approved lab", ceiling=3)
    member = network.person(owner, clearance=2)
    steward = network.person(steward=True, clearance=2)
    checkpoint = approved_checkpoint(api_client_for, member, steward, example_spec("mlp"), hazard_tier=2)
    steward.clearance_expires_at = timezone.now() - timedelta(minutes=1)  # the steward's own approval lapsed
    steward.save(update_fields=["clearance_expires_at"])
    body = {
        "checkpoint": str(checkpoint.uuid),
        "kind": "llc",
        "params": {},
        "dataset": {"name": "regression", "params": {}},
    }
    answer = api_client_for(member).post("/api/v1/analyses/", body, format="json")
    assert answer.status_code in (201, 403), answer.content
    return answer.status_code == 201


def test_an_approval_stops_counting_when_its_steward_loses_the_tier(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        assert not _analysis_allowed_after_the_approvers_clearance_lapses(network, api_client_for)


def test_mutant_that_trusts_the_approval_forever_runs_it(
    network, api_client_for, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from interlock.checkpoints import selectors as checkpoint_selectors

    monkeypatch.setattr(checkpoint_selectors, "approval_still_backed", lambda approval, checkpoint: True)
    with django_capture_on_commit_callbacks(execute=False):
        assert _analysis_allowed_after_the_approvers_clearance_lapses(network, api_client_for)
