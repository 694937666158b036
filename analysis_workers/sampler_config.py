"""The SGLD sampler's settings as one frozen, validated dataclass, with the one set of defaults.

Symbols (Lau et al. 2023, "Quantifying degeneracy in singular models via the learning
coefficient"): ε = `step_size`, γ = `localization`, nβ = `nbeta` (inverse temperature
times the number of samples n; `None` means n / log n), C = `num_chains`,
T = `num_burnin` + `num_draws` SGLD steps per chain, B = `batch_size`.

`analysis_workers.llc.estimate_llc` (and `calibrate`, `llc_over_checkpoints`) take a
`SamplerConfig`; the kinds registry publishes its defaults as the defaults of the `llc`,
`llc_trajectory` and `essential_dynamics` params, so a notebook and the platform start from
the same numbers. It lives outside `analysis_workers.llc` because it needs no torch: the
registry, which the platform imports, reads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class SamplerConfig:
    """Validated SGLD settings; every bad value raises `ValueError` naming what to change.

    The defaults are also what an analysis requested on the platform runs with unless its
    params say otherwise (the kinds registry publishes them); change them here only.
    """

    num_chains: int = 4
    num_draws: int = 500
    num_burnin: int = 100
    step_size: float = 1e-4
    localization: float = 100.0
    nbeta: float | None = None
    batch_size: int = 256
    seed: int = 0
    check_every: int = 25
    explosion_factor: float = 1e4
    diagnose_steps: bool = False

    def __post_init__(self) -> None:
        _require_int("num_chains", self.num_chains, minimum=1)
        _require_int("num_draws", self.num_draws, minimum=1)
        _require_int("num_burnin", self.num_burnin, minimum=0)
        _require_int("batch_size", self.batch_size, minimum=1)
        _require_int("seed", self.seed, minimum=0)
        _require_int("check_every", self.check_every, minimum=1)
        if not _is_real(self.step_size) or not self.step_size > 0 or not math.isfinite(self.step_size):
            raise ValueError(f"step_size (ε) must be a positive finite number, got {self.step_size!r}")
        if (
            not _is_real(self.localization)
            or not self.localization >= 0
            or not math.isfinite(self.localization)
        ):
            raise ValueError(f"localization (γ) must be a finite number ≥ 0, got {self.localization!r}")
        if self.nbeta is not None and (
            not _is_real(self.nbeta) or not self.nbeta > 0 or not math.isfinite(self.nbeta)
        ):
            raise ValueError(
                f"nbeta must be a positive finite number (or None for n/log n), got {self.nbeta!r}"
            )
        if not _is_real(self.explosion_factor) or not self.explosion_factor > 1:
            raise ValueError(f"explosion_factor must be a number > 1, got {self.explosion_factor!r}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SamplerConfig:
        """The config named by an analysis's validated params (other params of the kind, such
        as `probe_size`, are not the sampler's and are left out); absent settings keep the
        defaults."""
        names = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in params.items() if name in names})

    @property
    def total_steps(self) -> int:
        return self.num_burnin + self.num_draws

    def resolved_nbeta(self, num_samples: int) -> float:
        """nβ: the given value, or n / log n for n = `num_samples` (n ≥ 2)."""
        if self.nbeta is not None:
            return float(self.nbeta)
        return num_samples / math.log(num_samples)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_int(name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
