"""Built-in datasets, generated deterministically from their params (every draw from one seeded
`torch.Generator`): `registry()` lists them with their params schema (plain JSON, torch-free),
`build(name, params)` validates the params and returns a `Dataset`.

`model_teacher(model, in_dim=..., params=...)` is regression labelled by the checkpoint itself
(params n, noise, seed): what the worker uses for "regression" on mlp and deep_linear checkpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis_workers.datasets.dataset import Dataset
from analysis_workers.datasets.registry import DatasetKind, build, registry
from analysis_workers.params import validate_params

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MODEL_TEACHER_SCHEMA", "Dataset", "DatasetKind", "build", "model_teacher", "registry"]

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


def model_teacher(model: nn.Module, *, in_dim: int, params: object) -> Dataset:
    """Regression labelled by the checkpoint itself, (x, model(x) + noise·ε): data for which the
    checkpoint is a true parameter, as the LLC assumes. `params` are checked against
    `MODEL_TEACHER_SCHEMA` (n, noise, seed)."""
    from analysis_workers.datasets.regression import model_teacher_regression

    clean = validate_params(MODEL_TEACHER_SCHEMA, params)
    return model_teacher_regression(model, in_dim=in_dim, **clean)
