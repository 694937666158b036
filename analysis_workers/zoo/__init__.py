"""Allowlisted architectures and safe checkpoint loading (pure PyTorch; no Django, no pickle).

Entry points other code relies on: `families()`, `example_spec(family)`,
`validate_spec(spec)`, `build(spec, generator=...)`, `expected_tensors(spec)`,
`load_checkpoint(spec, safetensors_bytes)`, `save_checkpoint(model, spec)`,
`sha256_hex(data)`, `validate_safetensors_header(data, expected)` and `CheckpointError`
(a ValueError). Specs are defined torch-free in `analysis_workers.specs`; builders in
`analysis_workers.zoo.builders`.
"""

from __future__ import annotations

from analysis_workers.specs import (
    ArchitectureSpec,
    CheckpointError,
    example_spec,
    families,
    family_named,
    validate_spec,
)
from analysis_workers.zoo.checkpoint import load_checkpoint, save_checkpoint, sha256_hex
from analysis_workers.zoo.safetensors_check import TensorEntry, validate_safetensors_header
from analysis_workers.zoo.spec import build, expected_tensors

__all__ = [
    "ArchitectureSpec",
    "CheckpointError",
    "TensorEntry",
    "build",
    "example_spec",
    "expected_tensors",
    "families",
    "family_named",
    "load_checkpoint",
    "save_checkpoint",
    "sha256_hex",
    "validate_safetensors_header",
    "validate_spec",
]
