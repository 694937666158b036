"""The verdict on λ̂: each check fires on its own, and planted bad runs through the `llc` and
`llc_trajectory` runners come back marked unreliable, with the diagnostic, value, threshold and advice."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch

from analysis_workers import datasets, zoo
from analysis_workers.kinds import validate_params
from analysis_workers.llc.reliability import RHAT_LIMIT, TREND_LIMIT, judge, judge_divergence
from analysis_workers.runners import llc
from analysis_workers.runners.inputs import JobInputs
from analysis_workers.specs import validate_spec

SPEC = {"family": "deep_linear", "config": {"dims": [3, 2]}}  # regular: λ = d/2 = 3 at the teacher
HEALTHY = {"num_draws": 1000, "num_burnin": 100, "step_size": 3e-4, "localization": 10.0}


def _diagnostics(**changes: Any) -> dict[str, Any]:
    clean = {
        "r_hat": 1.01,
        "trend_z": 0.5,
        "sampled_parameters": 6,
        "init_grad_norm": 0.0,
        "nbeta": 263.0,
        "sampler": {"localization": 10.0},
    }
    return {**clean, **changes}


def test_a_clean_estimate_is_reliable() -> None:
    verdict = judge(2.9, _diagnostics())
    assert verdict.reliable and verdict.as_json() == {"reliable": True, "reasons": []}


@pytest.mark.parametrize(
    ("mean", "changes", "diagnostic"),
    [
        (2.9, {"r_hat": 1.3}, "r_hat"),
        (2.9, {"r_hat": math.nan}, "r_hat"),  # too few draws to tell is not "fine"
        (2.9, {"trend_z": 6.0}, "trend"),
        (2.9, {"trend_z": -6.0}, "trend"),
        (-1.0, {}, "negative"),
        (4.0, {}, "ceiling"),
        (2.9, {"init_grad_norm": 0.05}, "gradient"),
    ],
)
def test_each_failed_check_is_one_reason_with_value_threshold_and_advice(
    mean: float, changes: dict[str, Any], diagnostic: str
) -> None:
    verdict = judge(mean, _diagnostics(**changes))
    assert not verdict.reliable
    assert [reason.diagnostic for reason in verdict.reasons] == [diagnostic]
    reason = verdict.as_json()["reasons"][0]
    assert set(reason) == {"diagnostic", "value", "threshold", "message", "advice"} and reason["advice"]
    json.dumps(verdict.as_json(), allow_nan=False)


def test_the_thresholds_are_the_documented_ones() -> None:
    assert judge(1.0, _diagnostics(r_hat=RHAT_LIMIT)).reliable
    assert not judge(1.0, _diagnostics(r_hat=RHAT_LIMIT + 1e-3)).reliable
    assert judge(1.0, _diagnostics(trend_z=-TREND_LIMIT)).reliable
    downhill = judge(1.0, _diagnostics(trend_z=-TREND_LIMIT - 0.1)).reasons[0]
    assert "not at a local minimum" in downhill.advice  # falling: w* is not a minimum
    uphill = judge(1.0, _diagnostics(trend_z=TREND_LIMIT + 0.1)).reasons[0]
    assert "num_burnin" in uphill.advice  # climbing: the burn-in was too short
    assert judge_divergence("chain 0 diverged at draw 3").reasons[0].diagnostic == "divergences"


@pytest.fixture(scope="module")
def problem() -> tuple[torch.nn.Module, torch.nn.Module, datasets.Dataset]:
    """A teacher (w* at the minimum of its own noiseless data) and another model on that data."""
    teacher = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    stranger = zoo.build(SPEC, generator=torch.Generator().manual_seed(1))
    data = datasets.build_for_model("regression", {"n": 2000, "noise": 0.0}, model=teacher, in_dim=3)
    return teacher, stranger, data


def _inputs(
    kind: str, models: list[torch.nn.Module], data: datasets.Dataset, params: dict[str, Any]
) -> JobInputs:
    labels = [str(1000 * index) for index in range(len(models))]
    return JobInputs(validate_spec(SPEC), models, labels, data, validate_params(kind, params), lambda f: None)


def test_a_healthy_run_is_reliable_and_names_its_mcse_and_between_chain_std(problem) -> None:
    teacher, _, data = problem
    metrics = llc.run(_inputs("llc", [teacher], data, HEALTHY)).metrics
    assert metrics["reliability"] == {"reliable": True, "reasons": []}
    assert metrics["llc_mean"] == pytest.approx(3.0, rel=0.2)
    assert 0 < metrics["llc_mcse"] < metrics["llc_mean"] and metrics["llc_between_chain_std"] > 0
    assert metrics["sampler"]["step_size"] == 3e-4 and metrics["sampler"]["num_chains"] == 4
    assert metrics["diagnostics"]["divergences"] == 0 and "sampler" not in metrics["diagnostics"]


def test_a_step_size_far_too_large_is_an_unreliable_result_not_a_failure(problem) -> None:
    teacher, _, data = problem
    report = llc.run(_inputs("llc", [teacher], data, {**HEALTHY, "step_size": 0.5}))
    verdict = report.metrics["reliability"]
    assert not verdict["reliable"] and [r["diagnostic"] for r in verdict["reasons"]] == ["divergences"]
    assert "lower step_size" in verdict["reasons"][0]["advice"] and report.metrics["llc_mean"] is None
    title = report.figures["loss_trace"].axes[0].get_title()
    assert (
        title.startswith("UNRELIABLE") and report.figures["loss_trace"].axes[0].lines
    )  # the traces up to it
    json.dumps(report.metrics, allow_nan=False)


def test_w_star_away_from_a_minimum_is_unreliable(problem) -> None:
    _, stranger, data = problem
    report = llc.run(_inputs("llc", [stranger], data, {**HEALTHY, "num_draws": 200}))
    verdict = report.metrics["reliability"]
    failed = {reason["diagnostic"] for reason in verdict["reasons"]}
    assert (
        not verdict["reliable"]
        and "gradient" in failed
        and failed <= {"gradient", "negative", "trend", "r_hat"}
    )
    assert report.figures["loss_trace"].axes[0].get_title().startswith("UNRELIABLE")


def test_a_trajectory_marks_its_unreliable_checkpoint_and_keeps_its_raw_estimate(problem) -> None:
    teacher, stranger, data = problem
    report = llc.run_trajectory(_inputs("llc_trajectory", [teacher, stranger], data, HEALTHY))
    good, bad = report.metrics["checkpoints"]
    assert good["reliability"]["reliable"] and good["llc"] == good["llc_estimate"]
    assert good["r_hat"] <= RHAT_LIMIT and good["llc_mcse"] > 0
    assert not bad["reliability"]["reliable"] and bad["llc"] is None and bad["llc_estimate"] is not None
    series = report.metrics["reliability"]
    assert not series["reliable"] and {r["checkpoint"] for r in series["reasons"]} == {"1000"}
    ax = report.figures["llc_trajectory"].axes[0]
    assert ax.get_xlabel() == "training step (series position)"
    assert "unreliable estimate (see reasons)" in ax.get_legend_handles_labels()[1]
