"""Reads about checkpoints: the approval that applies now, the kinds it allows, the analysis-access
requests a person may decide. Reads never import writes: nothing here imports
`interlock.checkpoints.services`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from analysis_workers.kinds import allowed_kinds, registry
from interlock.access import Action, Principal, can, visible
from interlock.checkpoints.access import (
    approval_still_backed,
)
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointApproval,
    CheckpointState,
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


# --- what the checkpoint pages show -----------------------------------------------------------

ACCESS_LEVELS = {
    1: "AL1 — black-box metrics: the model is run on inputs and only its outputs are measured",
    2: "AL2 — activations and attributions: attention patterns, ablations, logit lens, patching, probes",
    3: "AL3 — weight-level: the local learning coefficient and every analysis that samples or reads "
    "the weights (includes AL1 and AL2)",
}


@dataclass(frozen=True)
class CheckpointStanding:
    """Where a checkpoint stands, in words that match what may run on it now.

    `code` is one of awaiting_upload, awaiting_approval, approved, revoked, expired, unbacked
    (the approving steward may no longer approve) or changed (approved bytes differ from the
    stored ones); `approval` is the current approval, if any."""

    code: str
    label: str
    approval: CheckpointApproval | None = None


def checkpoint_standing(checkpoint: Checkpoint) -> CheckpointStanding:
    """The checkpoint's standing: its current approval if one applies, else the newest reason none does."""
    if checkpoint.state == CheckpointState.AWAITING_UPLOAD:
        return CheckpointStanding("awaiting_upload", "Awaiting upload")
    current = checkpoint_current_approval(checkpoint)
    if current is not None:
        label = f"Approved AL{current.access_level} until {current.expires_at:%Y-%m-%d}"
        return CheckpointStanding("approved", label, current)
    newest = checkpoint.approvals.order_by("-created_at").first()
    if newest is None:
        return CheckpointStanding("awaiting_approval", "Uploaded, awaiting a steward's approval")
    if newest.revoked_at is not None:
        return CheckpointStanding("revoked", "Approval revoked")
    if newest.sha256 != checkpoint.sha256:
        return CheckpointStanding("changed", "The stored bytes differ from the approved ones")
    if newest.expires_at <= timezone.now():
        return CheckpointStanding("expired", f"Approval expired {newest.expires_at:%Y-%m-%d}")
    return CheckpointStanding("unbacked", "Approval no longer backed by a steward who may give it")


def checkpoint_list(*, principal: Principal) -> list[tuple[str, list[Checkpoint]]]:
    """The checkpoints `principal` may see, grouped by series (series in name order, each in its
    order; checkpoints without a series last, newest first), at most 500."""
    queryset = visible(principal, Checkpoint.objects.select_related("owner_org"))
    groups: dict[str, list[Checkpoint]] = {}
    for checkpoint in queryset.order_by("series", "position", "-created_at")[:500]:
        groups.setdefault(checkpoint.series, []).append(checkpoint)
    loose = groups.pop("", [])
    return [*groups.items(), *([("", loose)] if loose else [])]


def checkpoint_series(*, principal: Principal, checkpoint: Checkpoint) -> list[Checkpoint]:
    """The visible checkpoints of `checkpoint`'s series (the same owner), in order; [] without one."""
    if not checkpoint.series:
        return []
    queryset = Checkpoint.objects.filter(owner_org_id=checkpoint.owner_org_id, series=checkpoint.series)
    return list(visible(principal, queryset).order_by("position", "created_at"))


def checkpoint_approvals(*, principal: Principal, checkpoint: Checkpoint) -> QuerySet[CheckpointApproval]:
    """Every approval of the checkpoint, newest first, with who gave and who revoked it."""
    queryset = CheckpointApproval.objects.filter(checkpoint=checkpoint).select_related(
        "steward__organisation", "revoked_by"
    )
    return visible(principal, queryset).order_by("-created_at")


def checkpoints_awaiting_approval(*, principal: Principal) -> list[Checkpoint]:
    """The stewards' queue: uploaded checkpoints without a current approval that `principal` may
    approve (a steward who is not the uploader, cleared for the tier), oldest first."""
    queryset = visible(principal, Checkpoint.objects.select_related("owner_org", "uploaded_by")).filter(
        state=CheckpointState.UPLOADED
    )
    return [
        checkpoint
        for checkpoint in queryset.order_by("created_at")[:500]
        if checkpoint_current_approval(checkpoint) is None
        and can(principal, Action.APPROVE_CHECKPOINT, checkpoint)
    ]


def checkpoint_runnable_kinds(checkpoint: Checkpoint) -> list[str]:
    """The kinds the current approval allows that also run on the checkpoint's architecture."""
    family = checkpoint.spec.get("family") if isinstance(checkpoint.spec, dict) else None
    kinds = registry()
    return [name for name in checkpoint_allowed_kinds(checkpoint) if family in kinds[name].families]
