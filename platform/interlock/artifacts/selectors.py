"""Reads of artifacts: the list under a parent the principal may see, and a download's authenticated
plaintext (decryption is a read; the audit rows of a download are written by
`interlock.artifacts.services`). Reads never import writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from django.db.models import QuerySet

from interlock.access import Action
from interlock.access.principal import Principal
from interlock.artifacts.models import Artifact, ArtifactState
from interlock.artifacts.parents import resolve_parent
from interlock.artifacts.storage import artifact_storage
from interlock.core.errors import InvalidState
from interlock.crypto.keyring import KeyDestroyed
from interlock.crypto.keys import data_key_open
from interlock_wire import IntegrityError, artifact_object_id, decrypt_segments


class DownloadAborted(Exception):
    """Raised inside a streaming download: the server drops the connection without a final chunk."""


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
