"""Reads of a case: its sealed texts opened, and what a viewer is shown of it (pseudonyms for
authors and reviewers, names for stewards)."""

from __future__ import annotations

import json
from typing import Any

from interlock.access.principal import Principal
from interlock.crypto.fields import open_text
from interlock.disclosure.access import sees_names
from interlock.disclosure.models import DisclosureCase, Reviewer
from interlock.disclosure.rules import quorum_outcome, reviewer_conflicts, sealed_text_id
from interlock.findings.read_audit import record_content_read
from interlock.findings.selectors import revision_text


def case_text(case: DisclosureCase, name: str) -> str:
    """One of the case's sealed texts (`rationale`, `assessment`, `redacted_title`,
    `redacted_body`), opened with the owner organisation's key."""
    sealed = getattr(case, f"{name}_sealed")
    return open_text(org=case.finding.owner_org, object_id=sealed_text_id(case, name), sealed=sealed)


def case_body(case: DisclosureCase, viewer: Principal) -> dict[str, Any]:
    """Everything the viewer may see of a case they can open; a RED or AMBER+STRICT finding's
    pinned text read here writes the finding's reader row, like any other read of it."""
    names = sees_names(viewer, case)
    pinned = revision_text(case.pinned_revision, case.finding)
    record_content_read(viewer, case.finding, via="disclosure case", revision=case.pinned_revision.number)
    found = quorum_outcome(case)

    def who(reviewer: Reviewer) -> str:
        return f"{reviewer.pseudonym} ({reviewer.person.display_name})" if names else reviewer.pseudonym

    reviewers = list(case.reviewers.select_related("person__organisation"))
    by_person = {r.person_id: r for r in reviewers}

    def author_of(person_id: int, fallback: str) -> str:
        reviewer = by_person.get(person_id)
        return who(reviewer) if reviewer else fallback

    body = {
        "id": str(case.uuid),
        "finding": str(case.finding.uuid),
        "target": case.target,
        "target_group": case.target_group.name if case.target_group else None,
        "state": case.state,
        "pinned_revision": {"number": case.pinned_revision.number, "sha256": case.pinned_sha256},
        "pinned_text": {"title": pinned.title, "body": pinned.body},
        "redacted_text": {
            "title": case_text(case, "redacted_title"),
            "body": case_text(case, "redacted_body"),
        },
        "rationale": case_text(case, "rationale"),
        "assessment": json.loads(case_text(case, "assessment")),
        "redaction_sha256": case.redaction_sha256,
        "released_sha256": case.released_sha256,
        "embargo": {
            "state": case.embargo_state,
            "until": case.embargo_until,
            "proposed_until": case.embargo_proposed_until,
        },
        "review_deadline": case.review_deadline,
        "quorum": {
            "rule": found.rule,
            "approvals": found.approvals,
            "organisations": found.organisations,
            "vetoed": found.vetoed,
            "met": found.met,
        },
        "reviewers": [
            {
                "name": who(r),
                "conflicted": bool(reviewer_conflicts(r)),
                "review_ends_at": r.access_ends_at,
                **({"conflicts": reviewer_conflicts(r)} if names or r.person_id == viewer.pk else {}),
            }
            for r in reviewers
        ],
        "votes": [
            {
                "reviewer": who(v.reviewer),
                "choice": v.choice,
                "rationale": v.rationale,
                "lapsed": v.lapsed,
                "created_at": v.created_at,
            }
            for v in case.votes.select_related("reviewer__person")
        ],
        "comments": [
            {
                "author": author_of(c.author_id, c.author.display_name),
                "body": c.body,
                "created_at": c.created_at,
            }
            for c in case.comments.select_related("author")
        ],
        "created_at": case.created_at,
        "decided_at": case.decided_at,
        "released_at": case.released_at,
    }
    decision = getattr(case, "decision", None) if case.decided_at else None
    if decision is not None:
        body["decision"] = {
            "outcome": decision.outcome,
            "quorum_rule": decision.quorum_rule,
            "released_sha256": decision.released_sha256,
            "redaction_sha256": decision.redaction_sha256,
            "voters": [
                {k: v for k, v in voter.items() if names or k not in ("person", "organisation", "steward")}
                for voter in decision.voters
            ],
        }
    return body
