"""Calibration recommends a sane setting and plots; trajectories flag points that are not minima."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from analysis_workers.llc import CheckpointLLC, calibrate, llc_over_checkpoints
from analysis_workers.sampler_config import SamplerConfig


def sse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((outputs - targets) ** 2).sum(-1).mean()


@pytest.fixture(scope="module")
def regular() -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """Linear(3→2) at its noiseless optimum: λ = 3."""
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False))
    x = torch.randn(2000, 3, generator=g)
    return model, (x, model(x).detach())


def test_calibration_rejects_diverging_steps_and_recommends_a_healthy_one(regular) -> None:
    model, data = regular
    result = calibrate(
        model, data, sse, [1e-5, 1e-4, 1.0], [10.0], SamplerConfig(num_chains=2, num_draws=200, num_burnin=50)
    )
    by_step = {row.step_size: row for row in result.rows}
    assert by_step[1.0].note == "diverged" and not by_step[1.0].healthy
    assert result.step_size in (1e-5, 1e-4) and result.localization == 10.0
    assert result.recommended() == {"step_size": result.step_size, "localization": 10.0}
    chosen = by_step[result.step_size]
    assert chosen.accepted and chosen.llc == pytest.approx(3.0, rel=0.3)
    assert isinstance(result.figure, Figure) and len(result.figure.axes) == 2


def test_calibration_without_a_healthy_setting_recommends_nothing(regular) -> None:
    model, data = regular
    result = calibrate(
        model, data, sse, [1.0], [1.0], SamplerConfig(num_chains=2, num_draws=50, num_burnin=12)
    )
    assert result.step_size is None
    with pytest.raises(ValueError, match="no setting is recommended"):
        result.recommended()
    with pytest.raises(ValueError, match="step_size is set by calibrate"):
        calibrate(model, data, sse, [1e-4], [1.0], SamplerConfig(step_size=1e-3))


def test_a_checkpoint_on_a_slope_is_flagged_and_gets_no_value(regular) -> None:
    model, data = regular
    at_minimum = {k: v.clone() for k, v in model.state_dict().items()}
    on_slope = {k: v + 0.5 for k, v in at_minimum.items()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # long enough chains that the good checkpoint's R-hat passes (≈ 1.01; 2 × 200 draws give ≈ 1.06)
    settings = SamplerConfig(num_chains=4, num_draws=1000, num_burnin=100, step_size=3e-4, localization=10.0)
    seen: list[float] = []
    results = llc_over_checkpoints(model, [at_minimum, on_slope], data, sse, settings, progress=seen.append)
    assert [type(r) for r in results] == [CheckpointLLC, CheckpointLLC]
    good, bad = results
    assert not good.flagged and good.verdict.reliable and good.llc == pytest.approx(3.0, rel=0.3)
    assert bad.flagged and bad.llc is None and any(reason.startswith("gradient") for reason in bad.reasons)
    assert bad.estimate is not None and "gradient" in {reason.diagnostic for reason in bad.verdict.reasons}
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_state_dict_that_does_not_fit_is_refused(regular) -> None:
    model, data = regular
    with pytest.raises(ValueError, match="checkpoint 0 does not fit"):
        llc_over_checkpoints(model, [{"0.weight": torch.zeros(5, 5)}], data, sse)
    with pytest.raises(ValueError, match="at least one"):
        llc_over_checkpoints(model, [], data, sse)
