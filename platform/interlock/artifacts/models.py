"""Encrypted blobs. The row knows sizes, hashes and the wrapped data key; storage sees ciphertext."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from interlock.crypto.models import OrgKeyVersion
from interlock.network.models import Organisation
from interlock_wire import artifact_ad


class ArtifactState(models.TextChoices):
    READY = "ready", "Ready"
    SHREDDED = "shredded", "Key destroyed"


class Artifact(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="artifacts")
    # What the artifact belongs to: access is always decided through this parent.
    parent_type = models.CharField(max_length=32)
    parent_id = models.UUIDField()
    kind = models.CharField(max_length=32, default="attachment")
    filename = models.CharField(max_length=255)
    media_type = models.CharField(max_length=127, default="application/octet-stream")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    ciphertext_size = models.BigIntegerField()
    # A generated id, never derived from the filename (SECURITY.md: storage keys are generated ids).
    storage_key = models.CharField(max_length=128, unique=True)
    key_version = models.ForeignKey(OrgKeyVersion, on_delete=models.PROTECT, related_name="artifacts")
    wrapped_data_key = models.BinaryField()
    state = models.CharField(max_length=16, choices=ArtifactState.choices, default=ArtifactState.READY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["parent_type", "parent_id"]), models.Index(fields=["key_version"])]

    def __str__(self) -> str:
        return self.filename

    def associated_data(self) -> bytes:
        """Binds the ciphertext to this artifact: a blob moved to another row fails to decrypt."""
        return artifact_ad(
            artifact_uuid=self.uuid,
            owner_org_uuid=self.owner_org.uuid,
            kind=self.kind,
            parent_type=self.parent_type,
            parent_id=self.parent_id,
        )
