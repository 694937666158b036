"""Aoyagi's deep-linear-network λ against the reduced-rank-regression closed form, and edge cases."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from analysis_workers.llc.synthetic import deep_linear_at_rank
from analysis_workers.llc.theory import (
    deep_linear_lambda,
    deep_linear_parameter_count,
    free_layer_lambda,
    reduced_rank_regression_lambda,
    regular_lambda,
)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9), st.data())
def test_two_layer_networks_match_aoyagi_and_watanabe_2005(
    m: int, h: int, n: int, data: st.DataObject
) -> None:
    rank = data.draw(st.integers(0, min(m, h, n)))
    assert deep_linear_lambda([m, h, n], rank) == pytest.approx(reduced_rank_regression_lambda(m, h, n, rank))


@given(st.lists(st.integers(1, 8), min_size=2, max_size=6), st.data())
def test_lambda_lies_between_zero_and_half_the_parameter_count(
    widths: list[int], data: st.DataObject
) -> None:
    rank = data.draw(st.integers(0, min(widths)))
    value = deep_linear_lambda(widths, rank)
    assert 0 <= value <= deep_linear_parameter_count(widths) / 2 + 1e-9


def test_one_layer_is_regular_and_known_values() -> None:
    assert deep_linear_lambda([10, 4], 4) == regular_lambda(40) == 20
    assert deep_linear_lambda([10, 4], 2) == 20  # one layer: every point is regular
    assert deep_linear_lambda([5, 5, 5, 5], 1) == 10
    assert deep_linear_lambda([10, 10, 10, 10], 5) == 46
    assert free_layer_lambda(3, 3) == 4.5


@pytest.mark.parametrize(("widths", "rank"), [([3], 1), ([3, 0], 0), ([3, 4], 5), ([3, 4], -1)])
def test_impossible_networks_are_refused(widths: list[int], rank: int) -> None:
    with pytest.raises(ValueError):
        deep_linear_lambda(widths, rank)


def test_synthetic_network_has_every_layer_of_the_requested_rank() -> None:
    model = deep_linear_at_rank([7, 6, 5, 4], 3, generator=torch.Generator().manual_seed(0))
    ranks = [int(torch.linalg.matrix_rank(layer.weight.double(), atol=1e-4)) for layer in model]
    assert ranks == [3, 3, 3]
    weights = [layer.weight for layer in model if isinstance(layer, torch.nn.Linear)]
    product = weights[2] @ weights[1] @ weights[0]
    assert int(torch.linalg.matrix_rank(product.double(), atol=1e-4)) == 3
