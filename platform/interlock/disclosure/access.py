"""Who sees a disclosure case, who reviews it, and who moves it: the finding's axes, always.

A case, its reviewers, votes, comments and decision inherit the finding's label and hazard
tier. Everyone who reads the pinned text — authors, stewards, reviewers — must pass them:

- the tier: clearance ≥ the finding's hazard tier (stewards included);
- the label: TLP:RED content goes only to people the owner named with a current grant on
  the finding; TLP:AMBER+STRICT never leaves the owner organisation (so it cannot be reviewed
  by others: relabel it first); TLP:AMBER and GREEN go to the reviewers the case seats.

Reviewers see the case while their review time runs (it ends at the deadline, or at once when
the case is decided or withdrawn), and only while they still pass both axes; after that they
still see how the case ended (SEE_OUTCOME: the outcome, the counts and the votes, no text),
while they pass both axes; open calls list
only cases the person could be seated on. Authors see reviewers under per-case pseudonyms;
stewards see names. Anyone else gets 404, whatever the action.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.clearance import clearance_allows, max_visible_tier
from interlock.access.gate import network_gate
from interlock.access.lookups import parse_uuid, require_scope
from interlock.access.policy import can, sees
from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.core.errors import NotFound, PolicyDenied
from interlock.disclosure.models import (
    CaseComment,
    CaseState,
    DecisionRecord,
    DisclosureCase,
    Reviewer,
    Vote,
)
from interlock.disclosure.rules import HARD_CONFLICTS, conflicts_of, reviewer_conflicts
from interlock.findings.access import is_author
from interlock.findings.models import Capability, Finding, FindingGrant, Label

REVIEWABLE_LABELS = (Label.RED, Label.AMBER, Label.GREEN, Label.CLEAR)


def _named_for(person: Person, finding: Finding) -> bool:
    return FindingGrant.objects.filter(
        content_object=finding,
        user=person,
        permission__codename__in=(Capability.READ, Capability.COMMENT),
        expires_at__gt=timezone.now(),
    ).exists()


def content_axes(person: Person, finding: Finding) -> Decision:
    """May this person (not an author) read the pinned text of a case on this finding?"""
    if not clearance_allows(person, finding.hazard_tier):
        return deny("clearance below the finding's hazard tier")
    if finding.label == Label.AMBER_STRICT:
        return deny("TLP:AMBER+STRICT content stays with the owner organisation's named people")
    if finding.label == Label.RED and not _named_for(person, finding):
        return deny("TLP:RED content goes only to people the owner named with a current grant")
    return allow("the label and tier allow it")


def _live_reviewer(person: Person, case: DisclosureCase) -> Reviewer | None:
    return case.reviewers.filter(person=person, access_ends_at__gt=timezone.now()).first()


def _eligible_reviewer(person: Person, case: DisclosureCase) -> Decision:
    """Could this person be seated as a reviewer now (assigned or volunteering)?"""
    finding = case.finding
    if case.state != CaseState.REVIEW:
        return deny("the case is not under review")
    hard = [reason for reason in conflicts_of(person, case) if reason in HARD_CONFLICTS]
    if hard:
        return deny(f"a reviewer comes from another organisation and is not an author ({', '.join(hard)})")
    return content_axes(person, finding)


def case_rule(principal: Principal, action: Action, case: DisclosureCase) -> Decision:
    person = principal.person
    finding = case.finding
    author = is_author(person, finding) and clearance_allows(person, finding.hazard_tier)
    steward = person.is_steward and bool(content_axes(person, finding))
    # a steward of the owner organisation reads the case but never steers its review
    independent_steward = steward and person.organisation_id != finding.owner_org_id
    reviewer = _live_reviewer(person, case) if not author else None
    seated = reviewer is not None and bool(content_axes(person, finding))
    if action == Action.VIEW:
        if author or steward or seated:
            return allow("author, cleared steward or seated reviewer")
        return deny("not an author, cleared steward or reviewer of this case")
    if action == Action.VOLUNTEER:
        if case.reviewers.filter(person=person).exists():
            return deny("already a reviewer of this case")
        return _eligible_reviewer(person, case)
    if action == Action.REVIEW:
        # asked of the person to be seated (on their behalf), when a steward assigns them
        return _eligible_reviewer(person, case)
    if action in (Action.ASSIGN_REVIEWER, Action.DECIDE, Action.ACCEPT_EMBARGO, Action.END_EMBARGO):
        if not steward:
            return deny("only a steward cleared for the finding")
        if not independent_steward:
            return deny("a steward of the owner organisation does not steer its own review")
        return allow("cleared steward of another organisation")
    if action == Action.SEE_REVIEWER_NAMES:
        return allow("steward") if steward else deny("reviewers appear under pseudonyms")
    if action == Action.SEE_OUTCOME:
        # deciding ends a reviewer's access to the case, not to how the review they took part in ended
        if author or steward or seated:
            return allow("author, cleared steward or seated reviewer")
        if case.state == CaseState.REVIEW:
            return deny("the case is not decided yet")
        if not case.reviewers.filter(person=person).exists():
            return deny("not a reviewer of this case")
        return content_axes(person, finding)
    if action == Action.VETO:
        return allow("cleared steward") if independent_steward else deny("only a steward's reject is a veto")
    if action == Action.VOTE:
        if not seated or reviewer is None:
            return deny("not a reviewer of this case (or the review time ended)")
        conflicts = reviewer_conflicts(reviewer)
        if conflicts:
            return deny(f"a conflicted reviewer may comment but not vote ({', '.join(conflicts)})")
        return allow("unconflicted reviewer")
    if action == Action.DECLARE_CONFLICT:
        return allow("reviewer") if seated else deny("not a reviewer of this case")
    if action == Action.COMMENT:
        return (
            allow("author, steward or reviewer") if author or steward or seated else deny("not on the case")
        )
    if action in (Action.REPIN, Action.PROPOSE_EMBARGO):
        return allow("author") if author else deny("only an author")
    if action == Action.WITHDRAW:
        return allow("author or steward") if author or steward else deny("only an author or a steward")
    return deny(f"{action} does not apply to disclosure cases")


def _via_case(principal: Principal, action: Action, case: DisclosureCase) -> Decision:
    if action != Action.VIEW:
        return deny(f"{action} is done on the case")
    return case_rule(principal, Action.VIEW, case)


def reviewer_rule(principal: Principal, action: Action, reviewer: Reviewer) -> Decision:
    return _via_case(principal, action, reviewer.case)


def vote_rule(principal: Principal, action: Action, vote: Vote) -> Decision:
    return _via_case(principal, action, vote.case)


def case_comment_rule(principal: Principal, action: Action, comment: CaseComment) -> Decision:
    return _via_case(principal, action, comment.case)


def decision_rule(principal: Principal, action: Action, record: DecisionRecord) -> Decision:
    return _via_case(principal, action, record.case)


# --- the same rules in SQL -------------------------------------------------------------------


def _content_axes_q(person: Person, prefix: str = "finding__") -> Q:
    named = Exists(
        FindingGrant.objects.filter(
            content_object_id=OuterRef(f"{prefix}pk"),
            user_id=person.pk,
            permission__codename__in=(Capability.READ, Capability.COMMENT),
            expires_at__gt=timezone.now(),
        )
    )
    return Q(**{f"{prefix}hazard_tier__lte": max_visible_tier(person)}) & (
        Q(**{f"{prefix}label__in": (Label.AMBER, Label.GREEN, Label.CLEAR)})
        | (Q(**{f"{prefix}label": Label.RED}) & Q(named))
    )


def visible_cases(principal: Principal, queryset: QuerySet[DisclosureCase]) -> QuerySet[DisclosureCase]:
    person = principal.person
    author = Exists(
        Finding.authors.through.objects.filter(finding_id=OuterRef("finding_id"), person_id=person.pk)
    )
    reviewing = Exists(
        Reviewer.objects.filter(
            case_id=OuterRef("pk"), person_id=person.pk, access_ends_at__gt=timezone.now()
        )
    )
    axes = _content_axes_q(person)
    seen = (Q(author=True) & Q(finding__hazard_tier__lte=max_visible_tier(person))) | (
        Q(reviewing=True) & axes
    )
    if person.is_steward:
        seen |= axes
    return queryset.alias(author=author, reviewing=reviewing).filter(seen)


def open_calls(principal: Principal, queryset: QuerySet[DisclosureCase]) -> QuerySet[DisclosureCase]:
    """Cases under review the person could volunteer for (hard conflicts and axes in SQL;
    softer conflicts are shown on the case and stop a vote, not a volunteer)."""
    if not network_gate(principal):
        return queryset.none()
    person = principal.person
    author = Exists(
        Finding.authors.through.objects.filter(finding_id=OuterRef("finding_id"), person_id=person.pk)
    )
    seated = Exists(Reviewer.objects.filter(case_id=OuterRef("pk"), person_id=person.pk))
    return (
        queryset.alias(author=author, seated=seated)
        .filter(state=CaseState.REVIEW, author=False, seated=False)
        .exclude(finding__owner_org_id=person.organisation_id)
        .filter(_content_axes_q(person))
    )


def _through_cases(principal: Principal, queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.filter(case__in=visible_cases(principal, DisclosureCase.objects.all()).values("pk"))


def access_case_by_id(
    principal: Principal, case_uuid: object, *, action: Action = Action.VIEW
) -> DisclosureCase:
    """The case if the principal may `action` it. Seen but not allowed: 403; not seen: 404 — and
    for VOLUNTEER, a case the person could not be seated on answers 404 whatever its state."""
    require_scope(principal, action)
    case = (
        DisclosureCase.objects.select_related("finding__owner_org", "pinned_revision", "target_group")
        .filter(uuid=parse_uuid(case_uuid))
        .first()
    )
    if case is None:
        raise NotFound
    if action == Action.SEE_OUTCOME:
        if not can(principal, action, case):
            raise NotFound
        return case
    if action == Action.VOLUNTEER:
        if not can(principal, action, case):
            if sees(principal, case):
                raise PolicyDenied("You cannot volunteer for this case.")
            raise NotFound
        return case
    if not sees(principal, case):
        raise NotFound
    decision = can(principal, action, case)
    if action != Action.VIEW and not decision:
        raise PolicyDenied(public_reason(decision.reason))
    return case


def public_reason(reason: str) -> str:
    """Reasons safe to show someone who already sees the case (never about hidden objects)."""
    return reason[:1].upper() + reason[1:] + "." if reason else "You are not allowed to do that."


def sees_names(principal: Principal, case: DisclosureCase) -> bool:
    return bool(can(principal, Action.SEE_REVIEWER_NAMES, case))


policy.register(
    DisclosureCase,
    rule=case_rule,
    filter_=visible_cases,
    actions=(
        Action.VIEW,
        Action.VOLUNTEER,
        Action.REVIEW,
        Action.ASSIGN_REVIEWER,
        Action.DECIDE,
        Action.ACCEPT_EMBARGO,
        Action.END_EMBARGO,
        Action.SEE_REVIEWER_NAMES,
        Action.SEE_OUTCOME,
        Action.VETO,
        Action.VOTE,
        Action.DECLARE_CONFLICT,
        Action.COMMENT,
        Action.REPIN,
        Action.PROPOSE_EMBARGO,
        Action.WITHDRAW,
    ),
    axes="its finding's (label, tier); reviewers and stewards must pass both at every read and vote",
    audience="cleared authors; stewards and seated reviewers who pass the finding's label and tier",
)
for _model, _rule in (
    (Reviewer, reviewer_rule),
    (Vote, vote_rule),
    (CaseComment, case_comment_rule),
    (DecisionRecord, decision_rule),
):
    policy.register(
        _model,
        rule=_rule,
        filter_=_through_cases,
        actions=(Action.VIEW,),
        axes="its case's (the finding's)",
        audience="whoever may see the case",
    )
