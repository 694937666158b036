"""Essential dynamics on planted trajectories: the turn is found where it was put, and nowhere else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from analysis_workers.devo import essential_dynamics, turning_points


def _linear_at(weight: torch.Tensor) -> nn.Module:
    model = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(weight)
    return model


def _series(corner: int, length: int, *, turn: bool = True) -> list[nn.Module]:
    """Weights walk along u for `corner` steps, then along v ⟂ u (or on along u): outputs follow."""
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(3, 4, generator=generator)
    v = torch.randn(3, 4, generator=generator)
    v -= (v * u).sum() / (u * u).sum() * u  # orthogonal to u in weight space
    start = torch.randn(3, 4, generator=generator)
    weights = []
    for step in range(length):
        along_u = min(step, corner)
        along_v = max(step - corner, 0)
        weights.append(start + along_u * u + (along_v * (v if turn else u)))
    return [_linear_at(w) for w in weights]


def test_the_planted_corner_is_the_only_turning_point() -> None:
    probe = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    found = essential_dynamics(_series(corner=5, length=11), probe, lambda out: out, components=3)
    assert found.turns == [5]
    assert sum(found.explained[:2]) > 0.999  # two directions of travel, two components
    assert found.angles[5] is not None and 60 < found.angles[5] < 120


def test_a_straight_path_has_no_turn() -> None:
    probe = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    found = essential_dynamics(_series(corner=5, length=11, turn=False), probe, lambda out: out)
    assert found.turns == []
    assert found.explained[0] > 0.999


def test_jitter_at_a_standstill_is_not_a_turn() -> None:
    coordinates = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1e-4], [2.0, 0.0], [3.0, 0.0]])
    turns, _ = turning_points(coordinates)
    assert turns == []


def test_bad_input_says_what_to_change() -> None:
    with pytest.raises(ValueError, match="at least three"):
        essential_dynamics(_series(1, 2), torch.randn(4, 4), lambda out: out)
