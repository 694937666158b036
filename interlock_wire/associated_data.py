"""The identity of every encrypted thing, built in one place: the associated data of each AEAD.

Authenticated encryption (AES-256-GCM, and the sealed boxes built on it) checks a second,
unencrypted input next to the ciphertext: the associated data. Decryption succeeds only if
the reader supplies the same bytes the writer did. We make those bytes name *where* a
ciphertext belongs (which organisation key version, which artifact and parent, which ticket,
which field of which row), so a ciphertext that is valid on its own still fails when it is
copied somewhere else: a finding's body pasted into another finding, a wrapped key moved to
another organisation, a data key sealed for one ticket replayed in another, a worker's result
submitted for a different job. The database row, the storage key or the broker message that
carries the ciphertext is then no longer trusted to say what it is.

That binding only holds if the writer and the reader build byte-for-byte the same string,
often in different processes (the platform seals a job's data key, the worker opens it; the
worker seals a result, the platform opens it). So each identity is built by exactly one
function here, and everything else calls it: a second, hand-written copy that drifts by one
character would make data unreadable, or, worse, let two different places share an identity.

These strings are part of the stored format: every ciphertext already written depends on
them, so they never change. A new format gets a new name (`.../v2|...`), never an edit; the
exact bytes are pinned in tests/interlock_wire/test_associated_data.py and listed in
docs/crypto.md.

Two shapes:
- `*_ad` functions return the associated data itself (bytes) for the key wraps, the artifact
  stream and the sealed boxes that cross the platform/worker boundary;
- `*_object_id` functions return the identity (str) of one sealed value or data key
  (`interlock.crypto.fields.seal_text`, `data_key_new`): it becomes both the GCM associated
  data of the sealed text and the `object_id` inside `data_key_ad`.

Arguments are keyword-only, so two ids of the same type can never be passed swapped.
"""

from __future__ import annotations

import re
from uuid import UUID

# A field name is the model field without its `_sealed` suffix; the pattern keeps a separator
# (`:` or `|`) out of it, so no two (row, field) pairs can spell the same identity.
_FIELD = re.compile(r"[a-z][a-z_]*")


def _field(field: str) -> str:
    if not _FIELD.fullmatch(field):
        raise ValueError(f"a sealed field name is lowercase letters and underscores, not {field!r}")
    return field


# Key hierarchy (interlock.crypto.keys)


def org_key_ad(*, org_uuid: UUID | str, version: int) -> bytes:
    """An organisation key version, wrapped by the key provider."""
    return f"interlock/org-key/v1|{org_uuid}|{version}".encode()


def data_key_ad(*, org_uuid: UUID | str, key_version: int, object_id: str) -> bytes:
    """One object's data key, wrapped under an organisation key version."""
    return f"interlock/data-key/v1|{org_uuid}|{key_version}|{object_id}".encode()


# Artifacts (interlock.artifacts)


def artifact_ad(
    *,
    artifact_uuid: UUID | str,
    owner_org_uuid: UUID | str,
    kind: str,
    parent_type: str,
    parent_id: UUID | str,
) -> bytes:
    """An artifact's encrypted stream, bound to its row, owner and parent."""
    return f"interlock/artifact/v1|{artifact_uuid}|{owner_org_uuid}|{kind}|{parent_type}:{parent_id}".encode()


def artifact_object_id(*, artifact_uuid: UUID | str) -> str:
    """The identity an artifact's data key is wrapped under (`data_key_ad`'s object id): its uuid.

    Key rotation re-wraps every row that keeps a `wrapped_data_key` beside a `key_version`
    (found from the models) under this identity, so such a row is always named by its uuid."""
    return f"{artifact_uuid}"


# Jobs across the platform/worker boundary (interlock.analyses, analysis_workers.jobs)


def job_blob_ad(*, ticket_id: str, location: str) -> bytes:
    """A blob's data key sealed to the worker fleet, for this ticket and this blob only."""
    return f"interlock/job/v1|{ticket_id}|{location}".encode()


def result_ad(*, ticket_id: str) -> bytes:
    """A worker's result sealed to the platform, for this ticket only."""
    return f"interlock/result/v1|{ticket_id}".encode()


# Sealed text fields (interlock.crypto.fields.seal_text / open_text)


def revision_field_object_id(*, revision_uuid: UUID | str, field: str) -> str:
    """A finding revision's sealed `title` or `body`."""
    return f"revision:{revision_uuid}:{_field(field)}"


def comment_object_id(*, comment_uuid: UUID | str) -> str:
    """A comment's sealed body."""
    return f"comment:{comment_uuid}"


def disclosure_field_object_id(*, case_uuid: UUID | str, field: str) -> str:
    """A disclosure case's sealed rationale, assessment or redacted title and body."""
    return f"disclosure:{case_uuid}:{_field(field)}"


def analysis_result_object_id(*, request_uuid: UUID | str) -> str:
    """An analysis request's sealed metrics."""
    return f"analysis-result:{request_uuid}"
