"""Reads about checkpoints: the approval that applies now, the kinds it allows, the analysis-access
requests a person may decide. Reads never import writes: nothing here imports
`interlock.checkpoints.services`.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from analysis_workers.kinds import allowed_kinds
from interlock.access import Principal, visible
from interlock.checkpoints.access import (
    approval_still_backed,
)
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointApproval,
)


def checkpoint_current_approval(checkpoint: Checkpoint) -> CheckpointApproval | None:
    """The newest approval that still applies to the stored bytes and is still backed by a
    steward cleared for the tier, or None."""
    current = checkpoint.approvals.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    for approval in current.select_related("steward__organisation"):
        if approval.is_current(checkpoint) and approval_still_backed(approval, checkpoint):
            return approval
    return None


def checkpoint_files(checkpoint: Checkpoint) -> list[dict[str, object]]:
    """A folder checkpoint's declared files in name order, each with whether it has arrived."""
    arrived = set(checkpoint.files.values_list("path", flat=True)) if checkpoint.manifest else set()
    return [{**entry, "uploaded": entry["path"] in arrived} for entry in checkpoint.manifest]


def checkpoint_allowed_kinds(checkpoint: Checkpoint) -> list[str]:
    approval = checkpoint_current_approval(checkpoint)
    return allowed_kinds(approval.access_level) if approval else []


def analysis_access_pending(*, actor: Principal) -> QuerySet[AnalysisAccessGrant]:
    """Pending requests the principal may decide: for cleared admins of the owner organisation
    (the policy's filter), none for anyone else — not even the checkpoint's name."""
    queryset = AnalysisAccessGrant.objects.select_related("checkpoint", "grantee__organisation").filter(
        state=AnalysisAccessState.PENDING
    )
    return visible(actor, queryset)
