"""Whether a λ̂ can be trusted: the one judgement every LLC result carries.

An estimate is **reliable** only when every check below passes; otherwise it is marked
*unreliable* with one `Reason` per failed check — the diagnostic, its value, the threshold it
crossed and what to change — and the platform, the CLI and the plots never show it as a plain
number. Symbols as in `sampler.py`: nβ the inverse temperature times n, γ = localization,
d the number of sampled weights, g = ‖∇L_n(w*)‖; R-hat, trend z from `diagnostics.py`.

Checks, each on its own (thresholds are module constants, documented in docs/analyses.md):

* **divergences**: a chain left the neighbourhood of w* (NaN, inf, or a loss above the
  explosion limit); the sampler stops at the first one, so there is no λ̂. Too large a step.
* **r_hat** > `RHAT_LIMIT`: the chains (or the halves of one chain) disagree about λ̂ — too few
  draws, or a step size so large that chains settle at different levels.
* **trend** |z| > `TREND_LIMIT`: the λ̂ trace still drifts. Upwards: the burn-in was too short.
  Downwards: the chains find lower loss than w*, so w* is not a local minimum.
* **negative** λ̂ < 0: the posterior reaches lower loss than w*: w* is not a local minimum.
* **ceiling** λ̂ > d/2 · (1 + `CEILING_SLACK`): no local minimum has λ above d/2 (Watanabe 2009).
* **gradient**: the first-order term dominates. The localised posterior can lower nβ L_n by up
  to nβ² g² / (2γ) along directions where L_n is flat to second order; unreliable when that
  exceeds `GRADIENT_TOLERANCE` · max(λ̂, 1): w* is not near a minimum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis_workers.llc.sampler import LLCEstimate

RHAT_LIMIT = 1.05
TREND_LIMIT = 4.0
GRADIENT_TOLERANCE = 0.5
CEILING_SLACK = 0.1


@dataclass(frozen=True)
class Reason:
    """One failed check: `diagnostic` names it (`divergences`, `r_hat`, `trend`, `negative`,
    `ceiling`, `gradient`), `value` is what was measured, `threshold` the limit it crossed,
    `message` says so in words and `advice` what to change."""

    diagnostic: str
    value: float | None
    threshold: float
    message: str
    advice: str

    def as_json(self) -> dict[str, Any]:
        value = self.value if self.value is None or math.isfinite(self.value) else None
        return {
            "diagnostic": self.diagnostic,
            "value": value,
            "threshold": self.threshold,
            "message": self.message,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class Verdict:
    """`reliable` when no check failed; `reasons` otherwise, in the order of the module docstring."""

    reasons: tuple[Reason, ...] = ()

    @property
    def reliable(self) -> bool:
        return not self.reasons

    def as_json(self) -> dict[str, Any]:
        return {"reliable": self.reliable, "reasons": [reason.as_json() for reason in self.reasons]}


def judge_estimate(estimate: LLCEstimate) -> Verdict:
    """The verdict on a finished estimate (reads its mean and diagnostics)."""
    return judge(estimate.mean, estimate.diagnostics)


def judge_divergence(message: str) -> Verdict:
    """The verdict on a run stopped by `LLCDivergenceError` (`message` names chain and draw)."""
    return Verdict(
        (
            Reason(
                "divergences",
                1.0,
                0.0,
                message,
                "lower step_size (ε) by a factor of 3–10, or raise localization (γ)",
            ),
        )
    )


def judge(mean: float, diagnostics: Mapping[str, Any]) -> Verdict:
    """The checks of the module docstring on λ̂ = `mean` and `estimate_llc`'s `diagnostics`
    (r_hat, trend_z, sampled_parameters, init_grad_norm, nbeta and sampler.localization)."""
    found: list[Reason] = []
    r_hat = float(diagnostics["r_hat"])
    if not r_hat <= RHAT_LIMIT:  # NaN (too few draws) fails too
        found.append(
            Reason(
                "r_hat",
                r_hat,
                RHAT_LIMIT,
                f"R-hat {r_hat:.3f} > {RHAT_LIMIT}: the chains disagree about λ̂",
                "raise num_draws; if the per-chain traces sit at different levels, lower step_size",
            )
        )
    z = float(diagnostics["trend_z"])
    if abs(z) > TREND_LIMIT:
        if z > 0:
            advice = "raise num_burnin (the trace is still climbing), or lower step_size"
        else:
            advice = (
                "w* is not at a local minimum (the chains find lower loss): train further or pick a "
                "later checkpoint; raising localization only hides the slide"
            )
        found.append(
            Reason(
                "trend",
                z,
                TREND_LIMIT,
                f"the λ̂ trace still {'climbs' if z > 0 else 'falls'} (trend z = {z:.1f}, |z| > {TREND_LIMIT:g})",
                advice,
            )
        )
    if mean < 0:
        found.append(
            Reason(
                "negative",
                mean,
                0.0,
                f"λ̂ = {mean:.3g} < 0: the posterior found lower loss than w*",
                "w* is not a local minimum: train to convergence, or pick another checkpoint",
            )
        )
    ceiling = float(diagnostics["sampled_parameters"]) / 2
    if mean > ceiling * (1 + CEILING_SLACK):
        found.append(
            Reason(
                "ceiling",
                mean,
                ceiling * (1 + CEILING_SLACK),
                f"λ̂ = {mean:.3g} exceeds d/2 = {ceiling:g}, impossible at a local minimum",
                "lower step_size; check that w* is a local minimum",
            )
        )
    nbeta, gradient = float(diagnostics["nbeta"]), float(diagnostics["init_grad_norm"])
    localization = float(diagnostics["sampler"]["localization"])
    shift = nbeta**2 * gradient**2 / (2 * max(localization, 1e-12))
    allowed = GRADIENT_TOLERANCE * max(mean, 1.0)
    if shift > allowed:
        found.append(
            Reason(
                "gradient",
                shift,
                allowed,
                f"‖∇L_n(w*)‖ = {gradient:.3g} could move nβ·L by {shift:.3g} > {allowed:.3g}: "
                "w* is not near a minimum",
                "train further (the loss still has a slope at w*), or raise localization (γ) so the "
                "pull towards w* dominates the slope",
            )
        )
    return Verdict(tuple(found))
