"""Architecture specs `{"family": NAME, "config": {...}}`, validated strictly and without torch.

The platform validates a checkpoint's spec at upload without importing torch (an
import-linter contract forbids it) and the worker's zoo builds models from the same
config classes, so both sides agree on what a spec means. A family here is a name, a
frozen config dataclass and a small example; its builder is registered in
`analysis_workers.zoo.builders` (a test checks both registries name the same families).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from analysis_workers.specs.configs import DeepLinearConfig, MLPConfig, TransformerConfig
from analysis_workers.specs.errors import CheckpointError
from analysis_workers.specs.fields import MAX_PARAMETERS, check_annotations, config_from_dict, config_to_dict

_FAMILY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ArchitectureConfig(Protocol):
    def parameter_count(self) -> int: ...


@dataclass(frozen=True)
class SpecFamily:
    """An allowlisted architecture: its name, frozen config dataclass and a small example config."""

    name: str
    config_class: type[Any]
    example: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not _FAMILY_NAME.match(self.name):
            raise ValueError(f"family name {self.name!r} must be lower_snake_case, at most 32 characters")
        params = getattr(self.config_class, "__dataclass_params__", None)
        if params is None or not params.frozen or not dataclasses.fields(self.config_class):
            raise ValueError(f"family {self.name}: config_class must be a frozen dataclass with fields")
        check_annotations(self.config_class)
        self.example_config()

    def config_from_dict(self, raw: object) -> Any:
        """The config, strictly read from JSON and within the parameter cap; CheckpointError otherwise."""
        config: ArchitectureConfig = config_from_dict(self.config_class, raw, family=self.name)
        count = config.parameter_count()
        if count > MAX_PARAMETERS:
            raise CheckpointError(
                f"{self.name} would have {count:,} parameters; the limit is {MAX_PARAMETERS:,}"
            )
        return config

    def config_to_dict(self, config: Any) -> dict[str, Any]:
        return config_to_dict(config)

    def example_config(self) -> Any:
        return self.config_from_dict(copy.deepcopy(dict(self.example)))


_REGISTRY: dict[str, SpecFamily] = {
    family.name: family
    for family in (
        SpecFamily("mlp", MLPConfig, {"in_dim": 4, "hidden": [16, 16], "out_dim": 2, "activation": "relu"}),
        SpecFamily("deep_linear", DeepLinearConfig, {"dims": [6, 5, 5, 4]}),
        # The demo's modular-addition model: (a + b) mod 53, tokens a, b, "=" (54 = 53 + "=").
        SpecFamily(
            "transformer",
            TransformerConfig,
            {
                "d_vocab": 54,
                "n_ctx": 3,
                "d_model": 64,
                "n_heads": 4,
                "d_head": 16,
                "d_mlp": 256,
                "n_layers": 1,
                "act_fn": "relu",
                "normalization": None,
                "attn_only": False,
            },
        ),
    )
}


@dataclass(frozen=True)
class ArchitectureSpec:
    """A validated spec: the registered family and its config."""

    family: SpecFamily
    config: Any

    def as_json(self) -> dict[str, Any]:
        return {"family": self.family.name, "config": self.family.config_to_dict(self.config)}


def families() -> list[str]:
    """Names of the registered families, sorted."""
    return sorted(_REGISTRY)


def family_named(name: object) -> SpecFamily:
    """The registered family called `name`; CheckpointError listing the known ones otherwise."""
    family = _REGISTRY.get(name) if isinstance(name, str) else None
    if family is None:
        raise CheckpointError(
            f"unknown architecture family {repr(name)[:40]}; known: {', '.join(families())}"
        )
    return family


def example_spec(family: str) -> dict[str, Any]:
    """A small valid spec of `family` (a fresh dict each call: callers may edit it)."""
    found = family_named(family)
    return {"family": found.name, "config": copy.deepcopy(dict(found.example))}


def validate_spec(spec: object) -> ArchitectureSpec:
    """The spec, strictly checked (family allowlisted, config fields, sizes, parameter cap)."""
    if isinstance(spec, ArchitectureSpec):
        return spec
    if not isinstance(spec, dict) or set(spec) != {"family", "config"}:
        raise CheckpointError('an architecture spec is {"family": NAME, "config": {...}} and nothing else')
    family = family_named(spec["family"])
    return ArchitectureSpec(family, family.config_from_dict(spec["config"]))


__all__ = [
    "MAX_PARAMETERS",
    "ArchitectureSpec",
    "CheckpointError",
    "DeepLinearConfig",
    "MLPConfig",
    "SpecFamily",
    "TransformerConfig",
    "example_spec",
    "families",
    "family_named",
    "validate_spec",
]
