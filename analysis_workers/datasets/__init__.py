"""Built-in datasets, generated deterministically from their params (every draw from one seeded
`torch.Generator`): `registry()` lists them with their params schema (plain JSON, torch-free),
`build(name, params)` validates the params and returns a `Dataset`, and
`build_for_model(name, params, model=…, in_dim=…)` builds one labelled by the checkpoint itself
("regression": (x, model(x) + noise·ε), what the worker uses on mlp and deep_linear checkpoints).
The schema the platform publishes and validates is the registry's, for every dataset alike.
`regression.linear_teacher_regression` (a linear teacher, optionally on a subspace) is a library
generator for notebooks and benchmarks; no analysis kind takes it, so it is not registered.
"""

from __future__ import annotations

from analysis_workers.datasets.dataset import Dataset
from analysis_workers.datasets.registry import DatasetKind, build, build_for_model, registry

__all__ = ["Dataset", "DatasetKind", "build", "build_for_model", "registry"]
