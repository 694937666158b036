"""A deep linear network student learning from a deep linear teacher (Saxe et al. 2014).

Teacher: y = W_L ⋯ W_1 x + ε with fixed random weights; student: the same depth with
small initial weights, trained by full-batch gradient descent on the mean squared
error. From small initialisation the student learns the teacher map's singular
directions one at a time (stage-like loss drops), the classic toy for developmental
analyses and for the LLC of a deep linear network.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class DeepLinearConfig:
    dims: tuple[int, ...] = (6, 6, 6)
    n_samples: int = 512
    noise: float = 0.05
    teacher_scale: float = 1.0
    init_scale: float = 0.05
    steps: int = 800
    lr: float = 0.1
    checkpoint_every: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.dims) < 2 or any(d < 1 for d in self.dims):
            raise ValueError("dims needs at least two positive sizes")
        if self.n_samples < 1 or self.steps < 1 or self.checkpoint_every < 1:
            raise ValueError("n_samples, steps and checkpoint_every must be at least 1")
        if self.noise < 0 or self.init_scale <= 0 or self.lr <= 0 or self.teacher_scale <= 0:
            raise ValueError("noise must be ≥ 0; init_scale, lr and teacher_scale > 0")


@dataclass
class DeepLinearRun:
    config: DeepLinearConfig
    teacher: nn.Sequential
    model: nn.Sequential
    inputs: Tensor
    targets: Tensor
    checkpoints: list[tuple[int, dict[str, Tensor]]]
    history: dict[str, list[float]] = field(default_factory=dict)


def deep_linear_network(dims: tuple[int, ...], scale: float, generator: torch.Generator) -> nn.Sequential:
    """Bias-free linear layers d_0 → … → d_L, weights ~ N(0, scale²/d_in) (names "0.weight", …)."""
    model = nn.Sequential(*[nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(dims)])
    with torch.no_grad():
        for layer in model:
            assert isinstance(layer, nn.Linear)  # noqa: S101 - narrows the type for mypy; built just above
            layer.weight.copy_(
                torch.randn(layer.weight.shape, generator=generator) * scale / layer.in_features**0.5
            )
    return model


def train_deep_linear(
    config: DeepLinearConfig = DeepLinearConfig(), *, device: torch.device | str = "cpu"
) -> DeepLinearRun:
    generator = torch.Generator().manual_seed(config.seed)
    teacher = deep_linear_network(config.dims, config.teacher_scale, generator).to(device)
    inputs = torch.randn(config.n_samples, config.dims[0], generator=generator).to(device)
    with torch.no_grad():
        targets = teacher(inputs)
    targets = targets + config.noise * torch.randn(targets.shape, generator=generator).to(device)
    model = deep_linear_network(config.dims, config.init_scale, generator).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    history: dict[str, list[float]] = {"step": [], "loss": []}
    checkpoints: list[tuple[int, dict[str, Tensor]]] = []
    for step in range(config.steps + 1):
        if step % config.checkpoint_every == 0 or step == config.steps:
            checkpoints.append((step, {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}))
        loss = (model(inputs) - targets).pow(2).mean()
        history["step"].append(step)
        history["loss"].append(loss.item())
        if step == config.steps:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return DeepLinearRun(config, teacher, model, inputs, targets, checkpoints, history)
