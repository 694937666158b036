"""Small models trained in seconds on a CPU, deterministic from a seed (pure PyTorch).

`train_modular_addition` (grokking), `train_induction` (induction heads),
`train_deep_linear` (a deep linear teacher/student), and `set_worker_threads`.
"""

from __future__ import annotations

from analysis_workers.demo.deep_linear import DeepLinearConfig, DeepLinearRun, train_deep_linear
from analysis_workers.demo.induction import InductionConfig, InductionRun, repeated_sequences, train_induction
from analysis_workers.demo.modular_addition import (
    ModularAdditionConfig,
    ModularAdditionData,
    ModularAdditionRun,
    modular_addition_data,
    train_modular_addition,
)
from analysis_workers.demo.runtime import set_worker_threads

__all__ = [
    "DeepLinearConfig",
    "DeepLinearRun",
    "InductionConfig",
    "InductionRun",
    "ModularAdditionConfig",
    "ModularAdditionData",
    "ModularAdditionRun",
    "modular_addition_data",
    "repeated_sequences",
    "set_worker_threads",
    "train_deep_linear",
    "train_induction",
    "train_modular_addition",
]
