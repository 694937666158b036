"""What a runner receives, and the per-dataset pieces every runner needs (loss, token task).

A runner is `run(inputs: JobInputs) -> AnalysisReport`: JSON metrics plus named matplotlib
figures, which the worker renders to PNG and the platform stores as encrypted artifacts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from analysis_workers.datasets import Dataset
from analysis_workers.datasets.uploaded import IGNORE_INDEX, UPLOADED
from analysis_workers.interp.task import TokenTask, last_position_task
from analysis_workers.specs import ArchitectureSpec

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class JobInputs:
    """`models` are the checkpoints in series order (one for single-checkpoint kinds); `labels` name them."""

    spec: ArchitectureSpec
    models: list[nn.Module]
    labels: list[str]
    dataset: Dataset
    params: dict[str, Any]
    progress: Callable[[float], None]
    device: str = "cpu"

    @property
    def model(self) -> nn.Module:
        return self.models[-1]


def _mse(outputs: Tensor, targets: Tensor) -> Tensor:
    return ((outputs - targets) ** 2).mean()


def loss_fn_for(dataset: Dataset) -> LossFn:
    """The training loss the dataset implies: MSE for regression, cross-entropy for token tasks
    (modular addition reads the answer at the last position, over the p answer tokens only; an
    uploaded dataset's padding positions carry the target IGNORE_INDEX, which cross-entropy ignores, so
    the loss is the mean over the real next tokens only)."""
    if dataset.name in ("regression", "linear_teacher"):
        return _mse
    if dataset.name == "modular_addition":
        p = int(dataset.metadata["p"])

        def modular(outputs: Tensor, targets: Tensor) -> Tensor:
            return F.cross_entropy(outputs[:, -1, :p], targets)

        return modular
    if dataset.name == "induction_sequences":

        def next_token(outputs: Tensor, targets: Tensor) -> Tensor:
            return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))

        return next_token
    if dataset.name == UPLOADED:

        def masked_next_token(outputs: Tensor, targets: Tensor) -> Tensor:
            # outputs [batch, pos, vocab], targets [batch, pos] with IGNORE_INDEX on padding
            flat = outputs.reshape(-1, outputs.shape[-1])  # [batch·pos, vocab]
            return F.cross_entropy(flat, targets.reshape(-1), ignore_index=IGNORE_INDEX)

        return masked_next_token
    raise ValueError(f"no loss is defined for the dataset {dataset.name}")


def token_task(dataset: Dataset, max_prompts: int) -> TokenTask:
    """The behaviour interpretability kinds measure on a token dataset (first `max_prompts` rows)."""
    if dataset.name == "modular_addition":
        return last_position_task(dataset.inputs[:max_prompts], dataset.targets[:max_prompts])
    if dataset.name == "induction_sequences":
        mask = dataset.extras["induction_mask"][:max_prompts]
        return TokenTask(dataset.inputs[:max_prompts], dataset.targets[:max_prompts], mask.to(torch.bool))
    if (
        dataset.name == UPLOADED
    ):  # the real next tokens only; padding's IGNORE_INDEX becomes 0 under a false mask
        mask = dataset.extras["target_mask"][:max_prompts]
        return TokenTask(dataset.inputs[:max_prompts], dataset.targets[:max_prompts].clamp(min=0), mask)
    raise ValueError(f"{dataset.name} is not a token dataset")
