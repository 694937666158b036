"""Models at points whose learning coefficient is known, and data for them.

`deep_linear_at_rank` builds w* for Aoyagi's formula (see `theory.py`): every layer has rank
exactly r, W_i = Q_{i+1} S_i Q_iᵀ with Q_i: H_i × r orthonormal (the QR factor of a Gaussian
matrix) and S_i = diag(s), s uniform in [s_min, s_max]. The product W_L ⋯ W_1 = Q_{L+1} (Π S_i) Q_1ᵀ
then has rank r, and no layer is on a more degenerate stratum than the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def deep_linear_at_rank(
    widths: Sequence[int],
    rank: int,
    *,
    generator: torch.Generator,
    singular_range: tuple[float, float] = (0.8, 1.25),
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A bias-free `nn.Sequential` of `nn.Linear` with widths H_1 … H_{L+1}, each layer of rank r."""
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError("widths need an input and an output size, all ≥ 1")
    if not 0 <= rank <= min(widths):
        raise ValueError(f"rank must lie in [0, {min(widths)}], got {rank}")
    low, high = singular_range
    if not 0 < low <= high:
        raise ValueError("singular_range must be (low, high) with 0 < low ≤ high")
    frames = [_orthonormal(width, rank, generator) for width in widths]  # each (H_i, r)
    layers = []
    for index in range(len(widths) - 1):
        singular = low + (high - low) * torch.rand(rank, generator=generator, dtype=torch.float64)
        weight = frames[index + 1] @ torch.diag(singular) @ frames[index].T  # (H_{i+1}, H_i)
        layer = nn.Linear(widths[index], widths[index + 1], bias=False, dtype=dtype)
        with torch.no_grad():
            layer.weight.copy_(weight.to(dtype))
        layers.append(layer)
    return nn.Sequential(*layers)


def regression_data(
    model: nn.Module,
    num_samples: int,
    input_dim: int,
    *,
    generator: torch.Generator,
    noise_std: float = 0.0,
    input_basis: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ N(0, I) (or x = z Uᵀ, z ~ N(0, I_k), for an `input_basis` U: input_dim × k), y = f(x) + σ ε."""
    if num_samples < 1 or input_dim < 1 or noise_std < 0:
        raise ValueError("need num_samples ≥ 1, input_dim ≥ 1 and noise_std ≥ 0")
    dtype = next(model.parameters()).dtype
    if input_basis is None:
        inputs = torch.randn(num_samples, input_dim, generator=generator, dtype=dtype)
    else:
        if input_basis.dim() != 2 or input_basis.shape[0] != input_dim:
            raise ValueError(f"input_basis must have shape ({input_dim}, k)")
        latent = torch.randn(num_samples, input_basis.shape[1], generator=generator, dtype=dtype)
        inputs = latent @ input_basis.to(dtype).T
    with torch.no_grad():
        outputs = model(inputs)
    if noise_std > 0:
        outputs = outputs + noise_std * torch.randn(outputs.shape, generator=generator, dtype=dtype)
    return inputs, outputs


def _orthonormal(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    if cols == 0:
        return torch.zeros(rows, 0, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(rows, cols, generator=generator, dtype=torch.float64))
    return q
