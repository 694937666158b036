"""Validate a safetensors file *before any tensor exists*.

Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor
names to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional
"__metadata__" of string pairs), then the data section, offsets relative to its start.

Every claim is checked against the bytes we actually hold, because the file comes from
an uploader and whatever parses it next trusts these facts: header size cap (a header
claiming terabytes must not make us allocate), a JSON object without duplicate keys at
any depth (two parsers could pick different duplicates), a dtype allowlist, shapes of
non-negative integers, offsets that match numel × itemsize and tile the data section
exactly (no overlap, no gap, no trailing bytes, nothing out of bounds), and names that
are plain dotted identifiers (no `../`, no NUL, no path of any kind). Pickles and zip
files (`torch.save`) fail at the first check with a message saying what they are.
Every failure is a `CheckpointError` with one readable line; offending names appear
escaped and truncated.
"""

from __future__ import annotations

import json
import math
import mmap
import re
import struct
from dataclasses import dataclass

from analysis_workers.specs import CheckpointError

MAX_HEADER_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 256
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}
_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}

ExpectedTensors = dict[str, tuple[tuple[int, ...], str]]


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the header describes it; `begin`/`end` are byte offsets into the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


Data = bytes | mmap.mmap  # a whole file, in memory or memory-mapped


def header_length(data: Data) -> int:
    """N from the 8-byte prefix (call only on data `validate_safetensors_header` accepted)."""
    (length,) = struct.unpack("<Q", data[:8])
    return int(length)


def validate_safetensors_header(data: Data, expected: ExpectedTensors | None = None) -> list[TensorEntry]:
    """The tensor entries if `data` is a well-formed safetensors file (matching `expected` if given).

    `expected` maps name → (shape, safetensors dtype name), as `zoo.expected_tensors` gives.
    Pure: reads `data`, allocates nothing proportional to what the header claims (a memory
    map is read only where the header is).
    """
    header = _parse_header(data)
    data_size = len(data) - 8 - header_length(data)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        _is_clean_string(key) and _is_clean_string(value) for key, value in metadata.items()
    ):
        raise CheckpointError("__metadata__ must map strings to strings")
    entries = [_entry(name, info, data_size) for name, info in header.items()]
    _check_tiling(entries, data_size)
    if expected is not None:
        _check_against_spec(entries, expected)
    return entries


def _parse_header(data: Data) -> dict[str, object]:
    if len(data) < 8:
        raise CheckpointError("not a safetensors file: shorter than the 8-byte header length")
    length = header_length(data)
    # A zip or pickle is named only once the bytes fail as safetensors: a valid header length can
    # begin with the same byte as a pickle (0x80: a header of 128 + 256k bytes) or spell "PK".
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        _refuse_known_formats(data)
    if length > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"header too large: it claims {length:,} bytes, the limit is {MAX_HEADER_BYTES:,}"
        )
    if 8 + length > len(data):
        raise CheckpointError(f"the header claims {length:,} bytes, more than the file has")
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except CheckpointError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers too long to convert.
        _refuse_known_formats(data)
        raise CheckpointError("the header is not valid UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError("the header must be a JSON object")
    return header


def _refuse_known_formats(data: Data) -> None:
    """Name the format of a file that is not safetensors, if it is a zip or a pickle."""
    if data[:2] == b"PK":
        raise CheckpointError("not a safetensors file: a zip archive (torch.save format); convert it")
    if data[:1] == b"\x80":
        raise CheckpointError("not a safetensors file: a pickle; pickles are never loaded")


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise CheckpointError(f"the header has the key {_describe(key)} twice")
        seen[key] = value
    return seen


def _entry(name: str, info: object, data_size: int) -> TensorEntry:
    if len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise CheckpointError(f"tensor name {_describe(name)} is not a plain dotted identifier")
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        raise CheckpointError(f"tensor {_describe(name)} needs exactly dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise CheckpointError(
            f"tensor {_describe(name)} has dtype {_describe(dtype)}; allowed: {', '.join(DTYPE_SIZES)}"
        )
    if not isinstance(shape, list) or not all(_is_natural(size) for size in shape):
        raise CheckpointError(f"tensor {_describe(name)} has a malformed shape (a list of integers ≥ 0)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_natural(o) for o in offsets):
        raise CheckpointError(f"tensor {_describe(name)} has malformed data_offsets ([begin, end])")
    begin, end = offsets
    if not begin <= end <= data_size:
        raise CheckpointError(f"tensor {_describe(name)} points outside the file's data section")
    if end - begin != math.prod(shape) * DTYPE_SIZES[dtype]:
        raise CheckpointError(f"tensor {_describe(name)}: its byte range does not match its shape and dtype")
    return TensorEntry(name, dtype, tuple(shape), begin, end)


def _check_tiling(entries: list[TensorEntry], data_size: int) -> None:
    position = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin != position:
            problem = "overlaps another tensor" if entry.begin < position else "leaves a gap before it"
            raise CheckpointError(f"tensor {_describe(entry.name)} {problem}")
        position = entry.end
    if position != data_size:
        raise CheckpointError("the data section has trailing bytes that belong to no tensor")


def _check_against_spec(entries: list[TensorEntry], expected: ExpectedTensors) -> None:
    names = {entry.name for entry in entries}
    missing = sorted(set(expected) - names)
    extra = sorted(names - set(expected))
    if missing:
        shown = ", ".join(map(_describe, missing[:5]))
        raise CheckpointError(f"the checkpoint lacks tensors the architecture needs: {shown}")
    if extra:
        shown = ", ".join(map(_describe, extra[:5]))
        raise CheckpointError(f"the checkpoint has tensors the architecture does not: {shown}")
    for entry in entries:
        shape, dtype = expected[entry.name]
        if entry.shape != shape:
            raise CheckpointError(
                f"tensor {_describe(entry.name)} has shape {list(entry.shape)}; the architecture needs {list(shape)}"
            )
        if entry.dtype != dtype:
            raise CheckpointError(
                f"tensor {_describe(entry.name)} has dtype {entry.dtype}; the architecture needs {dtype}"
            )


def _is_natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_clean_string(value: object) -> bool:
    """A str that is valid Unicode (JSON escapes can smuggle lone surrogates past UTF-8 decoding)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(value: object) -> str:
    """An escaped, truncated rendering of an untrusted value, safe for one log line."""
    text = value if isinstance(value, str) else json.dumps(value)[:80]
    shown = ascii(text[:60])
    return shown + "…" if len(text) > 60 else shown
