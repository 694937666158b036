"""What every disclosure write shares: entering a transition, its audit row, notifications,
sealing the case's texts, and the input rules more than one action applies.

Kept apart from the actions so that each action module reads as its steps, and so that the one
gate every action passes (`enter_case`) exists once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from interlock.access import Action, Principal, can, sees
from interlock.access.lookups import parse_uuid, require_scope
from interlock.accounts.models import Person
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock.crypto.fields import seal_text
from interlock.disclosure.access import public_reason
from interlock.disclosure.models import DisclosureCase, Reviewer
from interlock.disclosure.rules import redaction_diff, sealed_text_id
from interlock.disclosure.transitions import TRANSITIONS
from interlock.findings.rules import content_hash
from interlock.findings.selectors import revision_text
from interlock.network.selectors import network_policy_current
from interlock.notifications.tasks import notify_after_commit

MIN_RATIONALE = 10


def enter_case(actor: Principal, case_uuid: object, action: str) -> DisclosureCase:
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


def audit_transition(actor: Principal, action: str, case: DisclosureCase, **extra: Any) -> None:
    """The action's audit row (its event from the table), in the action's transaction."""
    audit_record(
        actor=actor,
        event=TRANSITIONS[action].audit,
        target=case,
        extra={"action": action, **extra},
        actor_label=None if actor is not None else "scheduler",
    )


def notify(people: list[Person], case: DisclosureCase, kind: str) -> None:
    """Content-free, after the act commits; the one delivery task re-checks each person then."""
    notify_after_commit(
        kind=kind,
        target_type="disclosure_case",
        target_id=case.pk,
        recipient_ids=sorted({person.pk for person in people}),
    )


def stewards() -> list[Person]:
    return list(Person.objects.filter(is_steward=True, is_active=True))


def end_reviewer_access(case: DisclosureCase) -> None:
    case.reviewers.filter(access_ends_at__gt=timezone.now()).update(access_ends_at=timezone.now())


def reviewer_of(case: DisclosureCase, actor: Principal) -> Reviewer:
    """The actor's reviewer row (the policy already decided they are seated and may act)."""
    return case.reviewers.select_related("person__organisation").get(person=actor.person)


def seal(case: DisclosureCase, name: str, text: str) -> bytes:
    """One of the case's texts sealed under the owner organisation's key, bound to its field."""
    return seal_text(org=case.finding.owner_org, object_id=sealed_text_id(case, name), text=text)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def set_redaction(case: DisclosureCase, redacted_title: str | None, redacted_body: str | None) -> None:
    """Seal the text to release (the pinned text where none is given) and record its hashes."""
    pinned = revision_text(case.pinned_revision, case.finding)
    title = (redacted_title if redacted_title is not None else pinned.title).strip()
    body = redacted_body if redacted_body is not None else pinned.body
    if not title or len(title) > 300 or len(body) > 200_000:
        raise ApplicationError("The redacted text is not valid.", {"redacted_title": ["1–300 characters"]})
    case.redacted_title_sealed = seal(case, "redacted_title", title)
    case.redacted_body_sealed = seal(case, "redacted_body", body)
    case.redaction_sha256 = _sha256(redaction_diff((pinned.title, pinned.body), (title, body)))
    case.released_sha256 = content_hash(title, body)


def embargo_end_time(until: object) -> datetime:
    """`until` if it is an aware time in the future, within the policy's maximum embargo."""
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


def require_rationale(text: str, field: str = "rationale") -> str:
    """A written reason (rationale, relation, reason), stripped, of a sensible length."""
    text = (text or "").strip()
    if len(text) < MIN_RATIONALE or len(text) > 10_000:
        raise ApplicationError("Write a rationale.", {field: [f"{MIN_RATIONALE} to 10000 characters"]})
    return text
