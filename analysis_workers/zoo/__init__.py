"""Allowlisted architectures and safe checkpoint loading (pure PyTorch; no Django, no pickle).

Entry points other code relies on: `families()`, `example_spec(family)`,
`validate_spec(spec)`, `build(spec, generator=...)`, `expected_tensors(spec)`,
`load_checkpoint(spec, safetensors_bytes_or_folder)`, `save_checkpoint(model, spec)`,
`sha256_hex(data)`, `validate_safetensors_header(data, expected)` and `CheckpointError`
(a ValueError); for Hugging Face causal LMs `HFCausalLM`, `HFArchitecture` and
`hf_architecture(config)`; and the memory check a worker makes before loading,
`estimate_job_memory(...)`, `check_memory_budget(...)`, `worker_memory_budget_bytes()`.
Specs are defined torch-free in `analysis_workers.specs`; builders in
`analysis_workers.zoo.builders`.
"""

from __future__ import annotations

from analysis_workers.specs import (
    ArchitectureSpec,
    CheckpointError,
    HFArchitecture,
    check_memory_budget,
    estimate_job_memory,
    example_spec,
    families,
    family_named,
    hf_architecture,
    validate_spec,
    worker_memory_budget_bytes,
)
from analysis_workers.zoo.checkpoint import load_checkpoint, save_checkpoint, sha256_hex
from analysis_workers.zoo.hf_causal_lm import HFCausalLM
from analysis_workers.zoo.safetensors_check import TensorEntry, validate_safetensors_header
from analysis_workers.zoo.spec import build, expected_tensors

__all__ = [
    "ArchitectureSpec",
    "CheckpointError",
    "HFArchitecture",
    "HFCausalLM",
    "TensorEntry",
    "build",
    "check_memory_budget",
    "estimate_job_memory",
    "example_spec",
    "expected_tensors",
    "families",
    "family_named",
    "hf_architecture",
    "load_checkpoint",
    "save_checkpoint",
    "sha256_hex",
    "validate_safetensors_header",
    "validate_spec",
    "worker_memory_budget_bytes",
]
