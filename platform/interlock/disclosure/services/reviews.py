"""Reviews and decisions: vote, decide (a steward after the deadline), repin.

A vote that meets the quorum, or a steward's veto, decides the case in the same transaction;
the decision record stores the rule and the voters by value.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from interlock.access import Principal
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState
from interlock.disclosure.models import CaseState, DecisionRecord, DisclosureCase, Vote, VoteChoice
from interlock.disclosure.rules import not_ready, quorum_outcome
from interlock.disclosure.services.shared import (
    audit_transition,
    end_reviewer_access,
    enter_case,
    notify,
    require_rationale,
    reviewer_of,
    set_redaction,
    stewards,
)
from interlock.network.models import NetworkPolicy


def _decide(case: DisclosureCase, actor: Principal | None, outcome: str) -> DecisionRecord:
    """Record the decision (by value) and end reviewer access; `None` is the quorum itself."""
    found = quorum_outcome(case)
    policy = NetworkPolicy.objects.order_by("-version").first()
    record = DecisionRecord.objects.create(
        case=case,
        outcome=outcome,
        quorum_rule=found.rule,
        voters=found.voters,
        released_sha256=case.released_sha256 if outcome == CaseState.APPROVED else "",
        redaction_sha256=case.redaction_sha256,
        policy_version=policy.version if policy else None,
        decided_by=actor.person if actor is not None else None,
    )
    case.state = outcome
    case.decided_at = timezone.now()
    case.save(update_fields=["state", "decided_at"])
    end_reviewer_access(case)
    audit_record(
        actor=actor,
        event=Event.DISCLOSURE_DECIDED,
        target=case,
        extra={
            "outcome": outcome,
            "approvals": found.approvals,
            "organisations": found.organisations,
            "vetoed": found.vetoed,
            "released_sha256": record.released_sha256,
            "redaction_sha256": record.redaction_sha256,
        },
        actor_label=None if actor is not None else "quorum",
    )
    authors = list(case.finding.authors.all())
    notify(authors + stewards(), case, "disclosure_decided")
    return record


@transaction.atomic
def case_vote(*, actor: Principal, case_uuid: object, choice: str, rationale: str) -> Vote:
    case = enter_case(actor, case_uuid, "vote")  # seated, unconflicted, still passing the axes
    reviewer = reviewer_of(case, actor)
    if choice not in VoteChoice.values:
        raise ApplicationError("Unknown vote.", {"choice": [", ".join(VoteChoice.values)]})
    rationale = require_rationale(rationale)
    Vote.objects.filter(reviewer=reviewer, lapsed=False).update(lapsed=True)
    vote = Vote.objects.create(
        case=case, reviewer=reviewer, choice=choice, rationale=rationale, pinned_sha256=case.pinned_sha256
    )
    audit_transition(
        actor, "vote", case, reviewer=reviewer.pseudonym, choice=choice, pinned=case.pinned_sha256
    )
    found = quorum_outcome(case)
    if found.vetoed:
        _decide(case, None, CaseState.REJECTED)
    elif found.met:
        _decide(case, None, CaseState.APPROVED)
    return vote


@transaction.atomic
def case_repin(
    *,
    actor: Principal,
    case_uuid: object,
    redacted_title: str | None = None,
    redacted_body: str | None = None,
) -> DisclosureCase:
    case = enter_case(actor, case_uuid, "repin")
    finding = case.finding
    waiting = not_ready(case, "repin", timezone.now())
    if waiting or finding.current_revision is None:
        raise InvalidState(waiting or "Write a new revision of the finding first; the pin moves to it.")
    case.pinned_revision = finding.current_revision
    case.pinned_sha256 = case.pinned_revision.content_sha256
    set_redaction(case, redacted_title, redacted_body)
    case.save()
    lapsed = Vote.objects.filter(case=case, lapsed=False).update(lapsed=True)
    audit_transition(actor, "repin", case, pinned=case.pinned_sha256, lapsed_votes=lapsed)
    return case


@transaction.atomic
def case_decide(*, actor: Principal, case_uuid: object) -> DecisionRecord:
    case = enter_case(actor, case_uuid, "decide")
    waiting = not_ready(case, "decide", timezone.now())
    if waiting:
        raise InvalidState(waiting)
    outcome = CaseState.APPROVED if quorum_outcome(case).met else CaseState.REJECTED
    return _decide(case, actor, outcome)
