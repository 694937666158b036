"""The scheduler's side: release approved cases whose embargo is over, remind reviewers.

Both run from beat (`interlock.disclosure.release_due`), never on a person's request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import InvalidState
from interlock.disclosure.models import CaseState, DisclosureCase, EmbargoState, PublicRelease, Target
from interlock.disclosure.selectors import case_text
from interlock.disclosure.services.embargo import embargo_over
from interlock.disclosure.services.shared import notify
from interlock.findings.models import Finding, FindingState, Label
from interlock.findings.rules import Audience, audience_errors, content_hash
from interlock.findings.services import group_recipients_bind


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
    notify(authors, case, "disclosure_released")
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
            notify(waiting, case, "disclosure_reminder")
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
