"""Every change to a disclosure case, in one place, driven by one table.

`TRANSITIONS` names each action with who may take it, the case states it starts from, the
audit event it writes and its side effects; `docs/disclosure.md` prints it. Each action locks
the case row (`SELECT … FOR UPDATE`), checks the table, then its own preconditions, changes the
rows and writes the audit event in the same transaction — so a refused action changes nothing.

Case states: review → approved → released, or → rejected / withdrawn. Embargo (separate):
none → proposed → active ⇄ revise → exited. Release happens only in `release_due`, run by beat.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from interlock.access import Action, Principal, can, sees
from interlock.access.lookups import parse_uuid, require_scope
from interlock.accounts.models import Person
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock.crypto.fields import open_text, seal_text
from interlock.disclosure.access import public_reason
from interlock.disclosure.models import (
    OPEN_STATES,
    CaseComment,
    CaseState,
    DecisionRecord,
    DisclosureCase,
    EmbargoState,
    PublicRelease,
    Reviewer,
    Target,
    Vote,
    VoteChoice,
)
from interlock.disclosure.rules import conflicts_of, quorum_outcome
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import Finding, FindingState, Label
from interlock.findings.rules import Audience, audience_errors, content_hash
from interlock.findings.selectors import revision_text
from interlock.findings.services import group_recipients_bind
from interlock.network.access import target_sharing_group
from interlock.network.models import NetworkPolicy
from interlock.network.selectors import network_policy_current
from interlock.notifications.tasks import notify_after_commit
from interlock_wire import disclosure_field_object_id

MIN_RATIONALE = 10
ASSESSMENT_FIELDS = ("enables", "generality", "novelty", "mitigations")


@dataclass(frozen=True)
class Transition:
    action: str
    rule: Action | None  # the policy action that decides who may take it (None: the scheduler)
    who: str
    from_states: tuple[str, ...]
    audit: Event
    effects: str


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
        ),
        Transition(
            "assign",
            Action.ASSIGN_REVIEWER,
            "a steward who passes the finding's label and tier; the person seated must pass them too",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REVIEWER_ASSIGNED,
            "adds a reviewer from another organisation under a pseudonym; conflicts computed; "
            "access to the pinned revision until the review deadline; notifies the reviewer",
        ),
        Transition(
            "volunteer",
            Action.VOLUNTEER,
            "a member of another organisation without a hard conflict who passes the finding's label and tier",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REVIEWER_ASSIGNED,
            "as assign, with no assigner",
        ),
        Transition(
            "declare_conflict",
            Action.DECLARE_CONFLICT,
            "a reviewer of the case",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_CONFLICT_DECLARED,
            "the reviewer may still comment but not vote; an earlier vote stops counting",
        ),
        Transition(
            "comment",
            Action.COMMENT,
            "an author, a reviewer (conflicted or not) or a steward",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_COMMENTED,
            "adds a comment to the case (never to the finding)",
        ),
        Transition(
            "vote",
            Action.VOTE,
            "a seated reviewer with no conflict who still passes the finding's label and tier",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_VOTED,
            "replaces the reviewer's live vote; when the quorum is met the case is approved "
            "(decision recorded); a steward's reject on a public case is a veto (rejected)",
        ),
        Transition(
            "repin",
            Action.REPIN,
            "an author",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_REPINNED,
            "pins the finding's current revision and a new redaction; lapses every earlier vote",
        ),
        Transition(
            "decide",
            Action.DECIDE,
            "a steward, once the review deadline passed",
            (CaseState.REVIEW,),
            Event.DISCLOSURE_DECIDED,
            "approved if the quorum is met, else rejected; decision recorded; reviewer access ends",
        ),
        Transition(
            "embargo_propose",
            Action.PROPOSE_EMBARGO,
            "an author",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo none → proposed, with an end time within the policy's maximum",
        ),
        Transition(
            "embargo_accept",
            Action.ACCEPT_EMBARGO,
            "a steward",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo proposed / revise → active at the proposed end time",
        ),
        Transition(
            "embargo_revise",
            Action.PROPOSE_EMBARGO,
            "an author",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo active → revise with a new proposed end time (the old one holds until accepted)",
        ),
        Transition(
            "embargo_end",
            Action.END_EMBARGO,
            "a steward, with a reason",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_EMBARGO_CHANGED,
            "embargo → exited early; an approved case is then released by the next scheduler run",
        ),
        Transition(
            "withdraw",
            Action.WITHDRAW,
            "an author or a steward, with a reason",
            (CaseState.REVIEW, CaseState.APPROVED),
            Event.DISCLOSURE_WITHDRAWN,
            "closes the case unreleased; reviewer access ends",
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
        ),
    )
}


# --- helpers -------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def redaction_diff(original: tuple[str, str], redacted: tuple[str, str]) -> str:
    """The unified diff from the pinned text to the text to be released (its hash is recorded)."""
    before = [original[0], "", *original[1].splitlines()]
    after = [redacted[0], "", *redacted[1].splitlines()]
    return "\n".join(difflib.unified_diff(before, after, "pinned", "released", lineterm=""))


def _enter(actor: Principal, case_uuid: object, action: str) -> DisclosureCase:
    """The case, locked, if the principal may take `action` on it now.

    In this order: a case the principal neither sees nor could volunteer for is NotFound
    (whatever its state, so ids cannot be probed); then the table's from-states
    (InvalidState); then the transition's policy rule (PolicyDenied with its reason)."""
    transition = TRANSITIONS[action]
    rule = transition.rule
    if rule is None:
        raise PolicyDenied("Only the scheduler does that.")
    require_scope(actor, rule)
    case = (
        DisclosureCase.objects.select_for_update(of=("self",))
        .select_related("finding__owner_org", "pinned_revision", "target_group")
        .filter(uuid=parse_uuid(case_uuid))
        .first()
    )
    if case is None:
        raise NotFound
    if not sees(actor, case) and not (rule == Action.VOLUNTEER and can(actor, rule, case)):
        raise NotFound
    allowed = transition.from_states
    if allowed and case.state not in allowed:
        raise InvalidState(f"This case is {case.get_state_display().lower()}; '{action}' does not apply.")
    decision = can(actor, rule, case)
    if not decision:
        raise PolicyDenied(public_reason(decision.reason))
    return case


def _audit(actor: Principal, action: str, case: DisclosureCase, **extra: Any) -> None:
    audit_record(
        actor=actor,
        event=TRANSITIONS[action].audit,
        target=case,
        extra={"action": action, **extra},
        actor_label=None if actor is not None else "scheduler",
    )


def _notify(people: list[Person], case: DisclosureCase, kind: str) -> None:
    """Content-free, after the act commits; the one delivery task re-checks each person then."""
    notify_after_commit(
        kind=kind,
        target_type="disclosure_case",
        target_id=case.pk,
        recipient_ids=sorted({person.pk for person in people}),
    )


def _stewards() -> list[Person]:
    return list(Person.objects.filter(is_steward=True, is_active=True))


def _end_reviewer_access(case: DisclosureCase) -> None:
    case.reviewers.filter(access_ends_at__gt=timezone.now()).update(access_ends_at=timezone.now())


def _seal(case: DisclosureCase, name: str, text: str) -> bytes:
    return seal_text(
        org=case.finding.owner_org,
        object_id=disclosure_field_object_id(case_uuid=case.uuid, field=name),
        text=text,
    )


def case_text(case: DisclosureCase, name: str) -> str:
    sealed = getattr(case, f"{name}_sealed")
    return open_text(
        org=case.finding.owner_org,
        object_id=disclosure_field_object_id(case_uuid=case.uuid, field=name),
        sealed=sealed,
    )


def _set_redaction(case: DisclosureCase, redacted_title: str | None, redacted_body: str | None) -> None:
    pinned = revision_text(case.pinned_revision, case.finding)
    title = (redacted_title if redacted_title is not None else pinned.title).strip()
    body = redacted_body if redacted_body is not None else pinned.body
    if not title or len(title) > 300 or len(body) > 200_000:
        raise ApplicationError("The redacted text is not valid.", {"redacted_title": ["1–300 characters"]})
    case.redacted_title_sealed = _seal(case, "redacted_title", title)
    case.redacted_body_sealed = _seal(case, "redacted_body", body)
    case.redaction_sha256 = _sha256(redaction_diff((pinned.title, pinned.body), (title, body)))
    case.released_sha256 = content_hash(title, body)


def _embargo_end_time(until: object) -> datetime:
    if not isinstance(until, datetime) or until.tzinfo is None:
        raise ApplicationError(
            "Give the embargo's end as a UTC time.", {"embargo_until": ["ISO 8601 with zone"]}
        )
    maximum = int(network_policy_current()["embargo_max_days"])
    now = timezone.now()
    if until <= now or until - now > timedelta(days=maximum):
        raise ApplicationError(
            f"An embargo ends in the future, at most {maximum} days from now.",
            {"embargo_until": ["out of range"]},
        )
    return until


def _require_rationale(text: str, field: str = "rationale") -> str:
    text = (text or "").strip()
    if len(text) < MIN_RATIONALE or len(text) > 10_000:
        raise ApplicationError("Write a rationale.", {field: [f"{MIN_RATIONALE} to 10000 characters"]})
    return text


# --- actions -------------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    actor: Principal,
    finding_uuid: object,
    target: str,
    rationale: str,
    assessment: dict[str, Any],
    group_uuid: object | None = None,
    redacted_title: str | None = None,
    redacted_body: str | None = None,
    embargo_until: datetime | None = None,
) -> DisclosureCase:
    finding = access_finding_by_id(actor, finding_uuid, action=Action.OPEN_DISCLOSURE)
    if finding.label == Label.AMBER_STRICT:
        raise InvalidState(
            "TLP:AMBER+STRICT content stays inside your organisation, so no other organisation can review it: "
            "share the finding as TLP:AMBER (or RED, naming the reviewers) first."
        )
    finding = Finding.objects.select_for_update(of=("self",)).select_related("owner_org").get(pk=finding.pk)
    if finding.state == FindingState.WITHDRAWN or finding.current_revision_id is None:
        raise InvalidState("A withdrawn finding is never disclosed.")
    if DisclosureCase.objects.filter(finding=finding, state__in=OPEN_STATES).exists():
        raise InvalidState("This finding already has an open disclosure case.")
    if target not in Target.values:
        raise ApplicationError("Unknown target.", {"target": [", ".join(Target.values)]})
    rationale = _require_rationale(rationale)
    if (
        not isinstance(assessment, dict)
        or set(assessment) != set(ASSESSMENT_FIELDS)
        or not all(
            isinstance(assessment[k], str) and 3 <= len(assessment[k].strip()) <= 5000
            for k in ASSESSMENT_FIELDS
        )
    ):
        raise ApplicationError(
            "The capability-risk assessment needs every field.",
            {"assessment": [f"{', '.join(ASSESSMENT_FIELDS)}: 3 to 5000 characters each"]},
        )
    group = None
    if target == Target.SHARING_GROUP:
        group = target_sharing_group(actor, group_uuid)
        if group is None or finding.audience_groups.filter(pk=group.pk).exists():
            raise ApplicationError(
                "Name a sharing group the finding is not shared with.", {"group": ["required"]}
            )
    if target == Target.NETWORK and finding.audience_network:
        raise ApplicationError("The finding already goes to the whole network.", {"target": ["not wider"]})
    revision = finding.current_revision
    if revision is None:
        raise InvalidState("A finding without a revision is never disclosed.")
    policy = network_policy_current()
    case = DisclosureCase(
        finding=finding,
        opened_by=actor.person,
        target=target,
        target_group=group,
        pinned_revision=revision,
        pinned_sha256=revision.content_sha256,
        review_deadline=timezone.now() + timedelta(days=int(policy["review_deadline_days"])),
    )
    case.rationale_sealed = _seal(case, "rationale", rationale)
    case.assessment_sealed = _seal(
        case, "assessment", json.dumps({k: assessment[k].strip() for k in ASSESSMENT_FIELDS})
    )
    _set_redaction(case, redacted_title, redacted_body)
    if embargo_until is not None:
        case.embargo_state = EmbargoState.PROPOSED
        case.embargo_proposed_until = _embargo_end_time(embargo_until)
    case.save()
    _audit(actor, "open", case, target=target, pinned=case.pinned_sha256, redaction=case.redaction_sha256)
    _notify(_stewards(), case, "disclosure_opened")
    return case


def _add_reviewer(case: DisclosureCase, person: Person, assigned_by: Person | None) -> Reviewer:
    """Seat `person`: the policy's REVIEW rule, asked on their behalf (their session does not
    matter here; their account, organisation, clearance and the finding's label do)."""
    seat = can(Principal.on_behalf_of(person), Action.REVIEW, case)
    if not seat:
        raise PolicyDenied(f"That person cannot review this case: {seat.reason}.")
    if case.reviewers.filter(person=person).exists():
        raise InvalidState("That person already reviews this case.")
    taken = set(case.reviewers.values_list("pseudonym", flat=True))
    letters = [f"Reviewer {letter}" for letter in string.ascii_uppercase] + [
        f"Reviewer {n}" for n in range(27, 200)
    ]
    pseudonym = next(name for name in letters if name not in taken)
    reviewer = Reviewer.objects.create(
        case=case,
        person=person,
        pseudonym=pseudonym,
        assigned_by=assigned_by,
        conflicts=conflicts_of(person, case),
        access_ends_at=case.review_deadline,
    )
    _notify([person], case, "disclosure_review")
    return reviewer


@transaction.atomic
def case_assign(*, actor: Principal, case_uuid: object, person_uuid: object) -> Reviewer:
    case = _enter(actor, case_uuid, "assign")
    person = Person.objects.filter(uuid=parse_uuid(person_uuid)).select_related("organisation").first()
    if person is None or not sees(actor, person):
        raise ApplicationError("Unknown person.", {"person": ["not found"]})
    reviewer = _add_reviewer(case, person, actor.person)
    _audit(actor, "assign", case, reviewer=reviewer.pseudonym, person=str(person.uuid))
    return reviewer


@transaction.atomic
def case_volunteer(*, actor: Principal, case_uuid: object) -> Reviewer:
    case = _enter(actor, case_uuid, "volunteer")
    reviewer = _add_reviewer(case, actor.person, None)
    _audit(actor, "volunteer", case, reviewer=reviewer.pseudonym)
    return reviewer


def _reviewer_of(case: DisclosureCase, actor: Principal) -> Reviewer:
    """The actor's reviewer row (the policy already decided they are seated and may act)."""
    return case.reviewers.select_related("person__organisation").get(person=actor.person)


@transaction.atomic
def case_declare_conflict(*, actor: Principal, case_uuid: object, relation: str) -> Reviewer:
    case = _enter(actor, case_uuid, "declare_conflict")
    reviewer = _reviewer_of(case, actor)
    reviewer.declared_conflict = _require_rationale(relation, "relation")[:500]
    reviewer.save(update_fields=["declared_conflict"])
    _audit(actor, "declare_conflict", case, reviewer=reviewer.pseudonym)
    return reviewer


@transaction.atomic
def case_comment(*, actor: Principal, case_uuid: object, body: str) -> CaseComment:
    case = _enter(actor, case_uuid, "comment")  # conflicted reviewers may comment
    body = (body or "").strip()
    if not 1 <= len(body) <= 10_000:
        raise ApplicationError("Write a comment.", {"body": ["1 to 10000 characters"]})
    comment = CaseComment.objects.create(case=case, author=actor.person, body=body)
    _audit(actor, "comment", case, length=len(body))
    return comment


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
    _end_reviewer_access(case)
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
    _notify(authors + _stewards(), case, "disclosure_decided")
    return record


@transaction.atomic
def case_vote(*, actor: Principal, case_uuid: object, choice: str, rationale: str) -> Vote:
    case = _enter(actor, case_uuid, "vote")  # seated, unconflicted, still passing the axes
    reviewer = _reviewer_of(case, actor)
    if choice not in VoteChoice.values:
        raise ApplicationError("Unknown vote.", {"choice": [", ".join(VoteChoice.values)]})
    rationale = _require_rationale(rationale)
    Vote.objects.filter(reviewer=reviewer, lapsed=False).update(lapsed=True)
    vote = Vote.objects.create(
        case=case, reviewer=reviewer, choice=choice, rationale=rationale, pinned_sha256=case.pinned_sha256
    )
    _audit(actor, "vote", case, reviewer=reviewer.pseudonym, choice=choice, pinned=case.pinned_sha256)
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
    case = _enter(actor, case_uuid, "repin")
    finding = case.finding
    if finding.current_revision_id is None or finding.current_revision_id == case.pinned_revision_id:
        raise InvalidState("Write a new revision of the finding first; the pin moves to it.")
    case.pinned_revision = finding.current_revision  # type: ignore[assignment]
    case.pinned_sha256 = case.pinned_revision.content_sha256
    _set_redaction(case, redacted_title, redacted_body)
    case.save()
    lapsed = Vote.objects.filter(case=case, lapsed=False).update(lapsed=True)
    _audit(actor, "repin", case, pinned=case.pinned_sha256, lapsed_votes=lapsed)
    return case


@transaction.atomic
def case_decide(*, actor: Principal, case_uuid: object) -> DecisionRecord:
    case = _enter(actor, case_uuid, "decide")
    if timezone.now() < case.review_deadline:
        raise InvalidState("The review is open until its deadline; the quorum decides before then.")
    outcome = CaseState.APPROVED if quorum_outcome(case).met else CaseState.REJECTED
    return _decide(case, actor, outcome)


@transaction.atomic
def case_embargo(
    *, actor: Principal, case_uuid: object, action: str, until: datetime | None = None, reason: str = ""
) -> DisclosureCase:
    """embargo_propose / embargo_accept / embargo_revise / embargo_end (see the table)."""
    if action not in ("embargo_propose", "embargo_accept", "embargo_revise", "embargo_end"):
        raise ApplicationError("Unknown embargo action.", {"action": ["propose, accept, revise or end"]})
    case = _enter(actor, case_uuid, action)
    state = case.embargo_state
    if action == "embargo_propose":
        if state != EmbargoState.NONE:
            raise InvalidState("An embargo was already proposed for this case.")
        case.embargo_proposed_until = _embargo_end_time(until)
        case.embargo_state = EmbargoState.PROPOSED
    elif action == "embargo_revise":
        if state != EmbargoState.ACTIVE:
            raise InvalidState("Only an active embargo is revised.")
        case.embargo_proposed_until = _embargo_end_time(until)
        case.embargo_state = EmbargoState.REVISE
    elif action == "embargo_accept":
        if state not in (EmbargoState.PROPOSED, EmbargoState.REVISE):
            raise InvalidState("There is no proposed embargo to accept.")
        case.embargo_until = _embargo_end_time(case.embargo_proposed_until)
        case.embargo_state = EmbargoState.ACTIVE
    else:
        reason = _require_rationale(reason, "reason")
        if state not in (EmbargoState.PROPOSED, EmbargoState.ACTIVE, EmbargoState.REVISE):
            raise InvalidState("There is no embargo to end.")
        case.embargo_state = EmbargoState.EXITED
        case.embargo_until = timezone.now()
    case.save(update_fields=["embargo_state", "embargo_until", "embargo_proposed_until"])
    _audit(
        actor,
        action,
        case,
        embargo=case.embargo_state,
        until=case.embargo_until.isoformat() if case.embargo_until else None,
        reason_length=len(reason),
    )
    return case


@transaction.atomic
def case_withdraw(*, actor: Principal, case_uuid: object, reason: str) -> DisclosureCase:
    case = _enter(actor, case_uuid, "withdraw")
    reason = _require_rationale(reason, "reason")
    case.state = CaseState.WITHDRAWN
    case.save(update_fields=["state"])
    _end_reviewer_access(case)
    _audit(actor, "withdraw", case, reason_length=len(reason))
    return case


# --- the scheduler's release --------------------------------------------------------------


def embargo_over(case: DisclosureCase, now: datetime) -> bool:
    if case.embargo_state in (EmbargoState.NONE, EmbargoState.EXITED):
        return True
    if case.embargo_state in (EmbargoState.ACTIVE, EmbargoState.REVISE):
        return case.embargo_until is not None and case.embargo_until <= now
    return False  # proposed, not yet accepted or ended by a steward: nothing is released


def release_due(
    *, now: datetime | None = None, on_locked: Callable[[], None] | None = None
) -> dict[str, int]:
    """Release every approved case whose embargo is over — each exactly once.

    Safe with two beat processes, retries and a scheduler that was down: each case is locked
    with `FOR UPDATE SKIP LOCKED` and re-read inside its own transaction, so a second runner
    skips it or finds it released; a missed run is caught up by the next one.
    """
    moment = now or timezone.now()
    counts = {"released": 0, "held": 0}
    candidates = list(
        DisclosureCase.objects.filter(state=CaseState.APPROVED).values_list("pk", flat=True).order_by("pk")
    )
    for pk in candidates:
        with transaction.atomic():
            case = (
                DisclosureCase.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("finding__owner_org", "pinned_revision", "target_group")
                .filter(pk=pk, state=CaseState.APPROVED)
                .first()
            )
            if case is None or not embargo_over(case, moment):
                continue
            if on_locked is not None:
                on_locked()  # tests hold the lock here to race a second runner
            outcome = _release(case, moment)
            counts[outcome] += 1
    return counts


def _release(case: DisclosureCase, now: datetime) -> str:
    finding = Finding.objects.select_for_update(of=("self",)).get(pk=case.finding_id)
    title, body = case_text(case, "redacted_title"), case_text(case, "redacted_body")
    problem = None
    if finding.state == FindingState.WITHDRAWN:
        problem = "the finding was withdrawn"
    elif case.pinned_revision.content_sha256 != case.pinned_sha256:
        problem = "the pinned revision's hash changed"
    elif (
        content_hash(title, body) != case.released_sha256
        or case.decision.released_sha256 != case.released_sha256
    ):
        problem = "the text to release differs from the approved one"
    if problem is not None:
        if finding.state == FindingState.WITHDRAWN:
            case.state = CaseState.WITHDRAWN
            case.save(update_fields=["state"])
        audit_record(
            actor=None,
            event=Event.DISCLOSURE_RELEASE_HELD,
            target=case,
            extra={"reason": problem},
            actor_label="scheduler",
        )
        return "held"
    if case.embargo_state in (EmbargoState.ACTIVE, EmbargoState.REVISE):
        case.embargo_state = EmbargoState.EXITED
    released_to: dict[str, Any] = {"target": case.target}
    if case.target == Target.PUBLIC:
        release = PublicRelease.objects.create(case=case, title=title, body=body, sha256=case.released_sha256)
        released_to["public_release"] = str(release.uuid)
    else:
        copy = _released_copy(case, finding, title, body)
        released_to["finding"] = str(copy.uuid)
    case.state = CaseState.RELEASED
    case.released_at = now
    case.save(update_fields=["state", "released_at", "embargo_state"])
    audit_record(
        actor=None,
        event=Event.DISCLOSURE_RELEASED,
        target=case,
        extra={**released_to, "sha256": case.released_sha256},
        actor_label="scheduler",
    )
    authors = list(finding.authors.all())
    _notify(authors, case, "disclosure_released")
    return "released"


def _released_copy(case: DisclosureCase, finding: Finding, title: str, body: str) -> Finding:
    """A new finding holding only the released, redacted revision, shared with the wider audience:
    the original's history, comments and assessment never travel."""
    from interlock.findings.services import _revision_add

    label = finding.label
    if case.target == Target.NETWORK:
        label = Label.GREEN
    elif label in (Label.RED, Label.AMBER_STRICT):
        label = Label.AMBER
    copy = Finding.objects.create(
        owner_org=finding.owner_org,
        label=label,
        hazard_tier=finding.hazard_tier,
        state=FindingState.SHARED,
        audience_own_org=True,
        audience_network=case.target == Target.NETWORK,
    )
    copy.authors.set(finding.authors.all())
    copy.tags.set(finding.tags.all())
    groups = [case.target_group] if case.target == Target.SHARING_GROUP and case.target_group else []
    copy.audience_groups.set(groups)
    group_recipients_bind(finding=copy, groups=groups)
    errors = audience_errors(
        label=label,
        audience=Audience(own_org=True, network=copy.audience_network),
        groups=groups,
    )
    if errors:
        raise InvalidState(f"The released copy's label and audience disagree: {errors}")
    _revision_add(finding=copy, author=case.opened_by, title=title, body=body)
    return copy


def remind_due(*, now: datetime | None = None) -> int:
    """Remind reviewers who have not voted once, two days before the review deadline."""
    moment = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = DisclosureCase.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            state=CaseState.REVIEW, reminded_at__isnull=True, review_deadline__lte=moment + timedelta(days=2)
        )
        for case in due:
            waiting = [
                r.person
                for r in case.reviewers.select_related("person")
                if not r.votes.filter(lapsed=False).exists()
            ]
            _notify(waiting, case, "disclosure_reminder")
            case.reminded_at = moment
            case.save(update_fields=["reminded_at"])
            audit_record(
                actor=None,
                event=Event.DISCLOSURE_REMINDED,
                target=case,
                extra={"reviewers": len(waiting)},
                actor_label="scheduler",
            )
            sent += len(waiting)
    return sent
