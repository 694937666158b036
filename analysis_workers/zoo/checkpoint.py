"""Loading and saving checkpoints: safetensors only, validated before any tensor exists.

Order matters (SECURITY.md, "No pickle, ever"): the spec is validated, then the header is
checked against it (`validate_safetensors_header`), only then are tensors created, from
the byte ranges the checker approved (we read them ourselves, so the parser that checked
is the parser that loads), then non-finite values are refused, and finally the weights
go into a freshly built model with `strict=True`.
"""

from __future__ import annotations

import hashlib
import sys

import torch
from safetensors.torch import save as safetensors_save
from torch import nn

from analysis_workers.specs import CheckpointError
from analysis_workers.zoo.safetensors_check import TensorEntry, header_length, validate_safetensors_header
from analysis_workers.zoo.spec import SAFETENSORS_DTYPES, build, expected_tensors, validate_spec

_TORCH_DTYPES = {name: dtype for dtype, name in SAFETENSORS_DTYPES.items()}


def load_checkpoint(spec: object, safetensors_bytes: bytes) -> nn.Module:
    """A model of `spec` holding the checkpoint's weights; CheckpointError (one line) if anything is off."""
    if not isinstance(safetensors_bytes, bytes | bytearray | memoryview):
        raise CheckpointError("a checkpoint must be given as bytes")
    data = bytes(safetensors_bytes)
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
    """The model's state dict as safetensors bytes; CheckpointError if it does not match `spec`."""
    expected = expected_tensors(validate_spec(spec))
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
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
