"""The builder of each allowlisted family: family name → (config, generator) → `nn.Module`.

What a family's spec means (its config class, checks and example) is defined torch-free in
`analysis_workers.specs`, because the platform validates specs without torch; this module
adds only how to build the model. Both registries must name the same families, checked at
import so that a family without a builder fails here, not at a user's upload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from analysis_workers.specs import families
from analysis_workers.zoo.deep_linear import build_deep_linear
from analysis_workers.zoo.hf_causal_lm import build_hf_causal_lm
from analysis_workers.zoo.mlp import build_mlp
from analysis_workers.zoo.transformer import build_transformer

Builder = Callable[[Any, torch.Generator | None], nn.Module]

BUILDERS: dict[str, Builder] = {
    "deep_linear": build_deep_linear,
    "hf_causal_lm": build_hf_causal_lm,
    "mlp": build_mlp,
    "transformer": build_transformer,
}

if sorted(BUILDERS) != families():
    raise RuntimeError(f"zoo builders {sorted(BUILDERS)} and spec families {families()} disagree")


def builder_for(family: str) -> Builder:
    """The builder of a registered family (validate the spec first: this trusts the name)."""
    return BUILDERS[family]
