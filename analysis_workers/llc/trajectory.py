"""λ̂ along an ordered series of checkpoints, refusing a value where w* is not a local minimum.

λ̂ is only meaningful near a local minimum of L_n (Lau et al. 2023). During training, and
especially during an optimiser slingshot, a checkpoint can sit on a slope: SGLD then slides
downhill and λ̂ is garbage (it has been seen to jump to thousands). A checkpoint is *flagged*,
and reported without a value, when any of these holds (each is checked separately):

* **diverged**: the sampler raised `LLCDivergenceError`;
* **negative**: λ̂ < 0, i.e. the posterior found lower loss than w*;
* **downhill**: the λ̂ trace drifts downward, trend z < −`max_trend_z` (see `diagnostics.py`);
* **too large**: λ̂ > d/2 · (1 + `ceiling_slack`), d the number of sampled weights, while no
  local minimum has λ above d/2 (Watanabe 2009);
* **gradient**: the first-order term dominates. With g = ‖∇L_n(w*)‖, the localised posterior
  can lower nβ L_n by up to nβ² g² / (2γ) along directions where L_n is flat to second order;
  flag when that exceeds `gradient_tolerance` · max(λ̂, 1).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from analysis_workers.llc.chains import LossFn
from analysis_workers.llc.sampler import LLCDivergenceError, LLCEstimate, Progress, estimate_llc
from analysis_workers.sampler_config import SamplerConfig


@dataclass(frozen=True)
class CheckpointLLC:
    """One checkpoint's outcome: `llc` is None when it was flagged."""

    index: int
    llc: float | None
    estimate: LLCEstimate | None
    flagged: bool
    reasons: tuple[str, ...]


def llc_over_checkpoints(
    model: nn.Module,
    state_dicts: Sequence[Mapping[str, torch.Tensor]],
    data: Any,
    loss_fn: LossFn,
    config: SamplerConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    max_trend_z: float = 4.0,
    gradient_tolerance: float = 0.5,
    ceiling_slack: float = 0.1,
    progress: Progress | None = None,
) -> list[CheckpointLLC]:
    """λ̂ for each state dict in order (loaded strictly into a copy of `model`).

    `config` is `estimate_llc`'s (the same seed for every checkpoint, so differences come from
    the weights; `SamplerConfig()` when omitted). `progress(fraction)` covers the whole series.
    """
    config = SamplerConfig() if config is None else config
    if not state_dicts:
        raise ValueError("give at least one state dict")
    if max_trend_z <= 0 or gradient_tolerance <= 0 or ceiling_slack < 0:
        raise ValueError("max_trend_z and gradient_tolerance must be positive, ceiling_slack ≥ 0")
    working = copy.deepcopy(model)
    localization = float(config.localization)
    results = []
    total = len(state_dicts)
    for index, state in enumerate(state_dicts):
        try:
            working.load_state_dict(dict(state), strict=True)
        except RuntimeError as error:
            raise ValueError(
                f"checkpoint {index} does not fit the model: {str(error).splitlines()[0]}"
            ) from None

        def report(fraction: float, index: int = index) -> None:
            if progress is not None:
                progress((index + fraction) / total)

        try:
            estimate = estimate_llc(
                working, data, loss_fn, config, device=device, progress=report, emit_warnings=False
            )
        except LLCDivergenceError as error:
            results.append(CheckpointLLC(index, None, None, True, (f"diverged: {error}",)))
            continue
        reasons = _reasons(estimate, localization, max_trend_z, gradient_tolerance, ceiling_slack)
        results.append(
            CheckpointLLC(index, None if reasons else estimate.mean, estimate, bool(reasons), reasons)
        )
    return results


def _reasons(
    estimate: LLCEstimate,
    localization: float,
    max_trend_z: float,
    gradient_tolerance: float,
    ceiling_slack: float,
) -> tuple[str, ...]:
    found = []
    diagnostics = estimate.diagnostics
    nbeta, value = float(diagnostics["nbeta"]), estimate.mean
    if value < 0:
        found.append(f"negative: λ̂ = {value:.3g} < 0")
    if diagnostics["trend_z"] < -max_trend_z:
        found.append(f"downhill: the λ̂ trace drifts down (trend z = {diagnostics['trend_z']:.1f})")
    ceiling = diagnostics["sampled_parameters"] / 2
    if value > ceiling * (1 + ceiling_slack):
        found.append(f"too large: λ̂ = {value:.3g} exceeds d/2 = {ceiling:g}")
    shift = nbeta**2 * diagnostics["init_grad_norm"] ** 2 / (2 * max(localization, 1e-12))
    if shift > gradient_tolerance * max(value, 1.0):
        found.append(
            f"gradient: ‖∇L_n(w*)‖ = {diagnostics['init_grad_norm']:.3g} could move nβ·L by {shift:.3g}"
        )
    return tuple(found)
