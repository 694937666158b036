"""The manifest hash that pins a Hugging Face folder checkpoint: one definition for the platform, the
worker and the tests, independent of the order files are listed in, domain-separated from a
file's own hash, and changed by any change to any entry."""

from __future__ import annotations

import hashlib

import pytest

from interlock_wire import ManifestEntry, ManifestError, manifest_sha256, parse_manifest

A = ManifestEntry("config.json", "a" * 64, 10)
B = ManifestEntry("model.safetensors", "b" * 64, 20)


def test_the_hash_is_pinned_and_independent_of_listing_order() -> None:
    # the canonical text is the sorted entries as compact JSON after a domain label
    canonical = (
        b'interlock checkpoint manifest v1\x00[{"path":"config.json","sha256":"'
        + b"a" * 64
        + b'","size":10},'
        b'{"path":"model.safetensors","sha256":"' + b"b" * 64 + b'","size":20}]'
    )
    assert manifest_sha256([A, B]) == hashlib.sha256(canonical).hexdigest()
    assert manifest_sha256([B, A]) == manifest_sha256([A, B])


@pytest.mark.parametrize(
    "changed",
    [
        ManifestEntry("config.json", "c" * 64, 10),
        ManifestEntry("config.json", "a" * 64, 11),
        ManifestEntry("tokenizer.json", "a" * 64, 10),
    ],
)
def test_any_change_to_an_entry_changes_the_hash(changed: ManifestEntry) -> None:
    assert manifest_sha256([changed, B]) != manifest_sha256([A, B])


def test_a_one_file_manifest_never_hashes_like_the_file_itself() -> None:
    data = b"x"
    entry = ManifestEntry("model.safetensors", hashlib.sha256(data).hexdigest(), 1)
    assert manifest_sha256([entry]) != entry.sha256


def test_parse_sorts_and_refuses_duplicates_and_malformed_entries() -> None:
    raw = [B.as_json(), A.as_json()]
    assert parse_manifest(raw) == (A, B)
    with pytest.raises(ManifestError, match="listed twice"):
        parse_manifest([A.as_json(), A.as_json(), B.as_json()])
    with pytest.raises(ManifestError, match="sha256"):
        parse_manifest([{**A.as_json(), "sha256": "A" * 64}, B.as_json()])
    with pytest.raises(ManifestError, match="exactly path, sha256 and size"):
        parse_manifest([{**A.as_json(), "extra": 1}, B.as_json()])
    with pytest.raises(ManifestError, match="over the limit"):
        parse_manifest([A.as_json(), B.as_json()], max_file_bytes=15)
