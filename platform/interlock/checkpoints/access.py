"""Who may see, upload to, approve and revoke checkpoints.

- See: members of the owner organisation whose clearance reaches the checkpoint's hazard
  tier, and stewards (who must see what they approve; they never get the weights this way).
- Upload the file: the uploader, once, while the checkpoint awaits its file.
- Approve: a steward who is not the uploader, once the file is there.
- Revoke: any steward.
- Analyse (request an approved analysis, never the weights): cleared members of the owner
  organisation, and people from other organisations holding a current analysis-access grant
  that an admin of the owner organisation approved. Grantees also see the checkpoint.
- Decide analysis-access requests: admins of the owner organisation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.accounts.models import Role
from interlock.artifacts.parents import ArtifactParent, register_parent
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointState,
)
from interlock.findings.access import _max_visible_tier, clearance_allows


def _has_analysis_grant(person: Any, checkpoint: Checkpoint) -> bool:
    return AnalysisAccessGrant.objects.filter(
        checkpoint=checkpoint,
        grantee=person,
        state=AnalysisAccessState.APPROVED,
        expires_at__gt=timezone.now(),
    ).exists()


def checkpoint_rule(person: Any, action: Action, checkpoint: Checkpoint) -> Decision:
    member = person.organisation_id == checkpoint.owner_org_id and clearance_allows(
        person, checkpoint.hazard_tier
    )
    if action == Action.VIEW:
        if member or person.is_steward:
            return allow("member or steward")
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
        is_admin = person.organisation_id == checkpoint.owner_org_id and person.role == Role.ORG_ADMIN
        return allow("owner admin") if is_admin else deny("only the owner organisation's admins decide")
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


def visible_checkpoints(person: Any, queryset: QuerySet[Checkpoint]) -> QuerySet[Checkpoint]:
    if person.is_steward:
        return queryset
    granted = AnalysisAccessGrant.objects.filter(
        grantee=person, state=AnalysisAccessState.APPROVED, expires_at__gt=timezone.now()
    ).values("checkpoint_id")
    return queryset.filter(
        Q(owner_org_id=person.organisation_id, hazard_tier__lte=_max_visible_tier(person)) | Q(pk__in=granted)
    )


def _checkpoint_parent(person: Any, parent_id: str, action: Action) -> ArtifactParent:
    from interlock.checkpoints.services import access_checkpoint_by_id, checkpoint_pin_artifact

    wanted = action if action in (Action.ATTACH, Action.DOWNLOAD) else Action.VIEW
    checkpoint = access_checkpoint_by_id(person, parent_id, action=wanted)
    return ArtifactParent(
        "checkpoint",
        str(checkpoint.uuid),
        checkpoint.owner_org,
        kind="checkpoint",
        on_recorded=lambda artifact: checkpoint_pin_artifact(checkpoint=checkpoint, artifact=artifact),
    )


policy.register(Checkpoint, rule=checkpoint_rule, filter_=visible_checkpoints)
register_parent("checkpoint", _checkpoint_parent)
