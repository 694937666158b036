"""Who sees an analysis, its metrics and its plots: the result audience.

An analysis is seen by its requester (also a grantee from another organisation) and by the
owner organisation's members cleared for the checkpoint's hazard tier — the people who may
see the weights it was computed from. Results of a private checkpoint can carry what its
weights carry, so nobody else sees them unless an output release (`releases.py`) approved by
two stewards of other organisations widened the audience; stewards see an analysis only while
they review such a release. Plots are artifacts whose parent is the analysis,
so they are visible exactly when the analysis is; nobody attaches to an analysis by hand.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.lookups import access_by_uuid
from interlock.analyses.models import AnalysisRequest, ReleaseState, ReleaseTarget
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.core.errors import NotFound
from interlock.findings.access import _max_visible_tier, clearance_allows


def _owner_member(person: Any, request: AnalysisRequest) -> bool:
    """Of the owner organisation and cleared for the strictest tier among the inputs."""
    return person.organisation_id == request.checkpoint.owner_org_id and clearance_allows(
        person, request.hazard_tier
    )


def _released_to(person: Any, request: AnalysisRequest) -> bool:
    """An approved output release reaches the person's organisation, and their clearance the tier."""
    if not clearance_allows(person, request.hazard_tier):
        return False
    approved = request.releases.filter(state=ReleaseState.APPROVED)
    return approved.filter(
        Q(target=ReleaseTarget.NETWORK)
        | Q(target_group__members=person.organisation_id)
        | Q(target_group__owner_org=person.organisation_id)
    ).exists()


def analysis_rule(person: Any, action: Action, request: AnalysisRequest) -> Decision:
    if action not in (Action.VIEW, Action.DOWNLOAD):
        return deny(f"{action} does not apply to analyses")
    if person.pk == request.requester_id or _owner_member(person, request):
        return allow("result audience")
    if _released_to(person, request):
        return allow("an approved output release")
    if person.is_steward and request.releases.filter(state=ReleaseState.PENDING).exists():
        return allow("a steward reviewing a pending output release")
    return deny("not in the result audience")


def visible_analyses(person: Any, queryset: QuerySet[AnalysisRequest]) -> QuerySet[AnalysisRequest]:
    tier = _max_visible_tier(person)
    released = Q(releases__state=ReleaseState.APPROVED, hazard_tier__lte=tier) & (
        Q(releases__target=ReleaseTarget.NETWORK)
        | Q(releases__target_group__members=person.organisation_id)
        | Q(releases__target_group__owner_org=person.organisation_id)
    )
    pending = Q(releases__state=ReleaseState.PENDING) if person.is_steward else Q(pk__in=[])
    return queryset.filter(
        Q(requester_id=person.pk)
        | Q(checkpoint__owner_org_id=person.organisation_id, hazard_tier__lte=tier)
        | released
        | pending
    ).distinct()


def access_analysis_by_id(
    person: Any, analysis_uuid: object, *, action: Action = Action.VIEW
) -> AnalysisRequest:
    """The analysis if `person` is in its audience; NotFound (404) otherwise, never a 403."""
    return access_by_uuid(
        person,
        AnalysisRequest.objects.select_related("checkpoint__owner_org", "checkpoint__artifact", "requester"),
        analysis_uuid,
        action=action,
    )


def _analysis_parent(person: Any, parent_id: str, action: Action) -> ArtifactParent:
    if action not in (Action.VIEW, Action.DOWNLOAD):
        raise NotFound  # plots are written by the platform from a worker's sealed result only
    request = access_analysis_by_id(person, parent_id, action=action)
    return ArtifactParent("analysis", str(request.uuid), request.checkpoint.owner_org, kind="plot")


policy.register(AnalysisRequest, rule=analysis_rule, filter_=visible_analyses)
register_parent("analysis", _analysis_parent)
