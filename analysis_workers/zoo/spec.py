"""Building the model a spec describes, and the tensors its checkpoint must hold (validation: `analysis_workers.specs`)."""

from __future__ import annotations

import torch
from torch import nn

from analysis_workers.specs import validate_spec
from analysis_workers.specs.hf import FAMILY as HF_FAMILY
from analysis_workers.zoo.builders import builder_for
from analysis_workers.zoo.hf_causal_lm import expected_hf_tensors

# Floating dtypes only: checkpoints carry weights, and the header allowlist is the same.
SAFETENSORS_DTYPES: dict[torch.dtype, str] = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
}


def build(spec: object, *, generator: torch.Generator | None = None) -> nn.Module:
    """The model the spec describes, initialised from `generator` (same generator state, same weights)."""
    validated = validate_spec(spec)
    return builder_for(validated.family.name)(validated.config, generator)


def expected_tensors(spec: object) -> dict[str, tuple[tuple[int, ...], str]]:
    """name → (shape, safetensors dtype) of every tensor in the model's state dict.

    Built on the meta device, so even a spec at the parameter cap costs no memory. For
    `hf_causal_lm` these are the Hugging Face checkpoint's names, each tied group once, in
    float32 (a checkpoint may be stored in another floating dtype; see `load_checkpoint`).
    """
    validated = validate_spec(spec)
    if validated.family.name == HF_FAMILY:
        return expected_hf_tensors(validated.config)
    with torch.device("meta"):
        model = builder_for(validated.family.name)(validated.config, None)
    expected: dict[str, tuple[tuple[int, ...], str]] = {}
    for name, tensor in model.state_dict().items():
        if tensor.dtype not in SAFETENSORS_DTYPES:
            raise TypeError(
                f"family {validated.family.name}: state-dict entry {name} has dtype {tensor.dtype}"
            )
        expected[name] = (tuple(tensor.shape), SAFETENSORS_DTYPES[tensor.dtype])
    return expected
