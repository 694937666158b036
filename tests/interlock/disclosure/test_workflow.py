"""A disclosure case end to end through the API, and each rule of the workflow as an attack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import ProgrammingError, connection, transaction
from django.utils import timezone

from interlock.audit.models import AuditEvent
from interlock.core.errors import InvalidState, NotFound
from interlock.disclosure.models import CaseState, DecisionRecord, DisclosureCase, PriorAffiliation
from interlock.disclosure.services.cases import case_assign
from interlock.disclosure.services.release import release_due
from interlock.disclosure.services.reviews import case_repin, case_vote
from interlock.disclosure.transitions import TRANSITIONS
from interlock.findings.models import Finding
from interlock.findings.selectors import revision_text
from interlock.findings.services import finding_revise
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT, SECRET, redacted_body
from tests.support.notifications import notifications_delivered_at_commit

pytestmark = pytest.mark.django_db


def _open(lab: dict[str, Any], api_client_for: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "finding": str(lab["finding"].uuid),
        "target": "network",
        "rationale": "Safety-relevant and not capability-advancing.",
        "assessment": ASSESSMENT,
        "redacted_body": redacted_body(),
        **extra,
    }
    response = api_client_for(lab["author"]).post("/api/v1/disclosures/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _act(client: Any, case: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/disclosures/{case['id']}/{action}/", body, format="json")


def test_review_by_another_org_approves_and_the_scheduler_releases_only_the_redacted_revision(
    lab: dict[str, Any], api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = _open(lab, api_client_for)
    assert case["state"] == "review" and case["pinned_revision"]["number"] == 1
    steward = api_client_for(lab["steward_b"])
    # the author and a colleague of the owner organisation never review
    for insider in (lab["coauthor"], lab["colleague"]):
        refused = _act(steward, case, "assign", person=str(insider.uuid))
        assert refused.status_code == 403, refused.content
    with notifications_delivered_at_commit(), django_capture_on_commit_callbacks(execute=True):
        assert _act(steward, case, "assign", person=str(lab["b1"].uuid)).status_code == 200
    # notifications carry no content
    assert mail.outbox and all(SECRET not in m.body and "Induction" not in m.body for m in mail.outbox)
    reviewer = api_client_for(lab["b1"])
    seen = reviewer.get(f"/api/v1/disclosures/{case['id']}/").json()
    assert SECRET in seen["pinned_text"]["body"] and SECRET not in seen["redacted_text"]["body"]
    # the pinned revision only: the finding itself (other revisions, comments, files) stays closed
    assert reviewer.get(f"/api/v1/findings/{lab['finding'].uuid}/").status_code == 404
    # authors see a pseudonym; stewards see the name
    author_view = api_client_for(lab["author"]).get(f"/api/v1/disclosures/{case['id']}/").json()
    assert author_view["reviewers"][0]["name"] == "Reviewer A"
    steward_view = steward.get(f"/api/v1/disclosures/{case['id']}/").json()
    assert lab["b1"].display_name in steward_view["reviewers"][0]["name"]
    # a vote needs a written rationale
    short = _act(reviewer, case, "vote", choice="approve", rationale="ok")
    assert short.status_code == 400 and "rationale" in short.json()["error"]["fields"]
    voted = _act(reviewer, case, "vote", choice="approve", rationale="Redaction removes the recipe.")
    assert voted.status_code == 200
    row = DisclosureCase.objects.get(uuid=case["id"])
    assert row.state == CaseState.APPROVED
    decision = DecisionRecord.objects.get(case=row)
    assert decision.quorum_rule == {"approvals": 1, "distinct_orgs": 1, "steward_veto": False}
    assert decision.released_sha256 == row.released_sha256 and decision.voters[0]["choice"] == "approve"
    # the reviewer's access ended with the decision
    assert reviewer.get(f"/api/v1/disclosures/{case['id']}/").status_code == 404
    # release: once, only the redacted revision, in a new finding for the wider audience
    assert release_due() == {"released": 1, "held": 0}
    assert release_due() == {"released": 0, "held": 0}
    row.refresh_from_db()
    assert row.state == CaseState.RELEASED
    copy = Finding.objects.exclude(pk=lab["finding"].pk).get()
    assert copy.audience_network and copy.label == "green" and copy.revisions.count() == 1
    text = revision_text(copy.current_revision, copy)
    assert SECRET not in text.body and text.body == redacted_body()
    assert api_client_for(lab["c1"]).get(f"/api/v1/findings/{copy.uuid}/").status_code == 200
    assert api_client_for(lab["c1"]).get(f"/api/v1/findings/{lab['finding'].uuid}/").status_code == 404
    events = list(AuditEvent.objects.filter(target_id=str(row.pk)).values_list("event", flat=True))
    for event in (
        "DISCLOSURE_OPENED",
        "DISCLOSURE_REVIEWER_ASSIGNED",
        "DISCLOSURE_VOTED",
        "DISCLOSURE_DECIDED",
        "DISCLOSURE_RELEASED",
    ):
        assert event in events


def test_the_decision_record_cannot_be_changed_even_in_sql(lab: dict[str, Any], api_client_for: Any) -> None:
    case = _open(lab, api_client_for)
    case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case["id"], person_uuid=lab["b1"].uuid)
    case_vote(
        actor=principal_for(lab["b1"]),
        case_uuid=case["id"],
        choice="approve",
        rationale="Fine to widen this.",
    )
    record = DecisionRecord.objects.get()
    for statement in (
        "UPDATE disclosure_decisionrecord SET outcome = 'rejected'",
        "DELETE FROM disclosure_decisionrecord",
    ):
        with (
            pytest.raises(ProgrammingError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    record.refresh_from_db()
    assert record.outcome == "approved"


def test_conflicted_reviewers_comment_but_never_vote_and_conflicts_are_rechecked(
    lab: dict[str, Any], api_client_for: Any
) -> None:
    case = _open(lab, api_client_for)
    PriorAffiliation.objects.create(
        person=lab["c1"], organisation=lab["owner"], ended_on=(timezone.now() - timedelta(days=200)).date()
    )
    for person in (lab["c1"], lab["b1"]):
        case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case["id"], person_uuid=person.uuid)
    conflicted = api_client_for(lab["c1"])
    assert _act(conflicted, case, "comment", body="I worked there; no vote from me.").status_code == 200
    refused = _act(conflicted, case, "vote", choice="approve", rationale="Looks fine to me, honestly.")
    assert refused.status_code == 403 and "conflicted" in refused.json()["error"]["message"]
    # a declared relation conflicts a reviewer too, from then on
    assert (
        _act(
            api_client_for(lab["b1"]), case, "declare_conflict", relation="My partner works at the owner lab."
        ).status_code
        == 200
    )
    assert (
        _act(
            api_client_for(lab["b1"]), case, "vote", choice="approve", rationale="Would approve this."
        ).status_code
        == 403
    )
    assert DisclosureCase.objects.get(uuid=case["id"]).state == CaseState.REVIEW


def test_a_new_revision_moves_the_pin_and_lapses_earlier_votes(
    lab: dict[str, Any], api_client_for: Any
) -> None:
    case = _open(lab, api_client_for, target="public")
    for person in (lab["b1"], lab["c1"]):
        case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case["id"], person_uuid=person.uuid)
    case_vote(
        actor=principal_for(lab["b1"]),
        case_uuid=case["id"],
        choice="approve",
        rationale="Redaction is enough.",
    )
    with pytest.raises(InvalidState):
        case_repin(actor=principal_for(lab["author"]), case_uuid=case["id"])  # no new revision yet
    finding_revise(
        actor=principal_for(lab["author"]),
        finding_uuid=lab["finding"].uuid,
        title="Induction heads, v2",
        body=f"v2\n{SECRET}",
    )
    case_repin(actor=principal_for(lab["author"]), case_uuid=case["id"], redacted_body="v2")
    case_vote(
        actor=principal_for(lab["c1"]),
        case_uuid=case["id"],
        choice="approve",
        rationale="Approve the v2 text.",
    )
    row = DisclosureCase.objects.get(uuid=case["id"])
    assert row.pinned_revision.number == 2
    assert row.state == CaseState.REVIEW  # b1's vote lapsed: one live approval, public needs two
    case_vote(
        actor=principal_for(lab["b1"]), case_uuid=case["id"], choice="approve", rationale="Still fine for v2."
    )
    row.refresh_from_db()
    assert row.state == CaseState.APPROVED


def test_a_steward_reject_vetoes_a_public_release(lab: dict[str, Any], api_client_for: Any) -> None:
    case = _open(lab, api_client_for, target="public")
    for person in (lab["b1"], lab["c1"], lab["steward_c"]):
        case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case["id"], person_uuid=person.uuid)
    case_vote(
        actor=principal_for(lab["steward_c"]),
        case_uuid=case["id"],
        choice="reject",
        rationale="Too enabling in public.",
    )
    assert DisclosureCase.objects.get(uuid=case["id"]).state == CaseState.REJECTED
    # the decision ended the reviewer's access: the case now answers like a missing one (no
    # "already rejected" that would tell a stranger it exists)
    with pytest.raises(NotFound):
        case_vote(
            actor=principal_for(lab["b1"]),
            case_uuid=case["id"],
            choice="approve",
            rationale="Too late to approve.",
        )


def test_only_authors_open_only_stewards_assign_and_bad_input_is_a_clear_400(
    lab: dict[str, Any], api_client_for: Any
) -> None:
    colleague = api_client_for(lab["colleague"])
    body = {
        "finding": str(lab["finding"].uuid),
        "target": "network",
        "rationale": "x" * 20,
        "assessment": ASSESSMENT,
    }
    assert colleague.post("/api/v1/disclosures/", body, format="json").status_code == 403
    author = api_client_for(lab["author"])
    missing = author.post("/api/v1/disclosures/", {**body, "assessment": {"enables": "x"}}, format="json")
    assert missing.status_code == 400
    far = (timezone.now() + timedelta(days=400)).isoformat()
    assert (
        author.post("/api/v1/disclosures/", {**body, "embargo_until": far}, format="json").status_code == 400
    )
    case = _open(lab, api_client_for)
    assert (
        author.post("/api/v1/disclosures/", body, format="json").status_code == 409
    )  # one open case per finding
    with pytest.raises(NotFound):  # not a steward: the case does not exist for them
        case_assign(actor=principal_for(lab["b2"]), case_uuid=case["id"], person_uuid=lab["b1"].uuid)
    stranger = api_client_for(lab["c1"])
    assert stranger.get(f"/api/v1/disclosures/{case['id']}/").status_code == 404
    assert _act(stranger, case, "vote", choice="approve", rationale="I am not a reviewer.").status_code == 404
    assert _act(api_client_for(lab["steward_b"]), case, "teleport").status_code == 400


def test_the_documented_transition_table_is_the_code_s() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "disclosure.md").read_text()
    for transition in TRANSITIONS.values():
        assert f"| `{transition.action}` | {transition.who} |" in doc, transition.action
        assert f"`{transition.audit.value}`" in doc
