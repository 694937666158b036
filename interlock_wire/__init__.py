"""Byte formats shared across the platform/worker trust boundary (no Django, no torch).

The platform (`interlock.crypto`, `interlock.analyses`) and the workers
(`analysis_workers.jobs`) both use these, so neither has to import the other. Layouts and
test vectors: docs/crypto.md; the associated data that names each ciphertext's place:
`interlock_wire.associated_data`.
"""

from interlock_wire.associated_data import (
    analysis_result_object_id,
    artifact_ad,
    artifact_object_id,
    comment_object_id,
    data_key_ad,
    disclosure_field_object_id,
    job_blob_ad,
    org_key_ad,
    result_ad,
    revision_field_object_id,
)
from interlock_wire.encoding import b64url_decode, b64url_encode
from interlock_wire.errors import IntegrityError
from interlock_wire.failures import error_class_of, is_error_class, public_message
from interlock_wire.keys import (
    ed25519_private_from_text,
    ed25519_public_from_text,
    key_bytes,
    key_id,
    key_text,
    x25519_private_from_text,
    x25519_public_from_text,
)
from interlock_wire.keywrap import new_data_key, unwrap_key, wrap_key
from interlock_wire.manifest import ManifestEntry, ManifestError, manifest_sha256, parse_manifest
from interlock_wire.request_signing import sign_request, verify_request
from interlock_wire.sealing import open_sealed, seal
from interlock_wire.stream import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    MAX_SEGMENT_SIZE,
    MIN_SEGMENT_SIZE,
    StreamEncryptor,
    StreamHeader,
    StreamInfo,
    decrypt_segments,
    decrypt_stream,
    encrypt_stream,
    read_header,
)
from interlock_wire.tickets import JobTicket, TicketBlob, TicketError, sign_ticket, verify_ticket

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "HEADER_SIZE",
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "IntegrityError",
    "JobTicket",
    "ManifestEntry",
    "ManifestError",
    "StreamEncryptor",
    "StreamHeader",
    "StreamInfo",
    "TicketBlob",
    "TicketError",
    "analysis_result_object_id",
    "artifact_ad",
    "artifact_object_id",
    "b64url_decode",
    "b64url_encode",
    "comment_object_id",
    "data_key_ad",
    "decrypt_segments",
    "decrypt_stream",
    "disclosure_field_object_id",
    "ed25519_private_from_text",
    "ed25519_public_from_text",
    "encrypt_stream",
    "error_class_of",
    "is_error_class",
    "job_blob_ad",
    "key_bytes",
    "key_id",
    "key_text",
    "manifest_sha256",
    "new_data_key",
    "open_sealed",
    "org_key_ad",
    "parse_manifest",
    "public_message",
    "read_header",
    "result_ad",
    "revision_field_object_id",
    "seal",
    "sign_request",
    "sign_ticket",
    "unwrap_key",
    "verify_request",
    "verify_ticket",
    "wrap_key",
    "x25519_private_from_text",
    "x25519_public_from_text",
]
