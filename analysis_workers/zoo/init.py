"""Deterministic initialisation shared by the simple families.

torch's own `nn.Linear` init draws from the global generator; we redraw every parameter
from an explicit `torch.Generator` so a seed names one model, whatever else ran before.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def uniform_fan_in_(model: nn.Module, generator: torch.Generator | None) -> None:
    """Every parameter ~ U(−1/√fan_in, 1/√fan_in) in place (fan_in: last axis; a vector's own length)."""
    with torch.no_grad():
        for parameter in model.parameters():
            fan_in = parameter.shape[-1] if parameter.dim() > 1 else parameter.shape[0]
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            draw = torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype)
            parameter.copy_(draw * (2 * bound) - bound)
