"""The worker's side of an uploaded dataset: its decrypted file becomes a next-token `Dataset`,
validated again from the bytes (nothing the platform computed is trusted).

Token ids (`token_file_dataset`): the safetensors header is checked before any tensor exists by
the zoo's validator (`validate_safetensors_header`: header size cap, JSON without duplicate keys,
plain names, shapes, byte ranges that tile the data section exactly). That validator allows the
float dtypes of weights only, and stays so: it is shown a stand-in header in which each integer
dtype of a token file (I64, I32, U16) is replaced by the float dtype of the same width (F64, F32,
F16), so that every byte range reads the same, and the file's own dtypes are checked here —
integers only. Then `input_ids` (N, T), an optional `attention_mask` of the same shape (0/1, right
padding, ≥ 2 real tokens a row), every id in [0, vocab) and T ≤ the model's context.

JSON lines (`jsonl_text_dataset`): each line's text is tokenised with the checkpoint folder's own
`tokenizer.json` through `tokenizers.Tokenizer.from_file` — a JSON description of the tokenizer,
never code (no `transformers.AutoTokenizer`, no remote code) — truncated to `seq_len` and padded on
the right with a mask; rows of fewer than two tokens give no target and are left out (counted).

Either way: inputs = tokens[:, :-1] (N, T − 1), targets = tokens[:, 1:] with `IGNORE_INDEX` where
the mask says padding, extras `tokens`, `attention_mask` (N, T) and `target_mask` (N, T − 1, bool).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load

from analysis_workers.datasets.dataset import Dataset
from analysis_workers.datasets.uploaded import (
    IGNORE_INDEX,
    JSONL_TEXT,
    MAX_HEADER_BYTES,
    TENSOR_NAMES,
    TOKEN_DTYPES,
    TOKEN_IDS,
    UPLOADED,
    DatasetFileError,
    jsonl_texts,
    model_limits,
    validate_dataset_params,
)
from analysis_workers.zoo import validate_safetensors_header

TOKENIZER_FILE = "tokenizer.json"

_INTEGER_DTYPE = re.compile(rb'("dtype"\s*:\s*)"(I64|I32|U16)"')
_SAME_WIDTH_FLOAT = {b"I64": b"F64", b"I32": b"F32", b"U16": b"F16"}


def build_uploaded(description: dict[str, Any], data: bytes, *, spec: object, folder: Path | None) -> Dataset:
    """The dataset a ticket's `extra["dataset"]` describes ({"name": "uploaded", "format",
    "params", …}), from its verified plaintext `data`, for a checkpoint of `spec` (whose folder
    holds the tokenizer, for text); ValueError with one readable line otherwise."""
    file_format = description.get("format")
    params = validate_dataset_params(str(file_format), description.get("params"))
    vocab_size, context = model_limits(spec)
    if file_format == TOKEN_IDS:
        return token_file_dataset(data, params, vocab_size=vocab_size, context=context)
    if file_format == JSONL_TEXT:
        tokenizer = folder / TOKENIZER_FILE if folder is not None else None
        if tokenizer is None or not tokenizer.is_file():
            raise DatasetFileError("text is tokenised with the checkpoint's tokenizer.json, and it has none")
        return jsonl_text_dataset(
            data, params, tokenizer_file=tokenizer, vocab_size=vocab_size, context=context
        )
    raise DatasetFileError(f"unknown dataset format {ascii(file_format)[:40]}")


def token_file_tensors(data: bytes) -> dict[str, torch.Tensor]:
    """`input_ids` and (if present) `attention_mask` as int64, after the header checked out."""
    header = _checked_header(data)
    tensors = load(data)  # only now does any tensor exist
    return {name: tensors[name].to(torch.int64) for name in header}


def _checked_header(data: bytes) -> dict[str, str]:
    """name → the file's own dtype, once the zoo's validator accepted the stand-in header."""
    length = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    plausible = len(data) >= 8 and length <= MAX_HEADER_BYTES and 8 + length <= len(data)
    header = data[8 : 8 + length] if plausible else b""
    # the same bytes with same-width float dtype names; a copy of the file, once, in memory
    stand_in = data[:8] + _INTEGER_DTYPE.sub(_float_name, header) + data[8 + length :] if plausible else data
    entries = validate_safetensors_header(stand_in)  # CheckpointError (a ValueError) otherwise
    original = json.loads(header)  # well formed: it differs from the stand-in inside dtype strings only
    dtypes = {entry.name: original[entry.name]["dtype"] for entry in entries}
    names = set(dtypes)
    if "input_ids" not in names or not names <= set(TENSOR_NAMES):
        raise DatasetFileError("a token-id file holds input_ids (N, T) and optionally attention_mask (N, T)")
    for entry in entries:
        if dtypes[entry.name] not in TOKEN_DTYPES:
            raise DatasetFileError(
                f"tensor {entry.name} has dtype {ascii(dtypes[entry.name])[:20]}; "
                f"token ids are integers: {', '.join(TOKEN_DTYPES)}"
            )
        if len(entry.shape) != 2 or entry.shape[0] < 1 or entry.shape[1] < 2:
            raise DatasetFileError(f"tensor {entry.name} must have the shape (N, T) with N ≥ 1 and T ≥ 2")
    if len({entry.shape for entry in entries}) != 1:
        raise DatasetFileError("attention_mask must have the shape of input_ids")
    return dtypes


def _float_name(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b'"' + _SAME_WIDTH_FLOAT[match.group(2)] + b'"'


def token_file_dataset(data: bytes, params: dict[str, Any], *, vocab_size: int, context: int) -> Dataset:
    """A next-token dataset from a token-id file (see the module docstring)."""
    tensors = token_file_tensors(data)
    tokens = tensors["input_ids"][: params["max_rows"]]  # [N, T]
    mask = tensors.get("attention_mask")
    mask = torch.ones_like(tokens) if mask is None else mask[: params["max_rows"]]
    _check_mask(mask)
    return _next_token_dataset(tokens, mask, vocab_size=vocab_size, context=context, file_format=TOKEN_IDS)


def jsonl_text_dataset(
    data: bytes, params: dict[str, Any], *, tokenizer_file: Path, vocab_size: int, context: int
) -> Dataset:
    """A next-token dataset from JSON lines, tokenised with `tokenizer_file` (see the module docstring)."""
    from tokenizers import Tokenizer

    seq_len = int(params["seq_len"])
    if seq_len > context:
        raise DatasetFileError(f"seq_len {seq_len} exceeds the model's context of {context}")
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except Exception as problem:  # the tokenizers library raises its own error types for a bad file
        raise DatasetFileError(
            f"the checkpoint's tokenizer.json cannot be read: {str(problem)[:200]}"
        ) from None
    texts = list(itertools.islice(jsonl_texts([data]), params["max_rows"]))
    rows = [encoding.ids[:seq_len] for encoding in tokenizer.encode_batch(texts)]
    kept = [ids for ids in rows if len(ids) >= 2]
    if not kept:
        raise DatasetFileError("no line has two tokens or more: there is nothing to predict")
    tokens = torch.zeros(len(kept), seq_len, dtype=torch.int64)  # [N, seq_len], 0 on padding
    mask = torch.zeros_like(tokens)
    for row, ids in enumerate(kept):
        tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.int64)
        mask[row, : len(ids)] = 1
    dataset = _next_token_dataset(
        tokens, mask, vocab_size=vocab_size, context=context, file_format=JSONL_TEXT
    )
    dataset.metadata["skipped_short_lines"] = len(rows) - len(kept)
    return dataset


def _check_mask(mask: torch.Tensor) -> None:
    """0/1, ones then zeros along each row, at least two ones a row."""
    if bool(((mask != 0) & (mask != 1)).any()):
        raise DatasetFileError("attention_mask holds values other than 0 and 1")
    lengths = mask.sum(dim=1)  # [N] real tokens per row
    positions = torch.arange(mask.shape[1])
    if not torch.equal(mask, (positions.unsqueeze(0) < lengths.unsqueeze(1)).to(mask.dtype)):
        raise DatasetFileError("attention_mask must be 1s then 0s in every row (padding on the right)")
    if bool((lengths < 2).any()):
        raise DatasetFileError("every row needs at least 2 real tokens (one next-token target)")


def _next_token_dataset(
    tokens: torch.Tensor, mask: torch.Tensor, *, vocab_size: int, context: int, file_format: str
) -> Dataset:
    rows, seq_len = tokens.shape
    if seq_len > context:
        raise DatasetFileError(f"rows have {seq_len} tokens; the model's context is {context}")
    if bool((tokens < 0).any()) or int(tokens.max()) >= vocab_size:
        found = int(tokens.min()) if bool((tokens < 0).any()) else int(tokens.max())
        raise DatasetFileError(f"token id {found} is outside the model's vocabulary of {vocab_size} ids")
    target_mask = mask[:, 1:].to(torch.bool)  # [N, T − 1]
    targets = tokens[:, 1:].clone()  # [N, T − 1]
    targets[~target_mask] = IGNORE_INDEX
    return Dataset(
        UPLOADED,
        tokens[:, :-1].clone(),
        targets,
        {"tokens": tokens, "attention_mask": mask, "target_mask": target_mask},
        {"format": file_format, "rows": rows, "seq_len": seq_len, "vocab_size": vocab_size},
    )
