"""Architecture specs `{"family": NAME, "config": {...}}`, validated strictly and without torch.

The platform validates a checkpoint's spec at upload without importing torch (an
import-linter contract forbids it) and the worker's zoo builds models from the same
config classes, so both sides agree on what a spec means. A family here is a name, a
frozen config dataclass and a small example; its builder is registered in
`analysis_workers.zoo.builders` (a test checks both registries name the same families).
Most configs are read field by field from their dataclass (`fields.config_from_dict`); a
family whose config is someone else's format (`hf_causal_lm`: a Hugging Face config.json,
kept verbatim) brings its own `read` and `write` instead.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from analysis_workers.specs.configs import DeepLinearConfig, MLPConfig, TransformerConfig
from analysis_workers.specs.errors import CheckpointError
from analysis_workers.specs.fields import MAX_PARAMETERS, check_annotations, config_from_dict, config_to_dict
from analysis_workers.specs.hf import (
    HFArchitecture,
    HFCausalLMConfig,
    hf_architecture,
    read_hf_config,
    write_hf_config,
)
from analysis_workers.specs.memory import check_memory_budget, estimate_job_memory, worker_memory_budget_bytes

_FAMILY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ArchitectureConfig(Protocol):
    def parameter_count(self) -> int: ...


@dataclass(frozen=True)
class SpecFamily:
    """An allowlisted architecture: its name, frozen config dataclass and a small example config.

    `read` and `write`, given together, replace the field-by-field reading of `config_class`:
    `read(raw)` returns a `config_class` instance (CheckpointError if refused) and
    `write(config)` gives back the JSON `read` accepted.
    """

    name: str
    config_class: type[Any]
    example: Mapping[str, Any]
    read: Callable[[object], Any] | None = None
    write: Callable[[Any], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not _FAMILY_NAME.match(self.name):
            raise ValueError(f"family name {self.name!r} must be lower_snake_case, at most 32 characters")
        params = getattr(self.config_class, "__dataclass_params__", None)
        if params is None or not params.frozen or not dataclasses.fields(self.config_class):
            raise ValueError(f"family {self.name}: config_class must be a frozen dataclass with fields")
        if (self.read is None) != (self.write is None):
            raise ValueError(f"family {self.name}: give both read and write, or neither")
        if self.read is None:
            check_annotations(self.config_class)
        self.example_config()

    def config_from_dict(self, raw: object) -> Any:
        """The config, strictly read from JSON and within the parameter cap; CheckpointError otherwise."""
        config: ArchitectureConfig
        if self.read is None:
            config = config_from_dict(self.config_class, raw, family=self.name)
        else:
            config = self.read(raw)
            if not isinstance(config, self.config_class):
                raise TypeError(f"family {self.name}: read returned {type(config).__name__}")
        count = config.parameter_count()
        if count > MAX_PARAMETERS:
            raise CheckpointError(
                f"{self.name} would have {count:,} parameters; the limit is {MAX_PARAMETERS:,}"
            )
        return config

    def config_to_dict(self, config: Any) -> dict[str, Any]:
        return config_to_dict(config) if self.write is None else self.write(config)

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
        # A Hugging Face causal LM, its config.json verbatim; the example is a tiny GPT-2.
        SpecFamily(
            "hf_causal_lm",
            HFCausalLMConfig,
            {
                "model_type": "gpt2",
                "vocab_size": 64,
                "n_positions": 32,
                "n_embd": 32,
                "n_layer": 2,
                "n_head": 4,
                "bos_token_id": 0,
                "eos_token_id": 0,
            },
            read=read_hf_config,
            write=write_hf_config,
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
    "HFArchitecture",
    "HFCausalLMConfig",
    "MLPConfig",
    "SpecFamily",
    "TransformerConfig",
    "check_memory_budget",
    "estimate_job_memory",
    "example_spec",
    "families",
    "family_named",
    "hf_architecture",
    "validate_spec",
    "worker_memory_budget_bytes",
]
