"""Who sees an analysis, its result and its plots, and who widens or stops it.

An analysis inherits the strictest axes of its inputs (its `hazard_tier` is the highest
input tier; checkpoints are TLP:AMBER). Its result audience is the requester (also a grantee
from another organisation) and the owner organisation's members — every one of them only
while their clearance reaches the tier, so a requester whose clearance drops stops reading
their own results. Nobody else sees them unless an output release (`releases.py`) approved
by two cleared stewards of two organisations other than the requester's widened the
audience; cleared stewards see an analysis while they review such a release. Plots are
artifacts whose parent is the analysis, so they are visible exactly when the analysis is.

An analysis on an organisation's own dataset has the intersection of its inputs' audiences: every
clause above also needs the dataset's audience (its organisation, label and tier,
`interlock.datasets.access`), so a checkpoint owner outside the dataset's audience does not see
results computed on it; and its results are never released wider (an output release would carry
the dataset's content past its label).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.clearance import clearance_allows, max_visible_tier
from interlock.access.lookups import access_by_uuid, parse_uuid, require_scope
from interlock.access.policy import sees
from interlock.access.principal import Principal
from interlock.accounts.models import Person, Role
from interlock.analyses.models import (
    AnalysisRequest,
    AnalysisResult,
    OutputRelease,
    OutputReleaseVote,
    ReleaseState,
    ReleaseTarget,
)
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.core.errors import NotFound
from interlock.datasets.access import dataset_audience, visible_datasets
from interlock.datasets.models import UploadedDataset


def _reaches(org_id: int) -> Q:
    """An approved release reaches the organisation: the whole network, or a sharing group the
    organisation was bound into at approval and is still in (later additions never widen it)."""
    still_in = Q(target_group__members=org_id) | Q(target_group__owner_org=org_id)
    return Q(target=ReleaseTarget.NETWORK) | (Q(bound_organisations__contains=[org_id]) & still_in)


def _released_to(person: Person, request: AnalysisRequest) -> bool:
    """An approved output release reaches the person's organisation."""
    approved = request.releases.filter(state=ReleaseState.APPROVED)
    return approved.filter(_reaches(person.organisation_id or 0)).exists()


def analysis_rule(principal: Principal, action: Action, request: AnalysisRequest) -> Decision:
    person = principal.person
    if not clearance_allows(person, request.hazard_tier):
        return deny("clearance below the strictest input's hazard tier")
    if request.uploaded_dataset_id is not None and request.uploaded_dataset is not None:
        dataset = dataset_audience(person, request.uploaded_dataset)
        if not dataset:
            return deny(f"outside the uploaded dataset's audience: {dataset.reason}")
        if action == Action.REQUEST_RELEASE:
            return deny("results on an uploaded dataset stay within the dataset's audience")
    requester = person.pk == request.requester_id
    owner_member = person.organisation_id == request.checkpoint.owner_org_id
    if action in (Action.VIEW, Action.DOWNLOAD):
        if requester or owner_member:
            return allow("result audience")
        if _released_to(person, request):
            return allow("an approved output release")
        if person.is_steward and request.releases.filter(state=ReleaseState.PENDING).exists():
            return allow("a steward reviewing a pending output release")
        return deny("not in the result audience")
    if action == Action.CANCEL:
        owner_admin = owner_member and person.role == Role.ORG_ADMIN
        return allow("requester or owner admin") if requester or owner_admin else deny("not the requester")
    if action == Action.REQUEST_RELEASE:
        return allow("requester") if requester else deny("only the requester asks to release results")
    return deny(f"{action} does not apply to analyses")


def result_rule(principal: Principal, action: Action, result: AnalysisResult) -> Decision:
    if action not in (Action.VIEW, Action.DOWNLOAD):
        return deny("results are written by the platform from a worker's sealed answer only")
    return analysis_rule(principal, Action.VIEW, result.request)


def release_rule(principal: Principal, action: Action, release: OutputRelease) -> Decision:
    """A release is seen by whoever sees its analysis; voting needs a cleared steward of an
    organisation that is neither the requester's nor one that already voted."""
    person = principal.person
    analysis = release.analysis
    if action == Action.VIEW:
        return analysis_rule(principal, Action.VIEW, analysis)
    if action == Action.VOTE_RELEASE:
        if not person.is_steward:
            return deny("only stewards approve output releases")
        if not clearance_allows(person, analysis.hazard_tier):
            return deny("clearance below the analysis's hazard tier")
        if release.state != ReleaseState.PENDING:
            return deny("the release was decided")
        if person.pk in (release.requested_by_id, analysis.requester_id) or (
            person.organisation_id == analysis.requester.organisation_id
        ):
            return deny("approvers come from organisations other than the requester's")
        if release.votes.filter(organisation_id=principal.organisation_id).exists():
            return deny(
                "a steward of your organisation already voted: the second vote must come from another organisation"
            )
        return allow("cleared steward of another organisation")
    return deny(f"{action} does not apply to output releases")


def release_vote_rule(principal: Principal, action: Action, vote: OutputReleaseVote) -> Decision:
    if action != Action.VIEW:
        return deny("votes are immutable")
    return release_rule(principal, Action.VIEW, vote.release)


def visible_analyses(principal: Principal, queryset: QuerySet[AnalysisRequest]) -> QuerySet[AnalysisRequest]:
    person = principal.person
    org_id = principal.organisation_id
    releases = OutputRelease.objects.filter(analysis_id=OuterRef("pk"))
    released = Exists(releases.filter(state=ReleaseState.APPROVED).filter(_reaches(org_id)))
    audience = Q(requester_id=person.pk) | Q(checkpoint__owner_org_id=org_id) | Q(released=True)
    if person.is_steward:
        audience |= Q(pending=True)
    datasets = visible_datasets(principal, UploadedDataset.objects.all()).values("pk")
    return (
        queryset.alias(released=released, pending=Exists(releases.filter(state=ReleaseState.PENDING)))
        .filter(hazard_tier__lte=max_visible_tier(person))
        .filter(audience)
        .filter(Q(uploaded_dataset__isnull=True) | Q(uploaded_dataset__in=datasets))
    )


def visible_results(principal: Principal, queryset: QuerySet[AnalysisResult]) -> QuerySet[AnalysisResult]:
    return queryset.filter(
        request__in=visible_analyses(principal, AnalysisRequest.objects.all()).values("pk")
    )


def visible_releases(principal: Principal, queryset: QuerySet[OutputRelease]) -> QuerySet[OutputRelease]:
    return queryset.filter(
        analysis__in=visible_analyses(principal, AnalysisRequest.objects.all()).values("pk")
    )


def visible_release_votes(
    principal: Principal, queryset: QuerySet[OutputReleaseVote]
) -> QuerySet[OutputReleaseVote]:
    return queryset.filter(release__in=visible_releases(principal, OutputRelease.objects.all()).values("pk"))


def access_analysis_by_id(
    principal: Principal, analysis_uuid: object, *, action: Action = Action.VIEW
) -> AnalysisRequest:
    """The analysis if `principal` is in its audience; NotFound (404) otherwise, never a 403."""
    return access_by_uuid(
        principal,
        AnalysisRequest.objects.select_related(
            "checkpoint__owner_org", "checkpoint__artifact", "requester__organisation", "uploaded_dataset"
        ),
        analysis_uuid,
        action=action,
    )


def access_release_to_vote(principal: Principal, release_uuid: object) -> OutputRelease:
    """The release a vote is about to be cast on. A vote is a write, so it needs the `write` scope
    and not `read` (SECURITY.md: scopes follow the method; a token that may not read still
    votes, and its answer carries no content); a release the principal cannot see is NotFound,
    exactly like a missing one. Whether they may vote is decided by the caller after the
    state checks, so that someone who sees the release learns why not."""
    require_scope(principal, Action.VOTE_RELEASE)
    queryset = OutputRelease.objects.select_related("analysis__checkpoint", "analysis__requester")
    release = queryset.filter(uuid=parse_uuid(release_uuid)).first()
    if release is None or not sees(principal, release):
        raise NotFound
    return release


def _analysis_parent(principal: Principal, parent_id: str, action: Action) -> ArtifactParent:
    if action not in (Action.VIEW, Action.DOWNLOAD):
        raise NotFound  # plots are written by the platform from a worker's sealed result only
    request = access_analysis_by_id(principal, parent_id, action=action)
    return ArtifactParent("analysis", str(request.uuid), request.checkpoint.owner_org, kind="plot")


STRICTEST = (
    "the strictest of its inputs' (highest hazard tier; TLP:AMBER, or an uploaded dataset's label, "
    "whose audience it is narrowed to)"
)

policy.register(
    AnalysisRequest,
    rule=analysis_rule,
    filter_=visible_analyses,
    actions=(Action.VIEW, Action.DOWNLOAD, Action.CANCEL, Action.REQUEST_RELEASE),
    axes=STRICTEST,
    audience="cleared requester and owner-org members; cleared targets of an approved output release; "
    "with an uploaded dataset, only those also in the dataset's audience",
)
policy.register(
    AnalysisResult,
    rule=result_rule,
    filter_=visible_results,
    actions=(Action.VIEW,),
    axes="its analysis's",
    audience="whoever may see the analysis",
)
policy.register(
    OutputRelease,
    rule=release_rule,
    filter_=visible_releases,
    actions=(Action.VIEW, Action.VOTE_RELEASE),
    axes="its analysis's; voters need clearance ≥ the tier",
    audience="whoever may see the analysis; cleared stewards while it is pending",
)
policy.register(
    OutputReleaseVote,
    rule=release_vote_rule,
    filter_=visible_release_votes,
    actions=(Action.VIEW,),
    axes="its analysis's",
    audience="whoever may see the release",
)
register_parent(
    "analysis",
    _analysis_parent,
    lambda principal: visible_analyses(principal, AnalysisRequest.objects.all()).values("uuid"),
)
