"""Loading and saving checkpoints: safetensors only, validated before any tensor exists.

Order matters (SECURITY.md, "No pickle, ever"): the spec is validated, then the header is
checked against it (`validate_safetensors_header`), only then are tensors created, from
the byte ranges the checker approved (we read them ourselves, so the parser that checked
is the parser that loads), then non-finite values are refused, and finally the weights
go into a freshly built model with `strict=True`. The `hf_causal_lm` family follows the
same order in `analysis_workers.zoo.hf_causal_lm`, and also takes a folder in Hugging Face
layout (a config.json and one or several safetensors files).
"""

from __future__ import annotations

import hashlib
import os
import sys

import torch
from safetensors.torch import save as safetensors_save
from torch import nn

from analysis_workers.specs import CheckpointError
from analysis_workers.specs.hf import FAMILY as HF_FAMILY
from analysis_workers.zoo.hf_causal_lm import HFCausalLM, expected_hf_tensors, load_hf_checkpoint
from analysis_workers.zoo.safetensors_check import TensorEntry, header_length, validate_safetensors_header
from analysis_workers.zoo.spec import SAFETENSORS_DTYPES, build, expected_tensors, validate_spec

_TORCH_DTYPES = {name: dtype for dtype, name in SAFETENSORS_DTYPES.items()}


CheckpointSource = bytes | bytearray | memoryview | str | os.PathLike[str]


def load_checkpoint(spec: object, source: CheckpointSource) -> nn.Module:
    """A model of `spec` holding the checkpoint's weights; CheckpointError (one line) if anything is off.

    `source` is the bytes of one safetensors file; for `hf_causal_lm` it may also be a folder
    (str or Path) in Hugging Face layout, read from disk without holding the files in memory.
    """
    validated = validate_spec(spec)
    if validated.family.name == HF_FAMILY:
        return load_hf_checkpoint(validated.config, source)
    if isinstance(source, str | os.PathLike):
        raise CheckpointError(
            f"a checkpoint folder is for the {HF_FAMILY} family; {validated.family.name} takes one safetensors file"
        )
    if not isinstance(source, bytes | bytearray | memoryview):
        raise CheckpointError("a checkpoint must be given as bytes")
    data = bytes(source)
    expected = expected_tensors(spec)
    entries = validate_safetensors_header(data, expected)
    start = 8 + header_length(data)
    tensors = {entry.name: _read_tensor(data, start, entry) for entry in entries}
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"tensor {name!a} contains NaN or infinite values")
    model = build(spec)
    model.load_state_dict(tensors, strict=True)
    return model


def save_checkpoint(model: nn.Module, spec: object) -> bytes:
    """The model's state dict as safetensors bytes; CheckpointError if it does not match `spec`.

    An `hf_causal_lm` model is saved under its Hugging Face names, each tied group once, in its dtype.
    """
    validated = validate_spec(spec)
    if validated.family.name == HF_FAMILY and isinstance(model, HFCausalLM):
        tensors = model.checkpoint_state_dict()
        dtype = SAFETENSORS_DTYPES.get(next(iter(tensors.values())).dtype, "F32")
        expected = expected_hf_tensors(validated.config, dtype)
    else:
        tensors = model.state_dict()
        expected = expected_tensors(validated)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    actual = {
        name: (tuple(t.shape), SAFETENSORS_DTYPES.get(t.dtype, str(t.dtype))) for name, t in state.items()
    }
    if actual != expected:
        differing = sorted(set(actual.items()) ^ set(expected.items()))[:3]
        raise CheckpointError(f"the model does not match its spec: {differing}")
    return bytes(safetensors_save(state))


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 a checkpoint is pinned by at approval."""
    return hashlib.sha256(data).hexdigest()


def _read_tensor(data: bytes, start: int, entry: TensorEntry) -> torch.Tensor:
    """A tensor owning a copy of the approved byte range (safetensors stores little-endian)."""
    dtype = _TORCH_DTYPES[entry.dtype]
    if entry.begin == entry.end:
        return torch.empty(entry.shape, dtype=dtype)
    chunk = bytearray(data[start + entry.begin : start + entry.end])
    tensor = torch.frombuffer(chunk, dtype=dtype).reshape(entry.shape)
    if sys.byteorder != "little":  # pragma: no cover - every platform we deploy on is little-endian
        raise CheckpointError("loading safetensors on a big-endian machine is not supported")
    return tensor
