"""Reads of a case: its sealed texts opened, and what a viewer is shown of it (pseudonyms for
authors and reviewers, names for stewards); which actions the viewer may take on it now; the open
calls a person could answer; and the outcome a former reviewer still sees."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from interlock.access import Action, can
from interlock.access.principal import Principal
from interlock.crypto.fields import open_text
from interlock.disclosure.access import open_calls, sees_names
from interlock.disclosure.models import DisclosureCase, Reviewer, VoteChoice
from interlock.disclosure.rules import not_ready, quorum_outcome, reviewer_conflicts, sealed_text_id
from interlock.disclosure.transitions import CASE_ACTIONS, TRANSITIONS
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
            "policy_version": decision.policy_version,
            "by_quorum": decision.decided_by_id is None,
            "voters": [
                {k: v for k, v in voter.items() if names or k not in ("person", "organisation", "steward")}
                for voter in decision.voters
            ],
        }
    return body


def case_actions(principal: Principal, case: DisclosureCase) -> frozenset[str]:
    """The actions on the case the principal may take now — the table's from-states, what still
    waits (`rules.not_ready`: the deadline, the embargo's state, a newer revision) and the policy's
    rule for the row. A page shows exactly these controls, so a button shown is a button that works
    (the service checks all of it again when pressed)."""
    now = timezone.now()
    allowed = set()
    for action in CASE_ACTIONS:
        transition = TRANSITIONS[action]
        if case.state not in transition.from_states or not_ready(case, action, now):
            continue
        if transition.rule is not None and can(principal, transition.rule, case):
            allowed.add(action)
    return frozenset(allowed)


@dataclass(frozen=True)
class OpenCall:
    """A case the person could volunteer for, told in enough words to choose: the title proposed
    for release (what the author chose to show beyond the organisation), whose it is, its hazard
    tier, where it would go and by when."""

    case: DisclosureCase
    title: str
    organisation: str
    tier: int
    target: str
    deadline: datetime


def open_call_list(principal: Principal, *, limit: int = 50) -> list[OpenCall]:
    """Open calls for this person only: the policy's SQL filter (`open_calls`), then its rule for
    VOLUNTEER on each row, so a call is listed exactly when volunteering would be allowed."""
    found = open_calls(
        principal,
        DisclosureCase.objects.select_related("finding__owner_org", "target_group"),
    ).order_by("review_deadline")[:limit]
    calls = []
    for case in found:
        if not can(principal, Action.VOLUNTEER, case):
            continue
        target = case.get_target_display()
        if case.target_group is not None:
            target = f"{target}: {case.target_group.name}"
        calls.append(
            OpenCall(
                case=case,
                title=case_text(case, "redacted_title"),
                organisation=case.finding.owner_org.name,
                tier=case.finding.hazard_tier,
                target=target,
                deadline=case.review_deadline,
            )
        )
    return calls


def case_outcome(case: DisclosureCase, viewer: Principal) -> dict[str, Any]:
    """How a decided case ended, for someone who may see its outcome (SEE_OUTCOME): the outcome,
    the rule applied, the counted votes by pseudonym and choice, and the viewer's own vote — no
    text of the finding, no rationale but the viewer's own, no names."""
    record = getattr(case, "decision", None) if case.decided_at else None
    own = case.votes.filter(reviewer__person=viewer.person).select_related("reviewer").order_by("-created_at")
    mine = own.first()
    voters = list(record.voters) if record is not None else []
    approvals = sum(
        1 for v in voters if v.get("choice") in (VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CHANGES)
    )
    return {
        "state": case.state,
        "state_display": case.get_state_display(),
        "target": case.get_target_display(),
        "decided_at": case.decided_at,
        "by_quorum": record is not None and record.decided_by_id is None,
        "rule": record.quorum_rule if record is not None else None,
        "approvals": approvals,
        "organisations": len({v.get("organisation") for v in voters if v.get("choice") != VoteChoice.REJECT}),
        "votes": [
            {
                "reviewer": v.get("reviewer"),
                "choice": VoteChoice(v["choice"]).label
                if v.get("choice") in VoteChoice.values
                else v.get("choice"),
            }
            for v in voters
        ],
        "mine": (
            {
                "reviewer": mine.reviewer.pseudonym,
                "choice": mine.get_choice_display(),
                "rationale": mine.rationale,
                "lapsed": mine.lapsed,
            }
            if mine is not None
            else None
        ),
    }
