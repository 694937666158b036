"""The transition table: every change to a disclosure case, one row each.

`TRANSITIONS` names each action with who may take it, the case states it starts from, the
audit event it writes and its side effects; `docs/disclosure.md` prints it. The services in
`interlock.disclosure.services` enter every action through this table
(`services.shared.enter_case`): they lock the case row (`SELECT … FOR UPDATE`), check the
table, then their own preconditions, change the rows and write the audit event in the same
transaction — so a refused action changes nothing.

Case states: review → approved → released, or → rejected / withdrawn. Embargo (separate):
none → proposed → active ⇄ revise → exited. Release happens only in `release_due`, run by beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from interlock.access import Action
from interlock.audit.events import Event
from interlock.core.errors import ApplicationError
from interlock.core.inputs import StrictSerializer
from interlock.disclosure.inputs import (
    DisclosureAssignInput,
    DisclosureCommentInput,
    DisclosureConflictInput,
    DisclosureEmbargoTimeInput,
    DisclosureNoInput,
    DisclosureOpenInput,
    DisclosureReasonInput,
    DisclosureRepinInput,
    DisclosureVoteInput,
)
from interlock.disclosure.models import CaseState

SERVICES = "interlock.disclosure.services"


@dataclass(frozen=True)
class Transition:
    """One action on a case: its rule, its audit event and effects, its input and its service."""

    action: str
    rule: Action | None  # the policy action that decides who may take it (None: the scheduler)
    who: str
    from_states: tuple[str, ...]  # empty: the action makes the case (open)
    audit: Event
    effects: str
    input: type[StrictSerializer]  # what a request for it may carry (validated before the service)
    service_path: str  # the service that carries it out, under interlock.disclosure.services

    @property
    def service(self) -> Callable[..., Any]:
        """The service function (imported on first use; see the module docstring for why). Its
        result is the row's own (a case, a reviewer, a vote…), hence `Any` here."""
        service: Callable[..., Any] = import_string(f"{SERVICES}.{self.service_path}")
        return service

    @property
    def acts_on_case(self) -> bool:
        """A person's action on an existing case (POST …/disclosures/<case>/<action>/)."""
        return self.rule is not None and bool(self.from_states)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "open",
            Action.OPEN_DISCLOSURE,
            "an author of the finding (not withdrawn, not TLP:AMBER+STRICT); no other open case on it",
            (),
            Event.DISCLOSURE_OPENED,
            "pins the current revision; stores rationale, risk assessment, redaction (sealed); "
            "notifies stewards",
            input=DisclosureOpenInput,
            service_path="cases.case_open",
        ),
        Transition(
            "assign",
            Action.ASSIGN_REVIEWER,
            "a steward who passes the finding's label and tier; the person seated must pass them too",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REVIEWER_ASSIGNED,
            "adds a reviewer from another organisation under a pseudonym; conflicts computed; "
            "access to the pinned revision until the review deadline; notifies the reviewer",
            input=DisclosureAssignInput,
            service_path="cases.case_assign",
        ),
        Transition(
            "volunteer",
            Action.VOLUNTEER,
            "a member of another organisation without a hard conflict who passes the finding's label and tier",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REVIEWER_ASSIGNED,
            "as assign, with no assigner",
            input=DisclosureNoInput,
            service_path="cases.case_volunteer",
        ),
        Transition(
            "declare_conflict",
            Action.DECLARE_CONFLICT,
            "a reviewer of the case",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_CONFLICT_DECLARED,
            "the reviewer may still comment but not vote; an earlier vote stops counting",
            input=DisclosureConflictInput,
            service_path="cases.case_declare_conflict",
        ),
        Transition(
            "comment",
            Action.COMMENT,
            "an author, a reviewer (conflicted or not) or a steward",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_COMMENTED,
            "adds a comment to the case (never to the finding)",
            input=DisclosureCommentInput,
            service_path="cases.case_comment",
        ),
        Transition(
            "vote",
            Action.VOTE,
            "a seated reviewer with no conflict who still passes the finding's label and tier",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_VOTED,
            "replaces the reviewer's live vote; when the quorum is met the case is approved "
            "(decision recorded); a steward's reject on a public case is a veto (rejected)",
            input=DisclosureVoteInput,
            service_path="reviews.case_vote",
        ),
        Transition(
            "repin",
            Action.REPIN,
            "an author",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REPINNED,
            "pins the finding's current revision and a new redaction; lapses every earlier vote",
            input=DisclosureRepinInput,
            service_path="reviews.case_repin",
        ),
        Transition(
            "decide",
            Action.DECIDE,
            "a steward, once the review deadline passed",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_DECIDED,
            "approved if the quorum is met, else rejected; decision recorded; reviewer access ends",
            input=DisclosureNoInput,
            service_path="reviews.case_decide",
        ),
        Transition(
            "embargo_propose",
            Action.PROPOSE_EMBARGO,
            "an author",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo none → proposed, with an end time within the policy's maximum",
            input=DisclosureEmbargoTimeInput,
            service_path="embargo.case_embargo_propose",
        ),
        Transition(
            "embargo_accept",
            Action.ACCEPT_EMBARGO,
            "a steward",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo proposed / revise → active at the proposed end time",
            input=DisclosureNoInput,
            service_path="embargo.case_embargo_accept",
        ),
        Transition(
            "embargo_revise",
            Action.PROPOSE_EMBARGO,
            "an author",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo active → revise with a new proposed end time (the old one holds until accepted)",
            input=DisclosureEmbargoTimeInput,
            service_path="embargo.case_embargo_revise",
        ),
        Transition(
            "embargo_end",
            Action.END_EMBARGO,
            "a steward, with a reason",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo → exited early; an approved case is then released by the next scheduler run",
            input=DisclosureReasonInput,
            service_path="embargo.case_embargo_end",
        ),
        Transition(
            "withdraw",
            Action.WITHDRAW,
            "an author or a steward, with a reason",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_WITHDRAWN,
            "closes the case unreleased; reviewer access ends",
            input=DisclosureReasonInput,
            service_path="cases.case_withdraw",
        ),
        Transition(
            "release",
            None,
            "the scheduler (beat), never a person",
            (CaseState.APPROVED,),
            Event.DISCLOSURE_RELEASED,
            "once the embargo is over: checks the finding is not withdrawn and the pinned and "
            "released hashes are unchanged, then widens the audience of the redacted revision "
            "only (a released copy in the network, or the public page and feeds) — exactly once",
            input=DisclosureNoInput,
            service_path="release.release_due",
        ),
    )
}


CASE_ACTIONS = tuple(action for action, transition in TRANSITIONS.items() if transition.acts_on_case)


def case_transition(action: str) -> Transition:
    """The row of a person's action on a case; "Unknown action." for anything else (open and the
    scheduler's release included: they are not actions on an existing case)."""
    transition = TRANSITIONS.get(action)
    if transition is None or not transition.acts_on_case:
        raise ApplicationError("Unknown action.", {"action": [", ".join(CASE_ACTIONS)]})
    return transition
