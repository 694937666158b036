"""The accuracy suite: estimated λ̂ against the known λ of regular models and deep linear networks.

Each case is a bias-free linear network with widths H_1 … H_{L+1} at a point w* whose layers
all have rank r (`synthetic.deep_linear_at_rank`), n = 10 000 noiseless samples x ~ N(0, I),
y = f(x; w*), and the loss ℓ = ‖f(x; w) − y‖² (summed over outputs, averaged over rows). One layer
is a regular model (λ = d/2); deeper ones use Aoyagi's formula (`theory.deep_linear_lambda`).
`HAND_SETTINGS` are the documented hyperparameters (those devinterp's accuracy tests use);
`calibrated_row` lets `calibrate` choose ε and γ from the `CALIBRATION_*` grid instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from analysis_workers.llc.calibration import CALIBRATION_SWEEP, calibrate
from analysis_workers.llc.sampler import estimate_llc
from analysis_workers.llc.synthetic import deep_linear_at_rank, regression_data
from analysis_workers.llc.theory import deep_linear_lambda
from analysis_workers.sampler_config import SamplerConfig

NUM_SAMPLES = 10_000

HAND_SETTINGS = SamplerConfig(
    num_chains=4, num_draws=2000, num_burnin=1000, step_size=5e-5, localization=10.0, batch_size=256
)

# The grid `calibrate` sweeps, each point a short run of its `CALIBRATION_SWEEP`.
CALIBRATION_STEP_SIZES = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4)
CALIBRATION_LOCALIZATIONS = (1.0, 10.0, 100.0)


@dataclass(frozen=True)
class ValidationCase:
    widths: tuple[int, ...]
    rank: int

    @property
    def true_lambda(self) -> float:
        return deep_linear_lambda(self.widths, self.rank)

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.widths))} r={self.rank}"


SUITE: tuple[ValidationCase, ...] = (
    ValidationCase((6, 3), 3),
    ValidationCase((10, 4), 4),
    ValidationCase((5, 5, 5), 5),
    ValidationCase((6, 6, 6), 3),
    ValidationCase((8, 6, 4), 2),
    ValidationCase((12, 8, 4), 4),
    ValidationCase((10, 8, 8, 6), 4),
    ValidationCase((3, 10, 10, 3), 2),
    ValidationCase((10, 10, 10, 10), 5),
    ValidationCase((5, 5, 5, 5), 1),
    ValidationCase((4, 8, 8, 8, 4), 2),
    ValidationCase((6, 6, 6, 6, 6), 3),
)


@dataclass(frozen=True)
class ValidationRow:
    case: ValidationCase
    estimate: float
    mcse: float
    r_hat: float
    step_size: float
    localization: float
    seconds: float

    @property
    def relative_error(self) -> float:
        return (self.estimate - self.case.true_lambda) / self.case.true_lambda


def squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ℓ averaged over rows of ‖outputs − targets‖² summed over output units."""
    return ((outputs - targets) ** 2).sum(dim=-1).mean()


def problem(
    case: ValidationCase, *, seed: int = 1
) -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    model = deep_linear_at_rank(case.widths, case.rank, generator=generator)
    data = regression_data(model, NUM_SAMPLES, case.widths[0], generator=generator)
    return model, data


def hand_tuned_row(case: ValidationCase, *, seed: int = 2, device: str = "cpu") -> ValidationRow:
    model, data = problem(case)
    start = time.perf_counter()
    estimate = estimate_llc(
        model, data, squared_error, replace(HAND_SETTINGS, seed=seed), device=device, emit_warnings=False
    )
    return ValidationRow(
        case,
        estimate.mean,
        estimate.diagnostics["mcse"],
        estimate.diagnostics["r_hat"],
        HAND_SETTINGS.step_size,
        HAND_SETTINGS.localization,
        time.perf_counter() - start,
    )


def calibrated_row(case: ValidationCase, *, seed: int = 2, device: str = "cpu") -> ValidationRow:
    model, data = problem(case)
    start = time.perf_counter()
    result = calibrate(
        model,
        data,
        squared_error,
        CALIBRATION_STEP_SIZES,
        CALIBRATION_LOCALIZATIONS,
        replace(CALIBRATION_SWEEP, seed=seed + 1),
        device=device,
    )
    chosen = result.recommended()
    settings = replace(
        HAND_SETTINGS, seed=seed, step_size=chosen["step_size"], localization=chosen["localization"]
    )
    estimate = estimate_llc(model, data, squared_error, settings, device=device, emit_warnings=False)
    return ValidationRow(
        case,
        estimate.mean,
        estimate.diagnostics["mcse"],
        estimate.diagnostics["r_hat"],
        chosen["step_size"],
        chosen["localization"],
        time.perf_counter() - start,
    )
