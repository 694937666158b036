"""An organisation's own dataset, uploaded as a file: its two formats, their params, and the facts
the platform reads from the file when it arrives — torch-free, so the web tier imports it.

- `token_ids`: a safetensors file holding `input_ids` (N, T) and optionally `attention_mask`
  (N, T), integers (I64, I32 or U16). A mask is 1 on real tokens and 0 on padding, padding on
  the right only (the models are causal and take no mask, so a real token never sees a pad
  token), and every row has at least two real tokens (one next-token target).
- `jsonl_text`: UTF-8 lines, each a JSON object with a non-empty string `"text"`, tokenised on
  the worker with the checkpoint's own `tokenizer.json` and truncated or padded to `seq_len`.

The platform inspects the plaintext as it is read back from storage once, in the upload's
transaction (`inspect_token_ids`, `inspect_jsonl_text`): a malformed file is refused with one
readable line and nothing of it is kept, and the facts it pins (rows, T, the largest token id)
let an analysis request be checked against the model before it is queued (`check_fit`). The
worker validates everything again before any tensor exists
(`analysis_workers.datasets.uploaded_build`); it trusts nothing the platform computed.

An upload is next-token prediction — inputs `tokens[:, :-1]`, targets `tokens[:, 1:]`, a mask of
the positions that count — the shape of the built-in `induction_sequences`: an analysis kind
takes an upload wherever it takes that dataset (`KIND_STAND_IN`).
"""

from __future__ import annotations

import array
import json
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from analysis_workers.kinds import token_limits
from analysis_workers.params import check_schema, validate_params

UPLOADED = "uploaded"
TOKEN_IDS = "token_ids"  # noqa: S105 - a file format, not a secret
JSONL_TEXT = "jsonl_text"
FORMATS = (TOKEN_IDS, JSONL_TEXT)
KIND_STAND_IN = "induction_sequences"
# the target at a padding position: cross-entropy's ignore_index, so padding counts for nothing
IGNORE_INDEX = -100

# safetensors dtype → (bytes per element, array typecode); little-endian on disk
TOKEN_DTYPES: dict[str, tuple[int, str]] = {"I64": (8, "q"), "I32": (4, "i"), "U16": (2, "H")}
TENSOR_NAMES = ("input_ids", "attention_mask")
MAX_HEADER_BYTES = 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_ROWS = 10_000_000
MAX_SEQ_LEN = 65_536

_MAX_ROWS_PARAM = {
    "type": "integer",
    "minimum": 1,
    "maximum": 1_000_000,
    "default": 100_000,
    "description": "use the first rows of the file only (bounds the worker's memory and time)",
}
PARAMS_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    TOKEN_IDS: {"max_rows": _MAX_ROWS_PARAM},
    JSONL_TEXT: {
        "max_rows": _MAX_ROWS_PARAM,
        "seq_len": {
            "type": "integer",
            "minimum": 2,
            "maximum": MAX_SEQ_LEN,
            "default": 64,
            "description": "tokens per row after truncation or right padding (at most the model's context)",
        },
    },
}
for _schema in PARAMS_SCHEMAS.values():
    check_schema(_schema)


class DatasetFileError(ValueError):
    """The uploaded file is not a dataset of its declared format (one readable line)."""


@dataclass(frozen=True)
class DatasetFacts:
    """What the platform pins from the file: rows (N); for token ids also T, the largest id and
    whether a mask came with it."""

    rows: int
    seq_len: int | None = None
    max_token_id: int | None = None
    attention_mask: bool = False


def validate_dataset_params(file_format: str, params: object) -> dict[str, Any]:
    """The params of a use of an upload, defaults filled; ValueError naming the field otherwise."""
    if file_format not in PARAMS_SCHEMAS:
        raise ValueError(f"unknown dataset format {ascii(file_format)[:40]}; one of {', '.join(FORMATS)}")
    return validate_params(PARAMS_SCHEMAS[file_format], params if params is not None else {})


# --- the model's limits -----------------------------------------------------------------------


def model_limits(spec: object) -> tuple[int, int]:
    """(vocabulary size, context length) of a token model's validated spec (`kinds.token_limits`:
    the one reader of a model's vocabulary and context); ValueError for a model that reads no tokens."""
    limits = token_limits(spec)
    if limits is None:
        family = spec.get("family") if isinstance(spec, dict) else None
        raise ValueError(
            f"a {ascii(family)[:40]} checkpoint reads no tokens: an uploaded dataset is token ids"
        )
    return limits


def check_fit(
    file_format: str, facts: DatasetFacts, params: dict[str, Any], *, vocab_size: int, context: int
) -> None:
    """ValueError unless the upload fits the model: every token id below the vocabulary size and
    rows no longer than the context (token ids: the file's T; text: `seq_len`)."""
    if file_format == TOKEN_IDS:
        if facts.max_token_id is not None and facts.max_token_id >= vocab_size:
            raise ValueError(
                f"the dataset has token id {facts.max_token_id}; the model's vocabulary has {vocab_size} ids"
            )
        if facts.seq_len is not None and facts.seq_len > context:
            raise ValueError(
                f"the dataset's rows have {facts.seq_len} tokens; the model's context is {context}"
            )
        return
    if int(params["seq_len"]) > context:
        raise ValueError(f"seq_len {params['seq_len']} exceeds the model's context of {context}")


# --- token ids: a safetensors file, read as a stream ----------------------------------------


class _Stream:
    """Exact reads from an iterator of byte chunks (the plaintext as it is decrypted)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def at_end(self) -> bool:
        return not self.read(1)


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: str
    rows: int
    seq_len: int
    begin: int
    end: int


def inspect_token_ids(chunks: Iterable[bytes]) -> DatasetFacts:
    """The facts of a token-id file, read once front to back in constant memory; DatasetFileError
    with the reason unless it is exactly `input_ids` (N, T) and optionally `attention_mask` (N, T),
    integers, the ids ≥ 0, the mask 0/1 and right-padded with ≥ 2 real tokens a row."""
    stream = _Stream(chunks)
    prefix = stream.read(8)
    if prefix[:2] == b"PK":
        raise DatasetFileError("not a safetensors file: a zip archive (torch.save format); convert it")
    if prefix[:1] == b"\x80":
        raise DatasetFileError("not a safetensors file: a pickle; pickles are never loaded")
    if len(prefix) < 8:
        raise DatasetFileError("not a safetensors file: shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        raise DatasetFileError(
            f"header too large: it claims {length:,} bytes, the limit is {MAX_HEADER_BYTES:,}"
        )
    raw = stream.read(length)
    if len(raw) < length:
        raise DatasetFileError(f"the header claims {length:,} bytes, more than the file has")
    tensors = _token_tensors(raw)
    facts: dict[str, int] = {}
    position = 0
    for tensor in sorted(tensors, key=lambda t: t.begin):
        if tensor.begin != position:
            raise DatasetFileError(f"tensor {tensor.name} overlaps another or leaves a gap before it")
        reader = _check_ids if tensor.name == "input_ids" else _check_mask
        facts.update(reader(stream, tensor))
        position = tensor.end
    if not stream.at_end():
        raise DatasetFileError("the file has trailing bytes that belong to no tensor")
    ids = next(t for t in tensors if t.name == "input_ids")
    return DatasetFacts(
        rows=ids.rows,
        seq_len=ids.seq_len,
        max_token_id=facts["max_token_id"],
        attention_mask=len(tensors) == 2,
    )


def _token_tensors(raw: bytes) -> list[_Tensor]:
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except DatasetFileError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DatasetFileError("the header is not valid UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise DatasetFileError("the header must be a JSON object")
    header.pop("__metadata__", None)
    names = set(header)
    if "input_ids" not in names or not names <= set(TENSOR_NAMES):
        raise DatasetFileError(
            "a token-id file holds input_ids (N, T) and optionally attention_mask (N, T), nothing else; "
            f"it has {', '.join(sorted(ascii(name)[:40] for name in names)) or 'no tensors'}"
        )
    tensors = [_tensor(name, header[name]) for name in sorted(names)]
    shapes = {(t.rows, t.seq_len) for t in tensors}
    if len(shapes) != 1:
        raise DatasetFileError("attention_mask must have the shape of input_ids")
    return tensors


def _tensor(name: str, info: object) -> _Tensor:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise DatasetFileError(f"tensor {name} needs exactly dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in TOKEN_DTYPES:
        raise DatasetFileError(
            f"tensor {name} has dtype {ascii(dtype)[:20]}; token ids are integers: {', '.join(TOKEN_DTYPES)}"
        )
    if not isinstance(shape, list) or len(shape) != 2 or not all(_is_natural(size) for size in shape):
        raise DatasetFileError(f"tensor {name} must have the shape (N, T)")
    rows, seq_len = shape
    if not 1 <= rows <= MAX_ROWS or not 2 <= seq_len <= MAX_SEQ_LEN:
        raise DatasetFileError(
            f"tensor {name} has shape ({rows}, {seq_len}); N must be 1 to {MAX_ROWS:,}, T 2 to {MAX_SEQ_LEN:,}"
        )
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_natural(o) for o in offsets):
        raise DatasetFileError(f"tensor {name} has malformed data_offsets ([begin, end])")
    begin, end = offsets
    if end - begin != rows * seq_len * TOKEN_DTYPES[dtype][0]:
        raise DatasetFileError(f"tensor {name}: its byte range does not match its shape and dtype")
    return _Tensor(name, dtype, rows, seq_len, begin, end)


def _row_blocks(stream: _Stream, tensor: _Tensor) -> Iterator[array.array[int]]:
    """The tensor's values, a block of whole rows at a time (about 1 MiB)."""
    size, typecode = TOKEN_DTYPES[tensor.dtype]
    row_bytes = tensor.seq_len * size
    per_block = max(1, (1 << 20) // row_bytes)
    remaining = tensor.rows
    while remaining:
        count = min(per_block, remaining)
        data = stream.read(count * row_bytes)
        if len(data) < count * row_bytes:
            raise DatasetFileError(f"tensor {tensor.name} points outside the file's data section")
        values = array.array(typecode)
        values.frombytes(data)
        if sys.byteorder == "big":
            values.byteswap()
        remaining -= count
        yield values


def _check_ids(stream: _Stream, tensor: _Tensor) -> dict[str, int]:
    largest = -1
    for block in _row_blocks(stream, tensor):
        if min(block) < 0:
            raise DatasetFileError("input_ids has a negative token id")
        largest = max(largest, max(block))
    return {"max_token_id": largest}


def _check_mask(stream: _Stream, tensor: _Tensor) -> dict[str, int]:
    width, typecode = tensor.seq_len, TOKEN_DTYPES[tensor.dtype][1]
    ones, zeros = array.array(typecode, [1] * width), array.array(typecode, [0] * width)
    row_index = 0
    for block in _row_blocks(stream, tensor):
        for start in range(0, len(block), width):
            row = block[start : start + width]
            real = row.count(1)
            if row[:real] != ones[:real] or row[real:] != zeros[real:]:
                raise DatasetFileError(
                    f"attention_mask row {row_index} is not 1s then 0s (values 0/1, padding on the right)"
                )
            if real < 2:
                raise DatasetFileError(
                    f"attention_mask row {row_index} has fewer than 2 real tokens (no next-token target)"
                )
            row_index += 1
    return {}


# --- text: JSON lines ---------------------------------------------------------------------------


def jsonl_texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """Each line's `"text"`, in order; DatasetFileError naming the line that is not
    `{"text": "..."}` (a final newline is fine, an empty line elsewhere is not)."""
    pending = b""
    number = 0
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            raise DatasetFileError(f"line {number + len(lines) + 1} is longer than {MAX_LINE_BYTES:,} bytes")
        for line in lines:
            number += 1
            yield _text_of(line, number)
    if pending:
        yield _text_of(pending, number + 1)


def inspect_jsonl_text(chunks: Iterable[bytes]) -> DatasetFacts:
    """The number of lines of a JSONL text file, each checked; DatasetFileError otherwise."""
    rows = 0
    for _ in jsonl_texts(chunks):
        rows += 1
        if rows > MAX_ROWS:
            raise DatasetFileError(f"more than {MAX_ROWS:,} lines")
    if rows == 0:
        raise DatasetFileError("the file has no lines")
    return DatasetFacts(rows=rows)


def _text_of(line: bytes, number: int) -> str:
    if len(line) > MAX_LINE_BYTES:
        raise DatasetFileError(f"line {number} is longer than {MAX_LINE_BYTES:,} bytes")
    try:
        record = json.loads(line.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except DatasetFileError as problem:
        raise DatasetFileError(f"line {number}: {problem}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DatasetFileError(f'line {number} is not UTF-8 JSON (one {{"text": ...}} a line)') from None
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str) or not text:
        raise DatasetFileError(f'line {number} is not {{"text": "..."}} with a non-empty string')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DatasetFileError(f"line {number} has a lone surrogate escape in its text") from None
    return text


def inspect(file_format: str, chunks: Iterable[bytes]) -> DatasetFacts:
    """The facts of an upload of `file_format`; DatasetFileError if the file is not one."""
    if file_format == TOKEN_IDS:
        return inspect_token_ids(chunks)
    if file_format == JSONL_TEXT:
        return inspect_jsonl_text(chunks)
    raise DatasetFileError(f"unknown dataset format {ascii(file_format)[:40]}")


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise DatasetFileError(f"the key {ascii(key)[:40]} appears twice")
        seen[key] = value
    return seen


def _is_natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
