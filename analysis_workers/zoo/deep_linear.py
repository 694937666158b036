"""The `deep_linear` family: x ↦ W_L ⋯ W_2 W_1 x, no biases, no activations.

Deep linear networks are the best-understood singular models: their learning
coefficient is known in closed form (Aoyagi 2024), which is why the LLC estimator is
calibrated on them. dims = (d_0, …, d_L) gives L layers, W_l of shape d_l × d_{l−1};
state-dict names `0.weight`, `1.weight`, … as in `nn.Sequential`.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from analysis_workers.specs.configs import DeepLinearConfig
from analysis_workers.zoo.init import uniform_fan_in_


def build_deep_linear(config: DeepLinearConfig, generator: torch.Generator | None = None) -> nn.Sequential:
    """The network with W_l ~ U(−1/√d_{l−1}, 1/√d_{l−1}) entrywise, drawn from `generator`."""
    model = nn.Sequential(*[nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(config.dims)])
    uniform_fan_in_(model, generator)
    return model
