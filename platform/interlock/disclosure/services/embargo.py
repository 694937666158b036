"""The embargo: propose, accept, revise, end — and whether it is over for the scheduler.

none → proposed (author) → active (steward) ⇄ revise (author; the old end holds until a steward
accepts) → exited (the end passed, or a steward ended it early with a reason).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from interlock.access import Principal
from interlock.core.errors import ApplicationError, InvalidState
from interlock.disclosure.models import DisclosureCase, EmbargoState
from interlock.disclosure.rules import not_ready
from interlock.disclosure.services.shared import (
    audit_transition,
    embargo_end_time,
    enter_case,
    require_rationale,
)


@transaction.atomic
def case_embargo(
    *, actor: Principal, case_uuid: object, action: str, until: datetime | None = None, reason: str = ""
) -> DisclosureCase:
    """embargo_propose / embargo_accept / embargo_revise / embargo_end (see the table)."""
    if action not in ("embargo_propose", "embargo_accept", "embargo_revise", "embargo_end"):
        raise ApplicationError("Unknown embargo action.", {"action": ["propose, accept, revise or end"]})
    case = enter_case(actor, case_uuid, action)
    if action == "embargo_end":  # the reason is checked first, as before the table's own check
        reason = require_rationale(reason, "reason")
    waiting = not_ready(case, action, timezone.now())
    if waiting:
        raise InvalidState(waiting)
    if action == "embargo_propose":
        case.embargo_proposed_until = embargo_end_time(until)
        case.embargo_state = EmbargoState.PROPOSED
    elif action == "embargo_revise":
        case.embargo_proposed_until = embargo_end_time(until)
        case.embargo_state = EmbargoState.REVISE
    elif action == "embargo_accept":
        case.embargo_until = embargo_end_time(case.embargo_proposed_until)
        case.embargo_state = EmbargoState.ACTIVE
    else:
        case.embargo_state = EmbargoState.EXITED
        case.embargo_until = timezone.now()
    case.save(update_fields=["embargo_state", "embargo_until", "embargo_proposed_until"])
    audit_transition(
        actor,
        action,
        case,
        embargo=case.embargo_state,
        until=case.embargo_until.isoformat() if case.embargo_until else None,
        reason_length=len(reason),
    )
    return case


# The four rows of the table, each with only its own input: small variants of the one routine.


def case_embargo_propose(*, actor: Principal, case_uuid: object, until: datetime | None) -> DisclosureCase:
    return case_embargo(actor=actor, case_uuid=case_uuid, action="embargo_propose", until=until)


def case_embargo_accept(*, actor: Principal, case_uuid: object) -> DisclosureCase:
    return case_embargo(actor=actor, case_uuid=case_uuid, action="embargo_accept")


def case_embargo_revise(*, actor: Principal, case_uuid: object, until: datetime | None) -> DisclosureCase:
    return case_embargo(actor=actor, case_uuid=case_uuid, action="embargo_revise", until=until)


def case_embargo_end(*, actor: Principal, case_uuid: object, reason: str) -> DisclosureCase:
    return case_embargo(actor=actor, case_uuid=case_uuid, action="embargo_end", reason=reason)


def embargo_over(case: DisclosureCase, now: datetime) -> bool:
    """May the scheduler release this case at `now`, as far as its embargo goes?"""
    if case.embargo_state in (EmbargoState.NONE, EmbargoState.EXITED):
        return True
    if case.embargo_state in (EmbargoState.ACTIVE, EmbargoState.REVISE):
        return case.embargo_until is not None and case.embargo_until <= now
    return False  # proposed, not yet accepted or ended by a steward: nothing is released
