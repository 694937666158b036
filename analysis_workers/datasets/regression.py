"""Regression data: a linear teacher, or a given model as teacher, with Gaussian label noise.

Linear teacher: W ∈ ℝ^{d_out × d_in}, W_ij ~ N(0, 1/d_in); x ~ N(0, I_{d_in}), or with
`subspace_dim = k`, x = Q z with Q ∈ ℝ^{d_in × k} orthonormal (QR of a Gaussian matrix)
and z ~ N(0, I_k), so the inputs span only a k-dimensional subspace (the data for a
*restricted* LLC, where directions the data never probes are free); y = W x + σ ε,
ε ~ N(0, I). Every draw comes from one `torch.Generator` seeded with `seed`.
"""

from __future__ import annotations

import torch
from torch import nn

from analysis_workers.datasets.dataset import Dataset


def linear_teacher_regression(
    *, n: int, d_in: int, d_out: int, noise: float, subspace_dim: int | None, seed: int
) -> Dataset:
    """(x, W x + noise·ε) with extras `teacher` (W) and, for restricted inputs, `basis` (Q)."""
    if subspace_dim is not None and subspace_dim > d_in:
        raise ValueError(f"subspace_dim must be at most d_in ({d_in}), got {subspace_dim}")
    generator = torch.Generator().manual_seed(seed)
    teacher = torch.randn(d_out, d_in, generator=generator) / d_in**0.5
    extras = {"teacher": teacher}
    if subspace_dim is None:
        inputs = torch.randn(n, d_in, generator=generator)
    else:
        basis, _ = torch.linalg.qr(torch.randn(d_in, subspace_dim, generator=generator))
        inputs = torch.randn(n, subspace_dim, generator=generator) @ basis.T
        extras["basis"] = basis
    targets = inputs @ teacher.T + noise * torch.randn(n, d_out, generator=generator)
    metadata = {
        "n": n,
        "d_in": d_in,
        "d_out": d_out,
        "noise": noise,
        "subspace_dim": subspace_dim,
        "seed": seed,
    }
    return Dataset("linear_teacher", inputs, targets, extras, metadata)


def model_teacher_regression(model: nn.Module, *, in_dim: int, n: int, noise: float, seed: int) -> Dataset:
    """(x, model(x) + noise·ε), x ~ N(0, I_{in_dim}): data for which the checkpoint is a true parameter.

    The model is evaluated in inference mode and is not changed.
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, in_dim, generator=generator)
    with torch.inference_mode():
        clean = model(inputs)
    targets = clean + noise * torch.randn(clean.shape, generator=generator)
    return Dataset("regression", inputs, targets.clone(), {}, {"n": n, "noise": noise, "seed": seed})
