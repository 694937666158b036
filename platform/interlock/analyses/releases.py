"""Output releases: widening an analysis's result audience takes two cleared stewards from two
different organisations, both other than the requester's (the policy's VOTE_RELEASE rule). One
reject closes the release; nothing widens before two approvals.

While a release is pending, stewards may read the analysis (they must see what they approve);
once approved, members of the target organisations (the sharing group's, or the whole network)
whose clearance reaches the checkpoint's hazard tier see the analysis, its metrics and plots.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from interlock.access import Action, can
from interlock.access.principal import Principal
from interlock.analyses.access import access_analysis_by_id, access_release_to_vote
from interlock.analyses.models import (
    AnalysisState,
    OutputRelease,
    OutputReleaseVote,
    ReleaseState,
    ReleaseTarget,
)
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, InvalidState, PolicyDenied
from interlock.network.access import target_sharing_group

APPROVALS_NEEDED = 2


@transaction.atomic
def release_request(
    *, actor: Principal, analysis_uuid: object, target: str, reason: str, group_uuid: object | None = None
) -> OutputRelease:
    analysis = access_analysis_by_id(actor, analysis_uuid, action=Action.REQUEST_RELEASE)
    if analysis.state != AnalysisState.SUCCEEDED:
        raise InvalidState("Only a finished analysis's results can be released.")
    if target not in ReleaseTarget.values:
        raise ApplicationError("Unknown target.", {"target": [", ".join(ReleaseTarget.values)]})
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 2000:
        raise ApplicationError("Say why the results should go wider.", {"reason": ["10 to 2000 characters"]})
    group = None
    if target == ReleaseTarget.SHARING_GROUP:
        group = target_sharing_group(actor, group_uuid)
        if group is None:
            raise ApplicationError("Name the sharing group.", {"group": ["required"]})
    if analysis.releases.filter(state=ReleaseState.PENDING).exists():
        raise InvalidState("A release of this analysis is already pending.")
    release = OutputRelease.objects.create(
        analysis=analysis, requested_by=actor.person, target=target, target_group=group, reason=reason
    )
    audit_record(
        actor=actor,
        event=Event.ANALYSIS_RELEASE_REQUESTED,
        target=analysis,
        extra={"release": str(release.uuid), "target": target},
    )
    return release


@transaction.atomic
def release_vote(*, actor: Principal, release_uuid: object, approve: bool, rationale: str) -> OutputRelease:
    found = access_release_to_vote(actor, release_uuid)
    release = (
        OutputRelease.objects.select_for_update(of=("self",))
        .select_related("analysis__requester", "analysis__checkpoint")
        .get(pk=found.pk)
    )
    if release.state != ReleaseState.PENDING:
        raise InvalidState(f"This release was already {release.state}.")
    if release.votes.filter(person=actor.person).exists():
        raise InvalidState("You already voted on this release.")
    decision = can(actor, Action.VOTE_RELEASE, release)
    if not decision:
        raise PolicyDenied(f"You cannot vote on this release: {decision.reason}.")
    rationale = (rationale or "").strip()
    if len(rationale) < 10:
        raise ApplicationError("Write a rationale.", {"rationale": ["at least 10 characters"]})
    OutputReleaseVote.objects.create(
        release=release,
        person=actor.person,
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
        if approve and release.target_group is not None:
            group = release.target_group
            release.bound_organisations = sorted(
                {*group.members.values_list("pk", flat=True), group.owner_org_id}
            )
        release.save(update_fields=["state", "decided_at", "bound_organisations"])
        audit_record(
            actor=None,
            event=Event.ANALYSIS_RELEASE_DECIDED,
            target=release.analysis,
            extra={"release": str(release.uuid), "state": release.state, "approvals": approvals},
            actor_label="two-steward rule",
        )
    return release
