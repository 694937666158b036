"""Built-in datasets, generated deterministically from their params (every draw from one seeded
`torch.Generator`): `registry()` lists them with their params schema (plain JSON, torch-free),
`build(name, params)` validates the params and returns a `Dataset`.

`build_dataset(name, params, model, in_dim)` is the worker's older entry point: regression
data labelled by the checkpoint itself (params n, noise, seed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis_workers.datasets.dataset import Dataset
from analysis_workers.datasets.registry import DatasetKind, build, registry
from analysis_workers.params import validate_params

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["MODEL_TEACHER_SCHEMA", "Dataset", "DatasetKind", "build", "build_dataset", "registry"]

MODEL_TEACHER_SCHEMA: dict[str, dict[str, Any]] = {
    "n": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 2000, "description": "samples"},
    "noise": {
        "type": "number",
        "minimum": 0.0,
        "maximum": 10.0,
        "default": 0.1,
        "description": "label noise σ",
    },
    "seed": registry()["regression"].params_schema["seed"],
}


def build_dataset(
    name: str, params: dict[str, Any], model: nn.Module, in_dim: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, model(x) + noise·ε) for `name == "regression"`: data for which the checkpoint is a true parameter."""
    from analysis_workers.datasets.regression import model_teacher_regression

    if name != "regression":
        raise ValueError(f"unknown dataset {ascii(name)[:40]} for a checkpoint-labelled dataset")
    clean = validate_params(MODEL_TEACHER_SCHEMA, params)
    return model_teacher_regression(model, in_dim=in_dim, **clean).as_tuple()
