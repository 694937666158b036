"""Recording uploads and serving downloads of encrypted artifacts, each audited."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from django.db import transaction
from django.db.models import QuerySet

from interlock.access import Action
from interlock.access.principal import Principal
from interlock.artifacts.models import Artifact, ArtifactState
from interlock.artifacts.parents import recorded_hook, resolve_parent
from interlock.artifacts.storage import artifact_storage
from interlock.artifacts.upload import EncryptedBlob
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import InvalidState
from interlock.crypto.keyring import KeyDestroyed
from interlock.crypto.keys import data_key_open
from interlock_wire import IntegrityError, artifact_object_id, decrypt_segments


class DownloadAborted(Exception):
    """Raised inside a streaming download: the server drops the connection without a final chunk."""


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


def artifact_list(*, principal: Principal, parent_type: str, parent_id: str) -> QuerySet[Artifact]:
    resolve_parent(principal, parent_type, parent_id, Action.VIEW)
    return Artifact.objects.filter(parent_type=parent_type, parent_id=parent_id).select_related("created_by")


def artifact_plaintext(
    artifact: Artifact,
    *,
    still_allowed: Callable[[], bool] = lambda: True,
    on_failure: Callable[[str], None] | None = None,
) -> Iterator[bytes]:
    """Authenticated plaintext chunks. Each chunk is released only after the *next* one verified,
    and the last one only after the whole-file SHA-256 and size match, so a tampered or
    truncated blob never yields a complete download. `still_allowed` is asked before every
    chunk: revocation stops a download in flight. A destroyed key is reported at once
    (InvalidState), before any response starts."""
    if artifact.state == ArtifactState.SHREDDED:
        raise InvalidState("This artifact's key was destroyed; its content is gone.")
    try:
        key = data_key_open(
            key_version=artifact.key_version,
            wrapped=bytes(artifact.wrapped_data_key),
            object_id=artifact_object_id(artifact_uuid=artifact.uuid),
        )
    except KeyDestroyed:
        raise InvalidState("This artifact's key was destroyed; its content is gone.") from None
    return _plaintext_chunks(artifact, key, still_allowed, on_failure)


def _plaintext_chunks(
    artifact: Artifact,
    key: bytes,
    still_allowed: Callable[[], bool],
    on_failure: Callable[[str], None] | None,
) -> Iterator[bytes]:
    digest = hashlib.sha256()
    size = 0
    pending: bytes | None = None
    try:
        with artifact_storage().open(artifact.storage_key, "rb") as blob:
            for chunk in decrypt_segments(blob, key, artifact.associated_data()):
                if not still_allowed():
                    raise DownloadAborted("access was revoked during the download")
                digest.update(chunk)
                size += len(chunk)
                if pending is not None:
                    yield pending
                pending = chunk
        if size != artifact.size or digest.hexdigest() != artifact.sha256:
            raise IntegrityError("the plaintext does not match its recorded size and SHA-256")
    except IntegrityError as failure:
        if on_failure is not None:
            on_failure(str(failure))
        raise DownloadAborted("the stored artifact failed authentication") from None
    if pending is not None:
        yield pending


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
