"""Recording uploads and serving downloads of encrypted artifacts, each audited."""

from __future__ import annotations

from django.db import transaction

from interlock.access.principal import Principal
from interlock.artifacts.models import Artifact
from interlock.artifacts.parents import recorded_hook
from interlock.artifacts.upload import EncryptedBlob
from interlock.audit.events import Event
from interlock.audit.services import audit_record


@transaction.atomic
def artifact_record(*, actor: Principal, blob: EncryptedBlob) -> Artifact:
    """Record an encrypted upload (its parent was checked before the body was read)."""
    artifact = Artifact.objects.create(
        uuid=blob.artifact_uuid,
        owner_org=blob.parent.owner_org,
        parent_type=blob.parent.parent_type,
        parent_id=blob.parent.parent_id,
        kind=blob.parent.kind,
        filename=blob.filename,
        media_type=blob.media_type,
        size=blob.size,
        sha256=blob.sha256,
        ciphertext_size=blob.ciphertext_size,
        storage_key=blob.storage_key,
        key_version=blob.key_version,
        wrapped_data_key=blob.wrapped_data_key,
        created_by=actor.person,
    )
    hook = recorded_hook(blob.parent.parent_type)
    if hook is not None:
        hook(artifact)
    audit_record(
        actor=actor,
        event=Event.ARTIFACT_UPLOADED,
        target=artifact,
        extra={
            "sha256": blob.sha256,
            "size": blob.size,
            "parent": f"{blob.parent.parent_type}:{blob.parent.parent_id}",
        },
    )
    return artifact


def artifact_download_begin(*, actor: Principal, artifact: Artifact) -> None:
    """Every download is audited, before the first byte leaves."""
    with transaction.atomic():
        audit_record(
            actor=actor, event=Event.ARTIFACT_DOWNLOADED, target=artifact, extra={"sha256": artifact.sha256}
        )


def artifact_integrity_failed(*, actor: Principal, artifact: Artifact, reason: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            event=Event.ARTIFACT_INTEGRITY_FAILED,
            target=artifact,
            extra={"reason": reason[:200]},
        )
