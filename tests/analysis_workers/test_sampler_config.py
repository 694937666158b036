"""One set of sampler defaults: the kinds registry publishes `SamplerConfig`'s, and the worker
rebuilds the same config from the validated params."""

from __future__ import annotations

from typing import Any

import pytest

from analysis_workers.kinds import registry, validate_params
from analysis_workers.sampler_config import SamplerConfig


def _published_defaults(kind: str) -> dict[str, Any]:
    return {name: rule["default"] for name, rule in registry()[kind].params_schema.items()}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("llc", SamplerConfig()),
        ("llc_trajectory", SamplerConfig()),
        ("essential_dynamics", SamplerConfig(num_draws=100)),
    ],
)
def test_the_sampling_kinds_publish_the_sampler_config_defaults(kind: str, expected: SamplerConfig) -> None:
    assert SamplerConfig.from_params(_published_defaults(kind)) == expected


def test_validated_default_params_rebuild_the_default_config() -> None:
    """What the worker does with a request that names no setting: the library's defaults."""
    assert SamplerConfig.from_params(validate_params("llc", {})) == SamplerConfig()


def test_from_params_keeps_a_kinds_own_params_out_and_still_validates() -> None:
    config = SamplerConfig.from_params({"num_draws": 30, "probe_size": 256, "components": 3})
    assert config == SamplerConfig(num_draws=30)
    with pytest.raises(ValueError, match="num_chains"):
        SamplerConfig.from_params({"num_chains": 0})
