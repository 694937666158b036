"""HTTP plumbing shared by the web pages and the API: receive an upload, stream a download."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header

from interlock.access import Action
from interlock.access.principal import Principal
from interlock.artifacts.models import Artifact
from interlock.artifacts.parents import ArtifactParent, resolve_parent
from interlock.artifacts.selectors import artifact_plaintext
from interlock.artifacts.services import artifact_download_begin, artifact_integrity_failed, artifact_record
from interlock.artifacts.storage import artifact_storage
from interlock.artifacts.upload import (
    EncryptedBlob,
    EncryptedUploadedFile,
    EncryptingUploadHandler,
    EncryptingWriter,
    UploadTooLarge,
)
from interlock.core.errors import ApplicationError

REVOCATION_RECHECK_SECONDS = 1.0


class UploadFailed(ApplicationError):
    code = "upload_failed"
    status = 400


class StorageFull(ApplicationError):
    code = "insufficient_storage"
    status = 507


def receive_multipart(
    request: HttpRequest, *, actor: Principal, parent: ArtifactParent, field: str = "file"
) -> Artifact:
    """Install the encrypting handler, then parse: the file is ciphertext before the view sees it."""
    if not any(isinstance(handler, EncryptingUploadHandler) for handler in request.upload_handlers):
        request.upload_handlers = [EncryptingUploadHandler(request, parent=parent)]
    try:
        upload = request.FILES.get(field)
    except OSError:
        raise StorageFull("The server ran out of storage space; nothing was kept.") from None
    if not isinstance(upload, EncryptedUploadedFile):
        raise UploadFailed(
            f"Send exactly one file in the form field '{field}' (limit {settings.ARTIFACT_MAX_BYTES} bytes)."
        )
    return _record_or_discard(actor=actor, blob=upload.blob)


def receive_raw(
    stream: Any,
    *,
    actor: Principal,
    parent: ArtifactParent,
    filename: str,
    media_type: str,
    length: int | None,
) -> Artifact:
    """A raw `application/octet-stream` body, read and encrypted one MiB at a time."""
    if length is not None and length > settings.ARTIFACT_MAX_BYTES:
        raise UploadFailed(f"Uploads are limited to {settings.ARTIFACT_MAX_BYTES} bytes.")
    writer = EncryptingWriter(parent=parent, filename=filename, media_type=media_type)
    received = 0
    try:
        while True:
            chunk = stream.read(1024 * 1024)
            if not chunk:
                break
            received += len(chunk)
            writer.write(chunk)
        if length is not None and received != length:
            raise UploadFailed("The body ended before Content-Length bytes arrived; nothing was kept.")
        blob = writer.finish()
    except UploadTooLarge as failure:
        raise UploadFailed(str(failure)) from None
    except OSError:
        writer.abort()
        raise StorageFull("The server ran out of storage space; nothing was kept.") from None
    except BaseException:
        writer.abort()
        raise
    return _record_or_discard(actor=actor, blob=blob)


def _record_or_discard(*, actor: Principal, blob: EncryptedBlob) -> Artifact:
    """Record the blob; if recording is refused (e.g. a checkpoint file that is not in its
    manifest), the ciphertext already in storage is deleted: nothing unrecorded stays behind."""
    try:
        return artifact_record(actor=actor, blob=blob)
    except BaseException:
        artifact_storage().delete(blob.storage_key)
        raise


def download_response(*, actor: Principal, artifact: Artifact) -> StreamingHttpResponse:
    """A streamed, audited download that re-checks access as it goes and aborts on tampering."""
    last_check = [time.monotonic()]

    def still_allowed() -> bool:
        now = time.monotonic()
        if now - last_check[0] < REVOCATION_RECHECK_SECONDS:
            return True
        last_check[0] = now
        try:
            actor.person.refresh_from_db()
            if actor.person.organisation is not None:
                actor.person.organisation.refresh_from_db()
            resolve_parent(actor, artifact.parent_type, str(artifact.parent_id), Action.DOWNLOAD)
        except Exception:
            return False
        return True

    def on_failure(reason: str) -> None:
        artifact_integrity_failed(actor=actor, artifact=artifact, reason=reason)

    chunks = artifact_plaintext(artifact, still_allowed=still_allowed, on_failure=on_failure)
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    artifact_download_begin(actor=actor, artifact=artifact)
    response["Content-Length"] = str(artifact.size)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=artifact.filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Artifact-SHA256"] = artifact.sha256
    return response
