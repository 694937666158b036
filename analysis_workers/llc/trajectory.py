"""λ̂ along an ordered series of checkpoints, judging each one with `reliability.judge`.

λ̂ is only meaningful near a local minimum of L_n (Lau et al. 2023). During training, and
especially during an optimiser slingshot, a checkpoint can sit on a slope: SGLD then slides
downhill and λ̂ is garbage (it has been seen to jump to thousands). Each checkpoint's estimate
gets the same verdict a single estimate gets (divergence, R-hat, trend, λ̂ < 0, λ̂ > d/2, a
gradient at w*; see `reliability.py`); an unreliable one is *flagged* and its `llc` is None,
while its raw estimate stays available to be drawn as a marked point.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from analysis_workers.llc.chains import LossFn
from analysis_workers.llc.reliability import Verdict, judge_divergence
from analysis_workers.llc.sampler import LLCDivergenceError, LLCEstimate, Progress, estimate_llc
from analysis_workers.sampler_config import SamplerConfig


@dataclass(frozen=True)
class CheckpointLLC:
    """One checkpoint's outcome: `llc` is None when the verdict is unreliable; `estimate` is
    None only when the sampler diverged."""

    index: int
    llc: float | None
    estimate: LLCEstimate | None
    verdict: Verdict

    @property
    def flagged(self) -> bool:
        return not self.verdict.reliable

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{reason.diagnostic}: {reason.message}" for reason in self.verdict.reasons)


def llc_over_checkpoints(
    model: nn.Module,
    state_dicts: Sequence[Mapping[str, torch.Tensor]],
    data: Any,
    loss_fn: LossFn,
    config: SamplerConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
) -> list[CheckpointLLC]:
    """λ̂ for each state dict in order (loaded strictly into a copy of `model`).

    `config` is `estimate_llc`'s (the same seed for every checkpoint, so differences come from
    the weights; `SamplerConfig()` when omitted). `progress(fraction)` covers the whole series.
    """
    config = SamplerConfig() if config is None else config
    if not state_dicts:
        raise ValueError("give at least one state dict")
    working = copy.deepcopy(model)
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
            results.append(CheckpointLLC(index, None, None, judge_divergence(str(error))))
            continue
        verdict = estimate.verdict
        results.append(CheckpointLLC(index, estimate.mean if verdict.reliable else None, estimate, verdict))
    return results
