"""Split R-hat, ESS, MCSE and the trend statistic on traces with known properties."""

from __future__ import annotations

import math

import pytest
import torch

from analysis_workers.llc.diagnostics import effective_sample_size, mcse, split_rhat, trend_z


def ar1(chains: int, draws: int, phi: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(chains, draws, generator=g, dtype=torch.float64)
    trace = torch.empty_like(noise)
    trace[:, 0] = noise[:, 0] / math.sqrt(1 - phi**2)
    for t in range(1, draws):
        trace[:, t] = phi * trace[:, t - 1] + noise[:, t]
    return trace


def test_independent_draws_have_ess_near_their_count_and_rhat_near_one() -> None:
    trace = torch.randn(4, 2000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert effective_sample_size(trace) == pytest.approx(8000, rel=0.15)
    assert split_rhat(trace) < 1.01
    assert mcse(trace) == pytest.approx(1 / math.sqrt(8000), rel=0.15)


def test_autocorrelated_draws_have_the_ar1_ess() -> None:
    phi = 0.8
    trace = ar1(4, 20000, phi, seed=1)
    expected = 80000 * (1 - phi) / (1 + phi)  # ESS of an AR(1) chain
    assert effective_sample_size(trace) == pytest.approx(expected, rel=0.15)


def test_chains_around_different_means_give_a_large_rhat() -> None:
    trace = torch.randn(4, 500, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    trace[0] += 3.0
    assert split_rhat(trace) > 1.2


def test_a_drifting_trace_has_a_large_trend_statistic_and_a_flat_one_does_not() -> None:
    flat = ar1(4, 1000, 0.5, seed=3)
    drifting = flat + torch.linspace(0, 3, 1000, dtype=torch.float64)
    assert abs(trend_z(flat)) < 4
    assert trend_z(drifting) > 4 and trend_z(-drifting) < -4
