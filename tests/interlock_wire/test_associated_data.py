"""Each ciphertext's identity is built in one place and never changes.

Every value already encrypted was bound to these exact bytes, so the first tests pin them
literally (a changed character would make stored data unreadable); the last one scans the
code outside `interlock_wire` for a hand-written copy of any identity's prefix.
"""

from __future__ import annotations

import ast
from pathlib import Path
from uuid import UUID

import pytest

from interlock_wire import (
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

ROOT = Path(__file__).resolve().parents[2]
ORG = UUID("0b8f6a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b")
OBJECT = UUID("f1e2d3c4-b5a6-4978-8685-746352413021")
PARENT = UUID("12345678-9abc-4def-8123-456789abcdef")
TICKET = "5d6c7b8a-9e0f-4a1b-8c2d-3e4f5a6b7c8d"


def test_key_wraps_name_the_organisation_and_version() -> None:
    assert (
        org_key_ad(org_uuid=ORG, version=3) == b"interlock/org-key/v1|0b8f6a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b|3"
    )
    assert (
        data_key_ad(org_uuid=ORG, key_version=2, object_id="revision:x:body")
        == b"interlock/data-key/v1|0b8f6a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b|2|revision:x:body"
    )


def test_an_artifact_stream_names_the_artifact_its_owner_and_its_parent() -> None:
    assert artifact_ad(
        artifact_uuid=OBJECT,
        owner_org_uuid=ORG,
        kind="checkpoint",
        parent_type="checkpoint",
        parent_id=PARENT,
    ) == (
        b"interlock/artifact/v1|f1e2d3c4-b5a6-4978-8685-746352413021|0b8f6a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
        b"|checkpoint|checkpoint:12345678-9abc-4def-8123-456789abcdef"
    )
    assert artifact_object_id(artifact_uuid=OBJECT) == "f1e2d3c4-b5a6-4978-8685-746352413021"


def test_the_upload_and_the_stored_row_spell_the_same_artifact_identity() -> None:
    """The upload names its parent by a string id; the row reads back a UUID: the same bytes."""
    common = {"artifact_uuid": OBJECT, "owner_org_uuid": ORG, "kind": "attachment", "parent_type": "finding"}
    assert artifact_ad(**common, parent_id=PARENT) == artifact_ad(**common, parent_id=str(PARENT))


def test_jobs_name_their_ticket_and_blob() -> None:
    assert (
        job_blob_ad(ticket_id=TICKET, location=str(OBJECT))
        == b"interlock/job/v1|5d6c7b8a-9e0f-4a1b-8c2d-3e4f5a6b7c8d|f1e2d3c4-b5a6-4978-8685-746352413021"
    )
    assert result_ad(ticket_id=TICKET) == b"interlock/result/v1|5d6c7b8a-9e0f-4a1b-8c2d-3e4f5a6b7c8d"


def test_sealed_text_fields_name_their_row_and_field() -> None:
    assert (
        revision_field_object_id(revision_uuid=OBJECT, field="title")
        == "revision:f1e2d3c4-b5a6-4978-8685-746352413021:title"
    )
    assert (
        revision_field_object_id(revision_uuid=OBJECT, field="body")
        == "revision:f1e2d3c4-b5a6-4978-8685-746352413021:body"
    )
    assert comment_object_id(comment_uuid=OBJECT) == "comment:f1e2d3c4-b5a6-4978-8685-746352413021"
    assert (
        disclosure_field_object_id(case_uuid=OBJECT, field="redacted_body")
        == "disclosure:f1e2d3c4-b5a6-4978-8685-746352413021:redacted_body"
    )
    assert (
        analysis_result_object_id(request_uuid=OBJECT)
        == "analysis-result:f1e2d3c4-b5a6-4978-8685-746352413021"
    )


@pytest.mark.parametrize("field", ["", "Body", "body:x", "body|x", "title_sealed:1", " body"])
def test_a_field_name_cannot_smuggle_a_separator(field: str) -> None:
    with pytest.raises(ValueError, match="sealed field name"):
        revision_field_object_id(revision_uuid=OBJECT, field=field)
    with pytest.raises(ValueError, match="sealed field name"):
        disclosure_field_object_id(case_uuid=OBJECT, field=field)


# What an identity starts with; a string literal (or an f-string's leading text) outside
# interlock_wire that begins with one of these is a second copy of the format.
PREFIXES = (
    "interlock/org-key/",
    "interlock/data-key/",
    "interlock/artifact/",
    "interlock/job/",
    "interlock/result/",
    "revision:",
    "comment:",
    "disclosure:",
    "analysis-result:",
)
SCANNED = ("platform", "analysis_workers", "bench", "clients")


def _leading_texts(tree: ast.AST) -> list[tuple[int, str]]:
    """Every plain string and the literal start of every f-string, with its line."""
    texts: list[tuple[int, str]] = []
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstrings.update(id(part) for part in node.values)
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                texts.append((node.lineno, first.value))
    for node in ast.walk(tree):
        if id(node) in inside_fstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            value = node.value.decode(errors="replace") if isinstance(node.value, bytes) else node.value
            texts.append((node.lineno, value))
    return texts


def _copies(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}"
        for line, text in _leading_texts(tree)
        if text.startswith(PREFIXES)
    ]


def test_the_scan_sees_a_hand_written_identity() -> None:
    """The scan itself works: each way of spelling an identity by hand is caught."""
    source = (
        'a = f"revision:{uuid}:title"\n'
        'b = f"interlock/job/v1|{ticket}|{blob}".encode()\n'
        'c = "analysis-result:" + str(uuid)\n'
        'd = b"interlock/result/v1|" + ticket\n'
        'e = f"{x}revision:"  # not an identity: it does not start with the prefix\n'
    )
    found = [text for _, text in _leading_texts(ast.parse(source)) if text.startswith(PREFIXES)]
    assert sorted(found) == ["analysis-result:", "interlock/job/v1|", "interlock/result/v1|", "revision:"]


def test_no_identity_is_spelled_by_hand_outside_interlock_wire() -> None:
    files = [path for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 100  # the scan really ran over the code
    copies = [copy for path in files for copy in _copies(path)]
    assert copies == [], "build these with a function from interlock_wire.associated_data:\n" + "\n".join(
        copies
    )
