"""Choose the step size ε and localisation γ by a short sweep, and plot it.

Every (ε, γ) pair of the grid gets a short `estimate_llc` run (same seed, data and nβ). A
setting is **healthy** when all of these hold:

1. no chain diverged;
2. λ̂ > 0;
3. λ̂ ≤ 1.1 · d/2, d the sampled weights (no local minimum has λ above d/2,
   Watanabe 2009; above it the step is too large or w* is no minimum);
4. split R-hat ≤ 1.1 and |trend z| ≤ 4 (see `diagnostics.py`): the chains agree and settled.

**Discretisation bias.** For a quadratic loss with curvature a (in units of nβ L), SGLD's
stationary variance is the exact posterior's times 1 / (1 − εa/4), so λ̂ is inflated by about
εa/4 relative. At equilibrium the drift term has norm ≈ (ε/2)√(a d) and the noise ≈ √(ε d), so
their ratio ρ = ‖(ε/2) nβ ∇L_B‖ / ‖η‖ ≈ ½√(εa) and the relative bias ≈ ρ² (minibatch gradient
noise enters ρ as well, and biases λ̂ the same way). ρ is measured on every run
(`diagnose_steps=True`).

**Localisation bias.** In the same quadratic picture the localised posterior has precision
a + γ instead of a, so λ̂ shrinks by about γ/a relative; the measured ratio
κ = ‖(ε/2) γ (w − w*)‖ / ‖(ε/2) nβ ∇L_B‖ ≈ γ/a estimates it.

A setting is **accepted** when it is healthy, ρ² ≤ `max_bias` and κ ≤ 2 · `max_bias` (κ is
inflated by the flat directions of singular models, where it costs no bias).

**Recommendation**: the largest γ that has an accepted setting, and its largest accepted ε.
The strongest localisation within the bias budget keeps chains from wandering along flat
directions of a singular minimum (where curvature, and so discretisation bias, changes); the
largest ε mixes fastest (a small ε mixes slowly, and a run of fixed length then underestimates
λ̂). Without an accepted setting, the healthy setting with the smallest ρ is returned and the
reason says so; with no healthy setting there is no recommendation.

The figure is drawn on the Agg canvas directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from analysis_workers.llc.chains import LossFn
from analysis_workers.llc.sampler import LLCDivergenceError, LLCEstimate, Progress, estimate_llc
from analysis_workers.sampler_config import SamplerConfig

RHAT_LIMIT = 1.1
CEILING_SLACK = 1.1
TREND_LIMIT = 4.0
# Each grid point's short run: the sampler's defaults with shorter chains (burn-in a quarter).
CALIBRATION_SWEEP = SamplerConfig(num_draws=400, num_burnin=100)


@dataclass(frozen=True)
class CalibrationRow:
    """One grid point; the numbers are NaN when the run diverged."""

    step_size: float
    localization: float
    llc: float
    mcse: float
    r_hat: float
    trend_z: float
    drift_to_noise: float
    localization_to_drift: float
    healthy: bool
    accepted: bool
    note: str


@dataclass(frozen=True)
class CalibrationResult:
    """The sweep, the recommended (ε, γ) or None, why, and the figure."""

    rows: tuple[CalibrationRow, ...]
    step_size: float | None
    localization: float | None
    reason: str
    figure: Figure

    def recommended(self) -> dict[str, float]:
        """`{"step_size": ε, "localization": γ}`: the two settings to run `estimate_llc` with."""
        if self.step_size is None or self.localization is None:
            raise ValueError(f"no setting is recommended: {self.reason}")
        return {"step_size": self.step_size, "localization": self.localization}


def calibrate(
    model: nn.Module,
    data: Any,
    loss_fn: LossFn,
    step_sizes: Sequence[float],
    localizations: Sequence[float],
    config: SamplerConfig = CALIBRATION_SWEEP,
    *,
    device: str | torch.device = "cpu",
    restrict_to: Sequence[str] | None = None,
    weight_masks: Mapping[str, torch.Tensor] | None = None,
    data_subset: torch.Tensor | Sequence[int] | None = None,
    max_bias: float = 0.025,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Sweep ε × γ with short runs and recommend a setting (criteria in the module docstring).

    `config` sets each short run (chains, draws, burn-in, nβ, batch size, seed, …;
    `CALIBRATION_SWEEP` by default); the grid sets its ε and γ, so `config` leaves those at
    their defaults. `device`, `restrict_to`, `weight_masks` and `data_subset` are passed on
    to `estimate_llc`.
    """
    steps = sorted({float(s) for s in step_sizes})
    gammas = sorted({float(g) for g in localizations})
    if not steps or not gammas:
        raise ValueError("give at least one step size and one localization")
    if not 0 < max_bias < 1:
        raise ValueError(f"max_bias must lie in (0, 1), got {max_bias}")
    defaults = SamplerConfig()
    for reserved in ("step_size", "localization"):
        if getattr(config, reserved) != getattr(defaults, reserved):
            raise ValueError(f"{reserved} is set by calibrate; leave it at its default in config")
    rows: list[CalibrationRow] = []
    estimates: dict[tuple[float, float], LLCEstimate] = {}
    total = len(steps) * len(gammas)
    for g_index, gamma in enumerate(gammas):
        for s_index, step in enumerate(steps):
            done = g_index * len(steps) + s_index

            def report(fraction: float, done: int = done) -> None:
                if progress is not None:
                    progress((done + fraction) / total)

            try:
                estimate = estimate_llc(
                    model,
                    data,
                    loss_fn,
                    replace(config, step_size=step, localization=gamma, diagnose_steps=True),
                    device=device,
                    restrict_to=restrict_to,
                    weight_masks=weight_masks,
                    data_subset=data_subset,
                    progress=report,
                    emit_warnings=False,
                )
            except LLCDivergenceError:
                nan = float("nan")
                rows.append(
                    CalibrationRow(step, gamma, nan, nan, nan, nan, nan, nan, False, False, "diverged")
                )
                continue
            estimates[(step, gamma)] = estimate
            rows.append(_judge(step, gamma, estimate, max_bias))
    step_size, localization, reason = _recommend(rows, gammas)
    chosen = (
        estimates.get((step_size, localization))
        if step_size is not None and localization is not None
        else None
    )
    return CalibrationResult(tuple(rows), step_size, localization, reason, _plot(rows, gammas, chosen))


def _judge(step: float, gamma: float, estimate: LLCEstimate, max_bias: float) -> CalibrationRow:
    d = estimate.diagnostics
    notes = []
    if estimate.mean <= 0:
        notes.append("λ̂ ≤ 0")
    if estimate.mean > CEILING_SLACK * d["sampled_parameters"] / 2:
        notes.append("λ̂ > d/2")
    if not d["r_hat"] <= RHAT_LIMIT:
        notes.append(f"R-hat {d['r_hat']:.2f}")
    if not abs(d["trend_z"]) <= TREND_LIMIT:
        notes.append(f"trend z {d['trend_z']:.1f}")
    ratio, pull = float(d["drift_to_noise"]), float(d["localization_to_drift"])
    healthy = not notes
    if healthy and ratio**2 > max_bias:
        notes.append(f"discretisation bias ρ² = {ratio**2:.3f}")
    if healthy and pull > 2 * max_bias:
        notes.append(f"localisation bias κ = {pull:.3f}")
    accepted = healthy and not notes
    return CalibrationRow(
        step_size=step,
        localization=gamma,
        llc=estimate.mean,
        mcse=d["mcse"],
        r_hat=d["r_hat"],
        trend_z=d["trend_z"],
        drift_to_noise=ratio,
        localization_to_drift=pull,
        healthy=healthy,
        accepted=accepted,
        note=", ".join(notes) or "ok",
    )


def _recommend(
    rows: Sequence[CalibrationRow], gammas: Sequence[float]
) -> tuple[float | None, float | None, str]:
    for gamma in sorted(gammas, reverse=True):
        accepted = [row for row in rows if row.localization == gamma and row.accepted]
        if accepted:
            chosen = max(accepted, key=lambda row: row.step_size)
            return chosen.step_size, gamma, "largest accepted ε of the largest γ that has one"
    healthy = [row for row in rows if row.healthy]
    if healthy:
        chosen = min(healthy, key=lambda row: (row.drift_to_noise, row.localization))
        return (
            chosen.step_size,
            chosen.localization,
            "no setting within the bias budget: the healthy one with the smallest drift/noise (add smaller ε)",
        )
    return None, None, "no healthy setting: every run diverged, gave λ̂ ≤ 0 or > d/2, or did not settle"


def _plot(rows: Sequence[CalibrationRow], gammas: Sequence[float], chosen: LLCEstimate | None) -> Figure:
    figure = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(figure)
    sweep, trace = figure.subplots(1, 2)
    for gamma in gammas:
        mine = [row for row in rows if row.localization == gamma and math.isfinite(row.llc)]
        if not mine:
            continue
        sweep.errorbar(
            [row.step_size for row in mine],
            [row.llc for row in mine],
            yerr=[2 * row.mcse for row in mine],
            marker="o",
            capsize=3,
            label=f"γ = {gamma:g}",
        )
        rejected = [row for row in mine if not row.accepted]
        sweep.scatter(
            [row.step_size for row in rejected],
            [row.llc for row in rejected],
            marker="x",
            color="black",
            zorder=3,
        )
    sweep.set_xscale("log")
    sweep.set_xlabel("step size ε")
    sweep.set_ylabel("λ̂ (± 2 MCSE); × = not accepted")
    sweep.set_title("calibration sweep")
    if sweep.get_legend_handles_labels()[0]:
        sweep.legend()
    if chosen is not None:
        llc_trace = chosen.llc_trace
        for chain in range(llc_trace.shape[0]):
            trace.plot(llc_trace[chain].numpy(), linewidth=0.6, alpha=0.8)
        trace.axhline(chosen.mean, color="black", linestyle="--", label=f"λ̂ = {chosen.mean:.3g}")
        trace.legend()
        trace.set_title("recommended: nβ (L_B(w_t) − L_n(w*)) per chain")
    else:
        trace.set_title("no recommended setting")
    trace.set_xlabel("draw")
    return figure
