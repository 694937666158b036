"""Output releases: widening an analysis's result audience takes the approval of two stewards from
two different organisations, both other than the requester's (a second approval from an
organisation that already approved is refused). One reject closes the release; nothing widens
before two approvals.

While a release is pending, stewards may read the analysis (they must see what they approve);
once approved, members of the target organisations (the sharing group's, or the whole network)
whose clearance reaches the checkpoint's hazard tier see the analysis, its metrics and plots.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from interlock.access.gate import network_gate
from interlock.access.lookups import parse_uuid
from interlock.analyses.models import (
    AnalysisRequest,
    AnalysisState,
    OutputRelease,
    OutputReleaseVote,
    ReleaseState,
    ReleaseTarget,
)
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock.network.models import SharingGroup

APPROVALS_NEEDED = 2


@transaction.atomic
def release_request(
    *, actor: Any, analysis: AnalysisRequest, target: str, reason: str, group_uuid: object | None = None
) -> OutputRelease:
    if actor.pk != analysis.requester_id:
        raise PolicyDenied("Only the requester asks to release an analysis's results.")
    if analysis.state != AnalysisState.SUCCEEDED:
        raise InvalidState("Only a finished analysis's results can be released.")
    if target not in ReleaseTarget.values:
        raise ApplicationError("Unknown target.", {"target": [", ".join(ReleaseTarget.values)]})
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 2000:
        raise ApplicationError("Say why the results should go wider.", {"reason": ["10 to 2000 characters"]})
    group = None
    if target == ReleaseTarget.SHARING_GROUP:
        group = SharingGroup.objects.filter(uuid=parse_uuid(group_uuid)).first() if group_uuid else None
        if group is None:
            raise ApplicationError("Name the sharing group.", {"group": ["required"]})
    if analysis.releases.filter(state=ReleaseState.PENDING).exists():
        raise InvalidState("A release of this analysis is already pending.")
    release = OutputRelease.objects.create(
        analysis=analysis, requested_by=actor, target=target, target_group=group, reason=reason
    )
    audit_record(
        actor=actor,
        event=Event.ANALYSIS_RELEASE_REQUESTED,
        target=analysis,
        extra={"release": str(release.uuid), "target": target},
    )
    return release


@transaction.atomic
def release_vote(*, actor: Any, release_uuid: object, approve: bool, rationale: str) -> OutputRelease:
    release = (
        OutputRelease.objects.select_for_update(of=("self",))
        .select_related("analysis__requester")
        .filter(uuid=parse_uuid(release_uuid))
        .first()
    )
    if release is None or not (network_gate(actor) and actor.is_steward):
        raise NotFound
    if release.state != ReleaseState.PENDING:
        raise InvalidState(f"This release was already {release.state}.")
    requester_org = release.analysis.requester.organisation_id
    if actor.pk == release.requested_by_id or actor.organisation_id == requester_org:
        raise PolicyDenied("Approvers come from organisations other than the requester's.")
    rationale = (rationale or "").strip()
    if len(rationale) < 10:
        raise ApplicationError("Write a rationale.", {"rationale": ["at least 10 characters"]})
    if release.votes.filter(person=actor).exists():
        raise InvalidState("You already voted on this release.")
    if approve and release.votes.filter(approve=True, organisation_id=actor.organisation_id).exists():
        raise PolicyDenied(
            "A steward of your organisation already approved this release; the second approval "
            "must come from another organisation."
        )
    OutputReleaseVote.objects.create(
        release=release,
        person=actor,
        organisation_id=actor.organisation_id,
        approve=approve,
        rationale=rationale,
    )
    audit_record(
        actor=actor,
        event=Event.ANALYSIS_RELEASE_VOTED,
        target=release.analysis,
        extra={"release": str(release.uuid), "approve": approve},
    )
    # approving organisations, not approving people: two stewards of one organisation are one voice
    approvals = release.votes.filter(approve=True).values("organisation_id").distinct().count()
    if not approve or approvals >= APPROVALS_NEEDED:
        release.state = ReleaseState.APPROVED if approve else ReleaseState.REJECTED
        release.decided_at = timezone.now()
        release.save(update_fields=["state", "decided_at"])
        audit_record(
            actor=None,
            event=Event.ANALYSIS_RELEASE_DECIDED,
            target=release.analysis,
            extra={"release": str(release.uuid), "state": release.state, "approvals": approvals},
            actor_label="two-steward rule",
        )
    return release
