"""Cases and their reviewers: open, assign, volunteer, declare a conflict, comment, withdraw.

Each action enters through the transition table (`shared.enter_case`) with the case row locked,
then checks its own preconditions, changes the rows and writes its audit row in the same
transaction.
"""

from __future__ import annotations

import json
import string
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from interlock.access import Action, Principal, can, sees
from interlock.access.lookups import parse_uuid
from interlock.accounts.models import Person
from interlock.core.errors import ApplicationError, InvalidState, PolicyDenied
from interlock.disclosure.models import (
    OPEN_STATES,
    CaseComment,
    CaseState,
    DisclosureCase,
    EmbargoState,
    Reviewer,
    Target,
)
from interlock.disclosure.rules import ASSESSMENT_FIELDS, conflicts_of
from interlock.disclosure.services.shared import (
    audit_transition,
    embargo_end_time,
    end_reviewer_access,
    enter_case,
    notify,
    require_rationale,
    reviewer_of,
    seal,
    set_redaction,
    stewards,
)
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import Finding, FindingState, Label
from interlock.network.access import target_sharing_group
from interlock.network.selectors import network_policy_current


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
    rationale = require_rationale(rationale)
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
    case.rationale_sealed = seal(case, "rationale", rationale)
    case.assessment_sealed = seal(
        case, "assessment", json.dumps({k: assessment[k].strip() for k in ASSESSMENT_FIELDS})
    )
    set_redaction(case, redacted_title, redacted_body)
    if embargo_until is not None:
        case.embargo_state = EmbargoState.PROPOSED
        case.embargo_proposed_until = embargo_end_time(embargo_until)
    case.save()
    audit_transition(
        actor, "open", case, target=target, pinned=case.pinned_sha256, redaction=case.redaction_sha256
    )
    notify(stewards(), case, "disclosure_opened")
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
    notify([person], case, "disclosure_review")
    return reviewer


@transaction.atomic
def case_assign(*, actor: Principal, case_uuid: object, person_uuid: object | None) -> Reviewer:
    if person_uuid is None:  # before the case is looked up: the answer is the same for every id
        raise ApplicationError("Name the reviewer.", {"person": ["required"]})
    case = enter_case(actor, case_uuid, "assign")
    person = Person.objects.filter(uuid=parse_uuid(person_uuid)).select_related("organisation").first()
    if person is None or not sees(actor, person):
        raise ApplicationError("Unknown person.", {"person": ["not found"]})
    reviewer = _add_reviewer(case, person, actor.person)
    audit_transition(actor, "assign", case, reviewer=reviewer.pseudonym, person=str(person.uuid))
    return reviewer


@transaction.atomic
def case_volunteer(*, actor: Principal, case_uuid: object) -> Reviewer:
    case = enter_case(actor, case_uuid, "volunteer")
    reviewer = _add_reviewer(case, actor.person, None)
    audit_transition(actor, "volunteer", case, reviewer=reviewer.pseudonym)
    return reviewer


@transaction.atomic
def case_declare_conflict(*, actor: Principal, case_uuid: object, relation: str) -> Reviewer:
    case = enter_case(actor, case_uuid, "declare_conflict")
    reviewer = reviewer_of(case, actor)
    reviewer.declared_conflict = require_rationale(relation, "relation")[:500]
    reviewer.save(update_fields=["declared_conflict"])
    audit_transition(actor, "declare_conflict", case, reviewer=reviewer.pseudonym)
    return reviewer


@transaction.atomic
def case_comment(*, actor: Principal, case_uuid: object, body: str) -> CaseComment:
    case = enter_case(actor, case_uuid, "comment")  # conflicted reviewers may comment
    body = (body or "").strip()
    if not 1 <= len(body) <= 10_000:
        raise ApplicationError("Write a comment.", {"body": ["1 to 10000 characters"]})
    comment = CaseComment.objects.create(case=case, author=actor.person, body=body)
    audit_transition(actor, "comment", case, length=len(body))
    return comment


@transaction.atomic
def case_withdraw(*, actor: Principal, case_uuid: object, reason: str) -> DisclosureCase:
    case = enter_case(actor, case_uuid, "withdraw")
    reason = require_rationale(reason, "reason")
    case.state = CaseState.WITHDRAWN
    case.save(update_fields=["state"])
    end_reviewer_access(case)
    audit_transition(actor, "withdraw", case, reason_length=len(reason))
    return case
