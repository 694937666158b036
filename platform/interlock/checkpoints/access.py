"""Who may see, upload to, approve and revoke checkpoints, and who decides analysis access.

A checkpoint carries its own hazard tier; its label is fixed at TLP:AMBER (the owner
organisation plus the people it names through analysis-access grants), and every clause below
needs clearance ≥ the tier — stewards and admins included.

- See: cleared members of the owner organisation; cleared stewards (who must see what they
  approve; never the weights this way); cleared holders of a current analysis-access grant.
- Upload the file: the uploader, once, while the checkpoint awaits its file.
- Approve: a cleared steward who is not the uploader, once the file is there. Revoke: a steward.
- Analyse (request an approved analysis, never the weights): cleared members of the owner
  organisation, and cleared people of other organisations holding a current grant.
- Decide analysis-access requests: cleared admins of the owner organisation; approving also
  needs the requester's clearance to reach the tier (re-checked at every use of the grant).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.clearance import clearance_allows, max_visible_tier
from interlock.access.gate import standing_gate
from interlock.access.lookups import access_by_uuid
from interlock.access.principal import Principal
from interlock.accounts.models import Person, Role
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointApproval,
    CheckpointState,
)


def _has_analysis_grant(person: Person, checkpoint: Checkpoint) -> bool:
    return AnalysisAccessGrant.objects.filter(
        checkpoint=checkpoint,
        grantee=person,
        state=AnalysisAccessState.APPROVED,
        expires_at__gt=timezone.now(),
    ).exists()


def _owner_admin(person: Person, checkpoint: Checkpoint) -> bool:
    return person.organisation_id == checkpoint.owner_org_id and person.role == Role.ORG_ADMIN


def checkpoint_rule(principal: Principal, action: Action, checkpoint: Checkpoint) -> Decision:
    person = principal.person
    if not clearance_allows(person, checkpoint.hazard_tier):
        return deny("clearance below the checkpoint's hazard tier")
    member = person.organisation_id == checkpoint.owner_org_id
    if action == Action.VIEW:
        if member or person.is_steward:
            return allow("cleared member or steward")
        return (
            allow("analysis grantee")
            if _has_analysis_grant(person, checkpoint)
            else deny("not the owner organisation")
        )
    if action == Action.ANALYSE:
        if member:
            return allow("member")
        return (
            allow("analysis grantee")
            if _has_analysis_grant(person, checkpoint)
            else deny("no analysis access")
        )
    if action == Action.DECIDE_ANALYSIS_ACCESS:
        return (
            allow("cleared owner admin")
            if _owner_admin(person, checkpoint)
            else deny("only the owner organisation's admins decide")
        )
    if action == Action.DOWNLOAD:
        return (
            allow("member") if member else deny("weights go to the owner organisation's cleared members only")
        )
    if action == Action.ATTACH:
        if person.pk != checkpoint.uploaded_by_id:
            return deny("only the uploader uploads the file")
        if checkpoint.state != CheckpointState.AWAITING_UPLOAD:
            return deny("the file is already there; register a new checkpoint")
        return allow("uploader")
    if action == Action.APPROVE_CHECKPOINT:
        if not person.is_steward:
            return deny("only stewards approve checkpoints")
        if person.pk == checkpoint.uploaded_by_id:
            return deny("a steward never approves their own upload")
        return (
            allow("steward")
            if checkpoint.state == CheckpointState.UPLOADED
            else deny("no file to approve yet")
        )
    if action == Action.REVOKE_APPROVAL:
        return allow("steward") if person.is_steward else deny("only stewards revoke approvals")
    return deny(f"{action} does not apply to checkpoints")


def approval_still_backed(approval: CheckpointApproval, checkpoint: Checkpoint) -> bool:
    """An approval counts only while the steward who gave it could still give it: an active,
    vetted steward cleared for the checkpoint's tier (re-checked at every use, SECURITY.md)."""
    steward = approval.steward
    return (
        bool(standing_gate(steward))
        and steward.is_steward
        and clearance_allows(steward, checkpoint.hazard_tier)
    )


def approval_rule(principal: Principal, action: Action, approval: CheckpointApproval) -> Decision:
    if action != Action.VIEW:
        return deny("approvals change through their checkpoint")
    return checkpoint_rule(principal, Action.VIEW, approval.checkpoint)


def analysis_access_rule(principal: Principal, action: Action, grant: AnalysisAccessGrant) -> Decision:
    """Cleared owner admins see and decide requests; to anyone else (the requester included,
    who was answered the same whether the checkpoint exists) a request looks like nothing."""
    checkpoint = grant.checkpoint
    if action == Action.VIEW:
        return checkpoint_rule(principal, Action.DECIDE_ANALYSIS_ACCESS, checkpoint)
    if action in (Action.DECIDE_ANALYSIS_ACCESS, Action.GRANT):
        decider = checkpoint_rule(principal, Action.DECIDE_ANALYSIS_ACCESS, checkpoint)
        if not decider:
            return decider
        if grant.state != AnalysisAccessState.PENDING:
            return deny("already decided")
        if action == Action.GRANT and not clearance_allows(grant.grantee, checkpoint.hazard_tier):
            return deny("the requester's clearance is below the checkpoint's hazard tier")
        return allow("cleared owner admin")
    return deny(f"{action} does not apply to analysis-access grants")


def visible_checkpoints(principal: Principal, queryset: QuerySet[Checkpoint]) -> QuerySet[Checkpoint]:
    person = principal.person
    tier = Q(hazard_tier__lte=max_visible_tier(person))
    if person.is_steward:
        return queryset.filter(tier)
    granted = AnalysisAccessGrant.objects.filter(
        grantee=person, state=AnalysisAccessState.APPROVED, expires_at__gt=timezone.now()
    ).values("checkpoint_id")
    return queryset.filter(tier).filter(Q(owner_org_id=person.organisation_id) | Q(pk__in=granted))


def visible_approvals(
    principal: Principal, queryset: QuerySet[CheckpointApproval]
) -> QuerySet[CheckpointApproval]:
    return queryset.filter(
        checkpoint__in=visible_checkpoints(principal, Checkpoint.objects.all()).values("pk")
    )


def visible_analysis_access(
    principal: Principal, queryset: QuerySet[AnalysisAccessGrant]
) -> QuerySet[AnalysisAccessGrant]:
    person = principal.person
    if person.role != Role.ORG_ADMIN:
        return queryset.none()
    return queryset.filter(
        checkpoint__owner_org_id=principal.organisation_id,
        checkpoint__hazard_tier__lte=max_visible_tier(person),
    )


def access_checkpoint_by_id(principal: Principal, checkpoint_uuid: object, *, action: Action) -> Checkpoint:
    return access_by_uuid(
        principal, Checkpoint.objects.select_related("owner_org", "artifact"), checkpoint_uuid, action=action
    )


def access_analysis_access_by_id(
    principal: Principal, grant_uuid: object, *, action: Action
) -> AnalysisAccessGrant:
    queryset = AnalysisAccessGrant.objects.select_related("checkpoint__owner_org", "grantee__organisation")
    return access_by_uuid(principal, queryset, grant_uuid, action=action)


def _checkpoint_parent(principal: Principal, parent_id: str, action: Action) -> ArtifactParent:
    wanted = action if action in (Action.ATTACH, Action.DOWNLOAD) else Action.VIEW
    checkpoint = access_checkpoint_by_id(principal, parent_id, action=wanted)
    return ArtifactParent("checkpoint", str(checkpoint.uuid), checkpoint.owner_org, kind="checkpoint")


CHECKPOINT_AXES = "its own hazard tier; label fixed at TLP:AMBER (owner organisation + named grantees)"

policy.register(
    Checkpoint,
    rule=checkpoint_rule,
    filter_=visible_checkpoints,
    actions=(
        Action.VIEW,
        Action.ANALYSE,
        Action.DECIDE_ANALYSIS_ACCESS,
        Action.DOWNLOAD,
        Action.ATTACH,
        Action.APPROVE_CHECKPOINT,
        Action.REVOKE_APPROVAL,
    ),
    axes=CHECKPOINT_AXES,
    audience="cleared members of the owner organisation, cleared stewards, cleared analysis grantees",
)
policy.register(
    CheckpointApproval,
    rule=approval_rule,
    filter_=visible_approvals,
    actions=(Action.VIEW,),
    axes="its checkpoint's",
    audience="whoever may see the checkpoint",
)
policy.register(
    AnalysisAccessGrant,
    rule=analysis_access_rule,
    filter_=visible_analysis_access,
    actions=(Action.VIEW, Action.DECIDE_ANALYSIS_ACCESS, Action.GRANT),
    axes="its checkpoint's; approver and grantee both need clearance ≥ the tier, re-checked at use",
    audience="the owner organisation's admins cleared for the tier",
)
register_parent(
    "checkpoint",
    _checkpoint_parent,
    lambda principal: visible_checkpoints(principal, Checkpoint.objects.all()).values("uuid"),
)
