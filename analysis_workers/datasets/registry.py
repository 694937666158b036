"""The registry of built-in datasets: name, title, params schema and (lazily imported) builder.

Importable without torch: the platform renders its dataset form from `registry()` and
validates requests with the same schema; only `build` (on the worker) imports the
generator modules and torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from analysis_workers.datasets.dataset import Dataset
from analysis_workers.params import check_schema, validate_params

SEED = {
    "type": "integer",
    "minimum": 0,
    "maximum": 2**31 - 1,
    "default": 0,
    "description": "seed of the torch.Generator every random draw comes from",
}


@dataclass(frozen=True)
class DatasetKind:
    """A built-in dataset: `builder` is "module:function", called with the validated params as keywords."""

    name: str
    title: str
    description: str
    params_schema: dict[str, dict[str, Any]]
    builder: str
    # built on the worker from the checkpoint itself (its labels are the model's outputs), with
    # `build_for_model`; the platform validates its params exactly like any other dataset's
    labelled_by_model: bool = False
    # what one example is: "tokens" (token ids for a language model) or "vectors" (an input of
    # the model's width); published so a client can pick a checkpoint family that takes it
    takes: str = "tokens"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params_schema": self.params_schema,
            "labelled_by_model": self.labelled_by_model,
            "takes": self.takes,
        }


_KINDS = (
    DatasetKind(
        name="regression",
        title="Regression labelled by the checkpoint",
        description="x ~ N(0, I) of the model's input size, y = model(x) + noise·ε: data for which the "
        "checkpoint is a true parameter, as the LLC assumes (mlp and deep_linear checkpoints)",
        params_schema={
            "n": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1_000_000,
                "default": 2000,
                "description": "samples",
            },
            "noise": {
                "type": "number",
                "minimum": 0.0,
                "maximum": 10.0,
                "default": 0.1,
                "description": "label noise σ",
            },
            "seed": SEED,
        },
        builder="analysis_workers.datasets.regression:model_teacher_regression",
        labelled_by_model=True,
        takes="vectors",
    ),
    DatasetKind(
        name="modular_addition",
        title="Modular addition (a + b mod p)",
        description="all p² pairs as tokens [a, b, =] with '=' = p, target (a + b) mod p; random train/test split",
        params_schema={
            "p": {
                "type": "integer",
                "minimum": 2,
                "maximum": 1000,
                "default": 113,
                "description": "the modulus (Nanda et al. 2023 use the prime 113)",
            },
            "train_fraction": {
                "type": "number",
                "minimum": 0.0,
                "maximum": 1.0,
                "default": 0.3,
                "description": "fraction of the pairs in the training split",
            },
            "seed": SEED,
        },
        builder="analysis_workers.datasets.modular_addition:modular_addition",
    ),
    DatasetKind(
        name="induction_sequences",
        title="Repeated random sequences (induction)",
        description="distinct random tokens repeated with a random period per sequence; mask of positions "
        "where the next token follows by induction",
        params_schema={
            "n": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100_000,
                "default": 1000,
                "description": "number of sequences",
            },
            "vocab_size": {
                "type": "integer",
                "minimum": 2,
                "maximum": 65_536,
                "default": 64,
                "description": "number of token ids",
            },
            "seq_len": {
                "type": "integer",
                "minimum": 3,
                "maximum": 4096,
                "default": 32,
                "description": "tokens per sequence",
            },
            "min_period": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 4,
                "description": "shortest repeat period",
            },
            "max_period": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4096,
                "default": 10,
                "description": "longest repeat period (≤ vocab_size, < seq_len − 1)",
            },
            "seed": SEED,
        },
        builder="analysis_workers.datasets.induction:induction_sequences",
    ),
)

for _kind in _KINDS:
    check_schema(_kind.params_schema)


def registry() -> dict[str, DatasetKind]:
    """name → DatasetKind of every built-in dataset."""
    return {kind.name: kind for kind in _KINDS}


def build(name: str, params: object) -> Dataset:
    """The dataset `name` with `params` (defaults filled); ValueError naming the param if they are bad."""
    kind = _known(name)
    if kind.labelled_by_model:
        raise ValueError(f"dataset {name!r} is labelled by the checkpoint: build it with build_for_model")
    clean = validate_params(kind.params_schema, params)
    dataset: Dataset = _builder(kind)(**clean)
    return dataset


def build_for_model(name: str, params: object, *, model: Any, in_dim: int) -> Dataset:
    """A dataset labelled by `model` (`labelled_by_model`), with `params` checked like any other."""
    kind = _known(name)
    if not kind.labelled_by_model:
        return build(name, params)
    clean = validate_params(kind.params_schema, params)
    dataset: Dataset = _builder(kind)(model, in_dim=in_dim, **clean)
    return dataset


def _known(name: str) -> DatasetKind:
    kind = registry().get(name)
    if kind is None:
        raise ValueError(f"unknown dataset {ascii(name)[:40]}; known: {', '.join(sorted(registry()))}")
    return kind


def _builder(kind: DatasetKind) -> Any:
    module_name, function_name = kind.builder.split(":")
    return getattr(importlib.import_module(module_name), function_name)
