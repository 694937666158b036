"""The same estimator on CUDA: deterministic for a seed on the device, and in agreement with the CPU.

Marked `gpu`: skipped where no GPU is visible (CI has none); run on a GPU machine with
`python -m pytest -m gpu tests/analysis_workers/llc`.
"""

from __future__ import annotations

import pytest
import torch

from analysis_workers.llc import estimate_llc
from analysis_workers.llc.synthetic import deep_linear_at_rank, regression_data
from analysis_workers.sampler_config import SamplerConfig

pytestmark = pytest.mark.gpu


def _problem() -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    model = deep_linear_at_rank((10, 8, 8, 6), 4, generator=generator)
    return model, regression_data(model, 4000, 10, generator=generator)


def _sse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).sum(dim=-1).mean()


SETTINGS = SamplerConfig(
    num_chains=8, num_draws=600, num_burnin=200, step_size=5e-5, localization=10.0, batch_size=256, seed=3
)


def test_cuda_is_deterministic_for_a_seed_and_agrees_with_the_cpu() -> None:
    model, data = _problem()
    first = estimate_llc(model, data, _sse, SETTINGS, device="cuda", emit_warnings=False)
    second = estimate_llc(model, data, _sse, SETTINGS, device="cuda", emit_warnings=False)
    assert first.per_chain == second.per_chain
    cpu = estimate_llc(model, data, _sse, SETTINGS, device="cpu", emit_warnings=False)
    # different random streams on the two devices: agreement within the Monte Carlo error
    tolerance = 4 * (first.diagnostics["mcse"] + cpu.diagnostics["mcse"]) + 0.05 * abs(cpu.mean)
    assert abs(first.mean - cpu.mean) < tolerance, (first.mean, cpu.mean)
