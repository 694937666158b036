"""Registering checkpoints, pinning their file's hash, approving and revoking — each audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analysis_workers.kinds import allowed_kinds
from analysis_workers.specs import CheckpointError, validate_spec
from interlock.access import Action, Principal, can
from interlock.access.clearance import clearance_allows
from interlock.access.lookups import parse_uuid
from interlock.artifacts.models import Artifact
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.checkpoints.access import (
    access_analysis_access_by_id,
    access_checkpoint_by_id,
)
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointApproval,
    CheckpointFile,
    CheckpointLayout,
    CheckpointState,
)
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock_wire import ManifestEntry, ManifestError, manifest_sha256, parse_manifest

# Families whose checkpoints are Hugging Face folders (several files pinned by a manifest hash).
FOLDER_FAMILIES = ("hf_causal_lm",)

MAX_APPROVAL_DAYS = 365


@transaction.atomic
def checkpoint_register(
    *,
    actor: Principal,
    name: str,
    spec: object,
    hazard_tier: int = 0,
    series: str = "",
    position: int | None = None,
    files: object = None,
) -> Checkpoint:
    """A checkpoint awaiting its file(s); the spec is validated now (no torch needed).

    The zoo's families take one safetensors file; `hf_causal_lm` takes a Hugging Face folder
    whose `files` (name, SHA-256, size of each) are declared now and pinned by one manifest hash
    once every file has arrived with the hash declared for it."""
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = ["1–200 characters"]
    try:
        validated = validate_spec(spec)
    except CheckpointError as problem:
        errors["spec"] = [str(problem)]
    folder = isinstance(spec, dict) and spec.get("family") in FOLDER_FAMILIES
    manifest: list[dict[str, object]] = []
    if folder:
        try:
            entries = parse_manifest(files, max_file_bytes=int(settings.ARTIFACT_MAX_BYTES))
            manifest = [entry.as_json() for entry in entries]
        except ManifestError as problem:
            errors["files"] = [str(problem)]
    elif files not in (None, []):
        errors["files"] = ["only a Hugging Face folder (family hf_causal_lm) lists files; upload one file"]
    if not 0 <= hazard_tier <= 3:
        errors["hazard_tier"] = ["0, 1, 2 or 3"]
    elif not clearance_allows(actor.person, hazard_tier):
        errors["hazard_tier"] = ["above your clearance"]
    if errors:
        raise ApplicationError("The checkpoint is not valid.", errors)
    organisation = actor.person.organisation
    if organisation is None:
        raise PolicyDenied("You need a home organisation to register checkpoints.")
    checkpoint = Checkpoint.objects.create(
        owner_org=organisation,
        uploaded_by=actor.person,
        name=name.strip(),
        spec=validated.as_json(),
        hazard_tier=hazard_tier,
        series=series.strip()[:200],
        position=position,
        layout=CheckpointLayout.HF_FOLDER if folder else CheckpointLayout.FILE,
        manifest=manifest,
    )
    audit_record(
        actor=actor,
        event=Event.CHECKPOINT_REGISTERED,
        target=checkpoint,
        extra={"family": validated.family.name, "files": len(manifest) or 1},
    )
    return checkpoint


def checkpoint_pin_artifact(artifact: Artifact) -> None:
    """Called in the upload's transaction (the artifacts app's recorded hook for checkpoint
    parents): the file's plaintext SHA-256 becomes the checkpoint's; for a folder, the file must
    be one the manifest lists, with the declared hash and size, and the manifest hash is pinned
    when the last one arrives. A refusal rolls the upload back."""
    locked = Checkpoint.objects.select_for_update().get(uuid=artifact.parent_id)
    if locked.state != CheckpointState.AWAITING_UPLOAD:
        raise InvalidState("This checkpoint already has its file.")
    if locked.layout == CheckpointLayout.HF_FOLDER:
        _pin_folder_file(locked, artifact)
        return
    locked.artifact = artifact
    locked.sha256 = artifact.sha256
    locked.state = CheckpointState.UPLOADED
    locked.save(update_fields=["artifact", "sha256", "state"])


def _pin_folder_file(locked: Checkpoint, artifact: Artifact) -> None:
    declared = {str(entry["path"]): entry for entry in locked.manifest}
    entry = declared.get(artifact.filename)
    if entry is None:
        raise ApplicationError(
            "This file is not in the checkpoint's manifest.",
            {"filename": [f"one of {', '.join(sorted(declared))}"]},
        )
    if artifact.sha256 != entry["sha256"] or artifact.size != entry["size"]:
        raise ApplicationError(
            f"{artifact.filename} differs from the manifest (its SHA-256 or size); nothing was kept.",
            {"filename": ["upload the file whose hash you declared"]},
        )
    if CheckpointFile.objects.filter(checkpoint=locked, path=artifact.filename).exists():
        raise InvalidState(f"{artifact.filename} is already uploaded.")
    CheckpointFile.objects.create(checkpoint=locked, path=artifact.filename, artifact=artifact)
    if CheckpointFile.objects.filter(checkpoint=locked).count() == len(declared):
        entries = [
            ManifestEntry(str(e["path"]), str(e["sha256"]), int(str(e["size"]))) for e in locked.manifest
        ]
        locked.sha256 = manifest_sha256(entries)
        locked.state = CheckpointState.UPLOADED
        locked.save(update_fields=["sha256", "state"])


@transaction.atomic
def checkpoint_approve(
    *, actor: Principal, checkpoint_uuid: object, access_level: int, expires_at: datetime, sha256: str
) -> CheckpointApproval:
    """A steward (not the uploader) approves exactly the bytes whose hash they name."""
    checkpoint = access_checkpoint_by_id(actor, checkpoint_uuid, action=Action.APPROVE_CHECKPOINT)
    errors: dict[str, list[str]] = {}
    if access_level not in (1, 2, 3):
        errors["access_level"] = ["1 (black-box), 2 (activations) or 3 (weights)"]
    now = timezone.now()
    if expires_at <= now or expires_at - now > timedelta(days=MAX_APPROVAL_DAYS):
        errors["expires_at"] = [f"in the future, at most {MAX_APPROVAL_DAYS} days ahead"]
    if sha256 != checkpoint.sha256:
        errors["sha256"] = ["does not match the uploaded file: approve the bytes you inspected"]
    if errors:
        raise ApplicationError("The approval is not valid.", errors)
    approval = CheckpointApproval.objects.create(
        checkpoint=checkpoint,
        steward=actor.person,
        sha256=sha256,
        access_level=access_level,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        event=Event.CHECKPOINT_APPROVED,
        target=checkpoint,
        extra={
            "sha256": sha256,
            "access_level": access_level,
            "expires_at": expires_at.isoformat(),
            "kinds": allowed_kinds(access_level),
        },
    )
    return approval


@transaction.atomic
def checkpoint_revoke(*, actor: Principal, checkpoint_uuid: object, reason: str) -> int:
    checkpoint = access_checkpoint_by_id(actor, checkpoint_uuid, action=Action.REVOKE_APPROVAL)
    if not reason.strip():
        raise ApplicationError("Say why the approval is revoked.", {"reason": ["required"]})
    revoked = CheckpointApproval.objects.filter(checkpoint=checkpoint, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor.person, revocation_reason=reason.strip()[:500]
    )
    if not revoked:
        raise NotFound("There is no approval to revoke.")
    audit_record(
        actor=actor, event=Event.CHECKPOINT_APPROVAL_REVOKED, target=checkpoint, extra={"revoked": revoked}
    )
    return revoked


MAX_ANALYSIS_ACCESS_DAYS = 180


def analysis_access_request(*, actor: Principal, checkpoint_uuid: object, reason: str) -> None:
    """Ask the owner organisation's admins for analysis access to a checkpoint.

    Answers the same whether or not the checkpoint exists or is visible (an outsider must not
    learn which ids exist); a request is recorded only for an existing checkpoint of another
    organisation, once while one is pending."""
    reason = reason.strip()
    if not 10 <= len(reason) <= 1000:
        raise ApplicationError("Say why you need access.", {"reason": ["10 to 1000 characters"]})
    checkpoint = Checkpoint.objects.filter(uuid=parse_uuid(checkpoint_uuid)).first()
    if checkpoint is None or checkpoint.owner_org_id == actor.organisation_id:
        return
    with transaction.atomic():
        pending = AnalysisAccessGrant.objects.select_for_update().filter(
            checkpoint=checkpoint, grantee=actor.person, state=AnalysisAccessState.PENDING
        )
        if pending.exists():
            return
        grant = AnalysisAccessGrant.objects.create(checkpoint=checkpoint, grantee=actor.person, reason=reason)
        audit_record(actor=actor, event=Event.ANALYSIS_ACCESS_REQUESTED, target=grant)


def analysis_access_decide(
    *, actor: Principal, grant_uuid: object, approve: bool, days: int = 30
) -> AnalysisAccessGrant:
    """A cleared admin of the owner organisation approves (with an expiry) or rejects a pending
    request; approving also needs the requester's clearance to reach the checkpoint's tier."""
    grant = access_analysis_access_by_id(actor, grant_uuid, action=Action.DECIDE_ANALYSIS_ACCESS)
    if approve:
        decision = can(actor, Action.GRANT, grant)
        if not decision:
            raise PolicyDenied(f"This request cannot be approved: {decision.reason}.")
    if not 1 <= days <= MAX_ANALYSIS_ACCESS_DAYS:
        raise ApplicationError("Access is granted for 1 to 180 days.", {"days": ["1 to 180"]})
    with transaction.atomic():
        locked = AnalysisAccessGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.state != AnalysisAccessState.PENDING:
            raise InvalidState(f"This request was already {locked.state}.")
        locked.state = AnalysisAccessState.APPROVED if approve else AnalysisAccessState.REJECTED
        locked.decided_by = actor.person
        locked.decided_at = timezone.now()
        locked.expires_at = timezone.now() + timedelta(days=days) if approve else None
        locked.save(update_fields=["state", "decided_by", "decided_at", "expires_at"])
        audit_record(
            actor=actor,
            event=Event.ANALYSIS_ACCESS_DECIDED,
            target=locked,
            extra={"approved": approve, "days": days if approve else 0},
        )
    return locked
