"""Essential dynamics (after Hoogland et al. 2024, "The developmental landscape of in-context
learning"): the model's outputs on a fixed probe set, one row per checkpoint, centred and
reduced by PCA; the trajectory in the top components shows the development, and the points
where it turns sharply are candidate boundaries between developmental stages.

A turning point is a checkpoint where the direction of travel in the top-`k` space changes by
more than `min_angle_degrees` between the step that arrives and the step that leaves
(segments shorter than `min_step_fraction` of the longest are merged first, so jitter at a
standstill does not count as a turn).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class EssentialDynamics:
    """`coordinates` [checkpoints, k]; `explained` variance share of each component; `turns` indices."""

    coordinates: Tensor
    explained: list[float]
    turns: list[int]
    angles: list[float | None]


def outputs_matrix(models: Sequence[nn.Module], probe: Tensor, read: Callable[[Tensor], Tensor]) -> Tensor:
    """[checkpoints, features]: each model's `read(model(probe))`, flattened, in float64."""
    rows = []
    with torch.inference_mode():
        for model in models:
            rows.append(read(model(probe)).reshape(-1).to(torch.float64))
    return torch.stack(rows)


def turning_points(
    coordinates: Tensor, *, min_angle_degrees: float = 45.0, min_step_fraction: float = 0.05
) -> tuple[list[int], list[float | None]]:
    """Indices where the trajectory turns by more than the angle, and the angle at every checkpoint."""
    if coordinates.dim() != 2 or coordinates.shape[0] < 1:
        raise ValueError("coordinates must be [checkpoints, k] with at least one checkpoint")
    steps = coordinates[1:] - coordinates[:-1]
    lengths = steps.norm(dim=1)
    longest = float(lengths.max()) if len(lengths) else 0.0
    angles: list[float | None] = [None] * coordinates.shape[0]
    turns: list[int] = []
    if longest == 0.0:
        return turns, angles
    moving = [i for i in range(len(steps)) if float(lengths[i]) >= min_step_fraction * longest]
    for before, after in itertools.pairwise(moving):
        cosine = float(steps[before] @ steps[after] / (lengths[before] * lengths[after]))
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cosine))))
        at = after  # the checkpoint where the leaving step starts
        angles[at] = angle
        if angle > min_angle_degrees:
            turns.append(at)
    return turns, angles


def essential_dynamics(
    models: Sequence[nn.Module],
    probe: Tensor,
    read: Callable[[Tensor], Tensor],
    *,
    components: int = 3,
    min_angle_degrees: float = 45.0,
) -> EssentialDynamics:
    """PCA of the outputs across checkpoints and the turning points of the trajectory."""
    if len(models) < 3:
        raise ValueError("essential dynamics needs a series of at least three checkpoints")
    if components < 1:
        raise ValueError("components must be at least 1")
    matrix = outputs_matrix(models, probe, read)
    centred = matrix - matrix.mean(dim=0, keepdim=True)
    _, singular, right = torch.linalg.svd(centred, full_matrices=False)
    k = min(components, int(singular.shape[0]))
    coordinates = centred @ right[:k].T  # [checkpoints, k]
    total = float((singular**2).sum()) or 1.0
    explained = [float(s**2) / total for s in singular[:k]]
    turns, angles = turning_points(coordinates, min_angle_degrees=min_angle_degrees)
    return EssentialDynamics(coordinates.to(torch.float32), explained, turns, angles)
