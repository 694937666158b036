"""Private checkpoints and the stewards' approvals that let analyses run on them.

An approval is bound to the checkpoint's pinned SHA-256: if the stored bytes ever differ from
what a steward approved, no approval applies. Approvals carry an access level (AL1–AL3)
that fixes which analysis kinds may run, an expiry, and can be revoked.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from interlock.artifacts.models import Artifact
from interlock.network.models import Organisation


class CheckpointState(models.TextChoices):
    AWAITING_UPLOAD = "awaiting_upload", "Awaiting upload"
    UPLOADED = "uploaded", "Uploaded"


class CheckpointLayout(models.TextChoices):
    FILE = "file", "One safetensors file"
    HF_FOLDER = "hf_folder", "A Hugging Face folder (config, weights, tokenizer)"


class Checkpoint(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="checkpoints")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    spec = models.JSONField()
    hazard_tier = models.PositiveSmallIntegerField(default=0)
    series = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=CheckpointState.choices, default=CheckpointState.AWAITING_UPLOAD
    )
    artifact = models.OneToOneField(
        Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # For one file: its plaintext SHA-256. For a folder: the manifest hash
    # (interlock_wire.manifest), set once every listed file arrived with its declared hash.
    sha256 = models.CharField(max_length=64, blank=True)
    layout = models.CharField(max_length=16, choices=CheckpointLayout.choices, default=CheckpointLayout.FILE)
    # A folder's files as declared at registration: [{"path", "sha256", "size"}], sorted by path.
    manifest = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["series", "position", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hazard_tier__lte=3), name="checkpoint_hazard_0_to_3")
        ]

    def __str__(self) -> str:
        return self.name


class CheckpointFile(models.Model):
    """One uploaded file of a folder checkpoint: its name in the folder and the encrypted artifact
    holding it (authorised through the checkpoint, like every checkpoint file)."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="files")
    path = models.CharField(max_length=128)
    artifact = models.OneToOneField(Artifact, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["checkpoint", "path"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "path"], name="checkpoint_file_path_unique")
        ]

    def __str__(self) -> str:
        return f"{self.path} of {self.checkpoint_id}"


class CheckpointApproval(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="approvals")
    steward = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    access_level = models.PositiveSmallIntegerField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(access_level__gte=1, access_level__lte=3), name="access_level_1_to_3"
            )
        ]

    def __str__(self) -> str:
        return f"AL{self.access_level} for {self.checkpoint_id}"

    def is_current(self, checkpoint: Checkpoint, *, now: object | None = None) -> bool:
        moment = now or timezone.now()
        return (
            self.revoked_at is None
            and self.expires_at > moment  # type: ignore[operator]
            and bool(checkpoint.sha256)
            and self.sha256 == checkpoint.sha256
        )


class AnalysisAccessState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Revoked"


class AnalysisAccessGrant(models.Model):
    """Someone from another organisation may request analyses on a checkpoint (never fetch its
    weights) once an admin of the owner organisation approved their request, until it expires."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="access_grants")
    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=1000)
    state = models.CharField(
        max_length=16, choices=AnalysisAccessState.choices, default=AnalysisAccessState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"analysis access to {self.checkpoint_id} for {self.grantee_id} ({self.state})"

    def is_current(self, *, now: object | None = None) -> bool:
        moment = now or timezone.now()
        return (
            self.state == AnalysisAccessState.APPROVED
            and self.expires_at is not None
            and self.expires_at > moment  # type: ignore[operator]
        )
