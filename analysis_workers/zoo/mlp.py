"""The `mlp` family: a multilayer perceptron in_dim → hidden[0] → … → out_dim.

State-dict names are those of `nn.Sequential` (`0.weight`, `0.bias`, `2.weight`, …, the
activations taking the odd indices), kept stable because checkpoints already on the
platform use them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

from analysis_workers.specs.configs import MLP_ACTIVATIONS, MLPConfig
from analysis_workers.zoo.init import uniform_fan_in_

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
if set(ACTIVATIONS) != set(MLP_ACTIVATIONS):
    raise RuntimeError("the spec and the builder must allow the same activations")


def build_mlp(config: MLPConfig, generator: torch.Generator | None = None) -> nn.Sequential:
    """The MLP with weights and biases ~ U(−1/√fan_in, 1/√fan_in), drawn from `generator`."""
    layers: list[nn.Module] = []
    last = len(config.dims) - 2
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(config.dims)):
        layers.append(nn.Linear(fan_in, fan_out, bias=config.bias))
        if index < last:
            layers.append(ACTIVATIONS[config.activation]())
    model = nn.Sequential(*layers)
    uniform_fan_in_(model, generator)
    return model
