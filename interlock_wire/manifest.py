"""The manifest of a checkpoint kept as a Hugging Face folder, and the one hash that pins it.

A Hugging Face checkpoint is several files (config, weights as one file or shards with their
index, tokenizer files). The steward approves one hash, so the platform, the worker and the
tests must compute the same hash from the same list: SHA-256 over a canonical JSON text of
the entries sorted by path, each `{"path", "sha256", "size"}`, prefixed by a domain label so
the hash of a manifest can never equal the hash of a single file's bytes.

Only plain file names from an allowlist are accepted: weights as safetensors (never pickles:
`pytorch_model.bin`, `*.pt`, `*.pkl`, `*.ckpt` are refused with a reason) and no code
(`*.py`: remote code never runs here). No folder parts, so a name can never escape the
worker's scratch directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MANIFEST_DOMAIN = b"interlock checkpoint manifest v1\x00"
MAX_FILES = 512
CONFIG_FILE = "config.json"
SINGLE_WEIGHTS_FILE = "model.safetensors"
SHARD_INDEX_FILE = "model.safetensors.index.json"
SHARD_FILE = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")
AUXILIARY_FILES = frozenset(
    {
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.json",
        "merges.txt",
        "added_tokens.json",
    }
)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")


class ManifestError(ValueError):
    """The file list cannot be a checkpoint folder; the message says which entry and why."""


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the folder: its plain name, the SHA-256 of its bytes and their number."""

    path: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


def refusal_for_name(path: str) -> str | None:
    """Why `path` may not be part of a checkpoint folder, or None when it may."""
    if "/" in path or "\\" in path or path in ("", ".", "..") or "\x00" in path:
        return "a plain file name, without folders"
    if path.endswith(_PICKLE_SUFFIXES):
        return "pickled weights are never loaded here: convert them to safetensors (save_pretrained)"
    if path.endswith(".py"):
        return "code files are refused: Interlock never runs a model's remote code"
    if path in (CONFIG_FILE, SINGLE_WEIGHTS_FILE, SHARD_INDEX_FILE) or path in AUXILIARY_FILES:
        return None
    if SHARD_FILE.fullmatch(path):
        return None
    return (
        "not a file of a Hugging Face checkpoint folder (config.json, model.safetensors or "
        "model-XXXXX-of-YYYYY.safetensors shards with model.safetensors.index.json, tokenizer files)"
    )


def parse_manifest(raw: object, *, max_file_bytes: int | None = None) -> tuple[ManifestEntry, ...]:
    """The entries of a manifest given as JSON (a list of {path, sha256, size}), sorted by path.

    Checks each entry, the names, and that the folder is complete: a config and weights, either
    one file or an index with at least one shard (the worker checks the index's contents).
    """
    if not isinstance(raw, list) or not raw:
        raise ManifestError("files: a non-empty list of {path, sha256, size}")
    if len(raw) > MAX_FILES:
        raise ManifestError(f"files: at most {MAX_FILES} files")
    entries: dict[str, ManifestEntry] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != {"path", "sha256", "size"}:
            raise ManifestError(f"files[{index}]: exactly path, sha256 and size")
        path, sha256, size = item["path"], item["sha256"], item["size"]
        if not isinstance(path, str) or len(path) > 128:
            raise ManifestError(f"files[{index}].path: a file name of at most 128 characters")
        reason = refusal_for_name(path)
        if reason is not None:
            raise ManifestError(f"{path[:64]!a}: {reason}")
        if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
            raise ManifestError(f"{path}: sha256 must be 64 lowercase hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"{path}: size must be a non-negative number of bytes")
        if max_file_bytes is not None and size > max_file_bytes:
            raise ManifestError(f"{path}: {size:,} bytes is over the limit of {max_file_bytes:,}")
        if path in entries:
            raise ManifestError(f"{path}: listed twice")
        entries[path] = ManifestEntry(path, sha256, size)
    names = set(entries)
    if CONFIG_FILE not in names:
        raise ManifestError("config.json is missing")
    shards = {name for name in names if SHARD_FILE.fullmatch(name)}
    if SINGLE_WEIGHTS_FILE in names and (shards or SHARD_INDEX_FILE in names):
        raise ManifestError("weights as model.safetensors or as shards with their index, not both")
    if SINGLE_WEIGHTS_FILE not in names and not (shards and SHARD_INDEX_FILE in names):
        raise ManifestError(
            "no weights: model.safetensors, or model-XXXXX-of-YYYYY.safetensors shards "
            "with model.safetensors.index.json"
        )
    return tuple(entries[name] for name in sorted(entries))


def manifest_sha256(entries: Iterable[ManifestEntry]) -> str:
    """The hash a steward's approval binds: SHA-256 of the domain label and the canonical JSON."""
    ordered = sorted(entries, key=lambda entry: entry.path)
    canonical = json.dumps(
        [entry.as_json() for entry in ordered], sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(MANIFEST_DOMAIN + canonical.encode("ascii")).hexdigest()
