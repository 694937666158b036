"""Receiving uploads: plaintext is encrypted chunk by chunk as it arrives and never touches disk.

Django's default handlers keep small uploads in memory and write large ones to a plaintext
temporary file; `EncryptingUploadHandler` replaces both for our upload views. The same
`EncryptingWriter` serves raw-body (`application/octet-stream`) uploads from the API client.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload

from interlock.artifacts.parents import ArtifactParent
from interlock.artifacts.storage import artifact_storage, new_storage_key, open_for_write
from interlock.crypto.keys import data_key_new
from interlock.crypto.models import OrgKeyVersion
from interlock_wire import StreamEncryptor, artifact_ad, artifact_object_id


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True)
class EncryptedBlob:
    """What an upload left in storage: ciphertext plus everything needed to record the artifact."""

    artifact_uuid: uuid.UUID
    parent: ArtifactParent
    filename: str
    media_type: str
    storage_key: str
    key_version: OrgKeyVersion
    wrapped_data_key: bytes
    size: int
    sha256: str
    ciphertext_size: int


def clean_filename(name: str) -> str:
    """Display name only (storage keys are random): no path parts, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "upload.bin"


class EncryptingWriter:
    """Encrypts a byte stream straight into artifact storage, in constant memory."""

    def __init__(
        self, *, parent: ArtifactParent, filename: str, media_type: str, max_bytes: int | None = None
    ) -> None:
        self.parent = parent
        self.filename = clean_filename(filename)
        self.media_type = (media_type or "application/octet-stream")[:127]
        self.max_bytes = max_bytes if max_bytes is not None else settings.ARTIFACT_MAX_BYTES
        self.artifact_uuid = uuid.uuid4()
        self.storage_key = new_storage_key()
        self._data_key = data_key_new(
            org=parent.owner_org, object_id=artifact_object_id(artifact_uuid=self.artifact_uuid)
        )
        self._storage = artifact_storage()
        self._file: Any = open_for_write(self.storage_key)
        # the same bytes as Artifact.associated_data() of the row recorded later
        ad = artifact_ad(
            artifact_uuid=self.artifact_uuid,
            owner_org_uuid=parent.owner_org.uuid,
            kind=parent.kind,
            parent_type=parent.parent_type,
            parent_id=parent.parent_id,
        )
        self._encryptor = StreamEncryptor(
            self._file, self._data_key.key, ad, key_version_id=self._data_key.key_version.version
        )
        self._received = 0
        self._closed = False

    def write(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.max_bytes:
            self.abort()
            raise UploadTooLarge(f"uploads are limited to {self.max_bytes} bytes")
        self._encryptor.write(chunk)

    def finish(self) -> EncryptedBlob:
        info = self._encryptor.finish()
        self._file.close()
        self._closed = True
        return EncryptedBlob(
            artifact_uuid=self.artifact_uuid,
            parent=self.parent,
            filename=self.filename,
            media_type=self.media_type,
            storage_key=self.storage_key,
            key_version=self._data_key.key_version,
            wrapped_data_key=self._data_key.wrapped,
            size=info.plaintext_size,
            sha256=info.plaintext_sha256,
            ciphertext_size=info.ciphertext_size,
        )

    def abort(self) -> None:
        """Drop the partial ciphertext: nothing half-written is ever recorded or served."""
        if not self._closed:
            self._closed = True
            try:
                # on a full disk the final flush fails too; the partial file goes either way
                with contextlib.suppress(OSError):
                    self._file.close()
            finally:
                self._storage.delete(self.storage_key)


class EncryptedUploadedFile(UploadedFile):
    """Stands in `request.FILES` for an upload that is already encrypted in storage."""

    def __init__(self, blob: EncryptedBlob) -> None:
        super().__init__(io.BytesIO(), name=blob.filename, content_type=blob.media_type, size=blob.size)
        self.blob = blob


class RefuseUploadHandler(FileUploadHandler):
    """The global default: a file reaching a view that did not install our handler is refused,
    so no code path can fall back to Django's plaintext temporary files."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None


class EncryptingUploadHandler(FileUploadHandler):
    """Accepts exactly one file per request and encrypts it as the chunks arrive."""

    chunk_size = 1024 * 1024

    def __init__(self, request: Any, *, parent: ArtifactParent) -> None:
        super().__init__(request)
        self.parent = parent
        self.writer: EncryptingWriter | None = None

    def new_file(self, field_name: str, file_name: str, content_type: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        if self.writer is not None:
            self.writer.abort()
            raise StopUpload(connection_reset=True)
        self.writer = EncryptingWriter(parent=self.parent, filename=file_name, media_type=content_type)
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.writer is None:  # Django calls new_file first; a chunk before it is a broken upload
            raise StopUpload(connection_reset=True)
        try:
            self.writer.write(raw_data)
        except UploadTooLarge:
            raise StopUpload(connection_reset=True) from None
        except OSError:
            # a full disk: Django's parser calls no handler on other errors, so drop the partial
            # ciphertext here before the error reaches the view (which answers 507)
            self.writer.abort()
            raise

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.writer is None:
            return None
        try:
            return EncryptedUploadedFile(self.writer.finish())
        except OSError:
            self.writer.abort()
            raise

    def upload_interrupted(self) -> None:
        if self.writer is not None:
            self.writer.abort()
