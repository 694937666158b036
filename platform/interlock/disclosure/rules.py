"""Conflicts of interest and the quorum: pure decisions over rows, no writes.

Conflicts (computed, then possibly declared): the reviewer's organisation owns the finding (a
hard conflict: never a reviewer), the reviewer is an author of the finding (hard), the
reviewer was affiliated with the owner organisation within the policy's number of years,
the reviewer co-authored another finding of the owner organisation within those years, or
the reviewer declared a relation. A conflicted reviewer may comment but never vote; the
check is repeated at vote time, so a conflict that appears mid-case still counts.

The quorum comes from the current network policy (`quorum[target]`: approvals, distinct
organisations, steward veto) and is recorded by value in the decision.

The redaction diff (pinned → released text) and the ids the case's sealed texts are bound to
live here too: the writes seal and hash with them, the reads open with them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from interlock.access import Action, Principal, can
from interlock.accounts.models import Person
from interlock.disclosure.models import DisclosureCase, EmbargoState, PriorAffiliation, Reviewer, VoteChoice
from interlock.findings.models import Finding
from interlock.network.selectors import network_policy_current
from interlock_wire import disclosure_field_object_id

HARD_CONFLICTS = ("same organisation", "author")
ASSESSMENT_FIELDS = ("enables", "generality", "novelty", "mitigations")


def sealed_text_id(case: DisclosureCase, name: str) -> str:
    """The id a sealed text of the case is bound to (`rationale`, `assessment`, `redacted_title`,
    `redacted_body`): a ciphertext moved to another case or field does not open."""
    return disclosure_field_object_id(case_uuid=case.uuid, field=name)


def redaction_diff(original: tuple[str, str], redacted: tuple[str, str]) -> str:
    """The unified diff from the pinned text to the text to be released (its hash is recorded)."""
    before = [original[0], "", *original[1].splitlines()]
    after = [redacted[0], "", *redacted[1].splitlines()]
    return "\n".join(difflib.unified_diff(before, after, "pinned", "released", lineterm=""))


def not_ready(case: DisclosureCase, action: str, now: datetime) -> str | None:
    """Why `action` cannot be taken on the case yet, beyond its from-states and its policy rule
    (None: nothing waits). The services refuse with this reason and the case page leaves out the
    control, so a button is shown exactly when pressing it can work."""
    embargo = case.embargo_state
    if action == "decide" and now < case.review_deadline:
        return "The review is open until its deadline; the quorum decides before then."
    if action == "embargo_propose" and embargo != EmbargoState.NONE:
        return "An embargo was already proposed for this case."
    if action == "embargo_revise" and embargo != EmbargoState.ACTIVE:
        return "Only an active embargo is revised."
    if action == "embargo_accept" and embargo not in (EmbargoState.PROPOSED, EmbargoState.REVISE):
        return "There is no proposed embargo to accept."
    if action == "embargo_end" and embargo not in (
        EmbargoState.PROPOSED,
        EmbargoState.ACTIVE,
        EmbargoState.REVISE,
    ):
        return "There is no embargo to end."
    if action == "repin" and case.finding.current_revision_id in (None, case.pinned_revision_id):
        return "Write a new revision of the finding first; the pin moves to it."
    return None


def conflicts_of(person: Person, case: DisclosureCase) -> list[str]:
    """Every reason `person` is conflicted on this case (empty: free to vote)."""
    finding = case.finding
    policy = network_policy_current()
    since = timezone.now() - timedelta(days=365 * int(policy["conflict_affiliation_years"]))
    reasons = []
    if person.organisation_id == finding.owner_org_id:
        reasons.append("same organisation")
    if finding.authors.filter(pk=person.pk).exists():
        reasons.append("author")
    if PriorAffiliation.objects.filter(
        person=person, organisation_id=finding.owner_org_id, ended_on__gte=since.date()
    ).exists():
        reasons.append("prior affiliation with the owner organisation")
    coauthored = (
        Finding.objects.filter(owner_org_id=finding.owner_org_id, authors=person, created_at__gte=since)
        .exclude(pk=finding.pk)
        .exists()
    )
    if coauthored:
        reasons.append("co-author of the owner organisation's findings")
    return reasons


def reviewer_conflicts(reviewer: Reviewer) -> list[str]:
    """Computed conflicts now, plus the reviewer's own declaration."""
    reasons = conflicts_of(reviewer.person, reviewer.case)
    if reviewer.declared_conflict:
        reasons.append("declared")
    return reasons


@dataclass(frozen=True)
class QuorumOutcome:
    rule: dict[str, Any]
    approvals: int
    organisations: int
    vetoed: bool
    voters: list[dict[str, Any]]

    @property
    def met(self) -> bool:
        return (
            not self.vetoed
            and self.approvals >= int(self.rule["approvals"])
            and self.organisations >= int(self.rule["distinct_orgs"])
        )


def quorum_rule(target: str) -> dict[str, Any]:
    return dict(network_policy_current()["quorum"][target])


def quorum_outcome(case: DisclosureCase) -> QuorumOutcome:
    """Counts only live votes of reviewers who are not conflicted right now."""
    rule = quorum_rule(case.target)
    approvals, organisations, vetoed, voters = 0, set(), False, []
    for vote in case.votes.filter(lapsed=False).select_related("reviewer__person__organisation"):
        reviewer = vote.reviewer
        if reviewer_conflicts(reviewer):
            continue
        person = reviewer.person
        voters.append(
            {
                "reviewer": reviewer.pseudonym,
                "person": str(person.uuid),
                "organisation": str(person.organisation.uuid) if person.organisation else None,
                "choice": vote.choice,
                "rationale": vote.rationale,
                "steward": person.is_steward,
            }
        )
        if vote.choice in (VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CHANGES):
            approvals += 1
            organisations.add(person.organisation_id)
        elif rule.get("steward_veto") and can(Principal.on_behalf_of(person), Action.VETO, case):
            vetoed = True
    return QuorumOutcome(rule, approvals, len(organisations), vetoed, voters)
