"""Slow accuracy checks against known learning coefficients (tables in docs/llc-validation.md)."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest
import torch

from analysis_workers.llc import estimate_llc
from analysis_workers.llc.synthetic import deep_linear_at_rank, regression_data
from analysis_workers.llc.theory import free_layer_lambda, regular_lambda
from analysis_workers.llc.validation import (
    HAND_SETTINGS,
    SUITE,
    calibrated_row,
    hand_tuned_row,
    squared_error,
)

pytestmark = pytest.mark.slow


def test_hand_tuned_suite_is_within_five_percent_on_average() -> None:
    rows = [hand_tuned_row(case) for case in SUITE]
    assert statistics.fmean(abs(row.relative_error) for row in rows) <= 0.05
    assert all(row.r_hat < 1.1 for row in rows)


def test_calibrated_settings_are_within_ten_percent_on_average() -> None:
    rows = [calibrated_row(case) for case in SUITE[::3]]
    assert statistics.fmean(abs(row.relative_error) for row in rows) <= 0.10


@pytest.mark.parametrize(
    ("free_layer", "expected"), [(1, free_layer_lambda(3, 3)), (0, free_layer_lambda(3, 6))]
)
def test_one_free_layer_of_a_deep_linear_network_has_rank_a_times_rank_b_over_two(
    free_layer: int, expected: float
) -> None:
    generator = torch.Generator().manual_seed(4)
    model = deep_linear_at_rank((6, 6, 6, 6), 3, generator=generator)
    data = regression_data(model, 10_000, 6, generator=generator)
    estimate = estimate_llc(
        model,
        data,
        squared_error,
        replace(HAND_SETTINGS, seed=1),
        restrict_to=[f"{free_layer}.weight"],
        emit_warnings=False,
    )
    assert estimate.diagnostics["sampled_parameters"] == 36
    assert estimate.mean == pytest.approx(expected, rel=0.08)


def test_regression_on_a_three_dimensional_input_subspace_has_lambda_six() -> None:
    generator = torch.Generator().manual_seed(5)
    model = deep_linear_at_rank((10, 4), 4, generator=generator)
    basis, _ = torch.linalg.qr(torch.randn(10, 3, generator=generator))
    full = regression_data(model, 10_000, 10, generator=generator)
    confined = regression_data(model, 10_000, 10, generator=generator, input_basis=basis)
    both = (torch.cat([full[0], confined[0]]), torch.cat([full[1], confined[1]]))
    whole = estimate_llc(
        model,
        both,
        squared_error,
        replace(HAND_SETTINGS, seed=1),
        data_subset=torch.arange(10_000),
        emit_warnings=False,
    )
    subset = estimate_llc(
        model,
        both,
        squared_error,
        replace(HAND_SETTINGS, seed=1),
        data_subset=torch.arange(10_000, 20_000),
        emit_warnings=False,
    )
    assert whole.mean == pytest.approx(regular_lambda(40), rel=0.08)
    assert subset.mean == pytest.approx(6.0, rel=0.08)
