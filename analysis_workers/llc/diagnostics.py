"""MCMC diagnostics for λ̂ traces of shape (chains, draws): split R-hat, ESS, MCSE, trend.

Notation: a trace has m chains of T draws, x[c, t]. Following Vehtari et al. 2021 ("Rank-
normalization, folding, and localization: an improved R-hat"), without rank normalisation:

* **split R-hat**: split every chain into halves of length h = ⌊T/2⌋, giving 2m half-chains;
  W = mean within-half-chain variance, B/h = variance of the half-chain means,
  var⁺ = (h−1)/h · W + B/h, R̂ = √(var⁺ / W). Values above 1.05 mean the chains disagree.
* **ESS** (Geyer 1992, initial positive sequence): ρ_t = chain-averaged autocorrelation at lag t;
  τ = −1 + 2 Σ_{k≥0} (ρ_{2k} + ρ_{2k+1}) summed while the pair sums stay positive;
  ESS = m T / τ.
* **MCSE** of the mean = sd(x) / √ESS.
* **trend z**: (mean of the second half − mean of the first half) / √(MCSE₁² + MCSE₂²), each
  half's MCSE from its own ESS; |z| > 4 says the trace still drifts (burn-in too short, or w*
  not a local minimum).
"""

from __future__ import annotations

import math

import torch


def split_rhat(trace: torch.Tensor) -> float:
    """Split R-hat of a (chains, draws) trace; NaN with fewer than 4 draws."""
    draws = trace.shape[1]
    if draws < 4:
        return float("nan")
    half = draws // 2
    halves = torch.cat([trace[:, :half], trace[:, -half:]], dim=0).double()  # (2·chains, half)
    within = halves.var(dim=1, unbiased=True).mean()
    between_over_n = halves.mean(dim=1).var(unbiased=True)
    if within <= 0:
        return 1.0 if between_over_n <= 0 else float("inf")
    var_plus = (half - 1) / half * within + between_over_n
    return float(torch.sqrt(var_plus / within))


def effective_sample_size(trace: torch.Tensor) -> float:
    """ESS of a (chains, draws) trace with Geyer's initial positive sequence."""
    chains, draws = trace.shape
    x = trace.double() - trace.double().mean(dim=1, keepdim=True)
    variance = (x**2).mean()
    if draws < 4 or variance <= 0:
        return float(chains * draws)
    size = 1 << (2 * draws - 1).bit_length()
    spectrum = torch.fft.rfft(x, n=size, dim=1)
    autocov = torch.fft.irfft(spectrum * spectrum.conj(), n=size, dim=1)[:, :draws].mean(dim=0) / draws
    rho = (autocov / autocov[0]).tolist()
    total = 0.0
    for lag in range(0, draws - 1, 2):
        pair = rho[lag] + rho[lag + 1]
        if pair <= 0:
            break
        total += pair
    tau = max(-1.0 + 2.0 * total, 1.0 / math.log10(max(chains * draws, 10)))
    return float(chains * draws / tau)


def mcse(trace: torch.Tensor) -> float:
    """Monte-Carlo standard error of the trace's grand mean."""
    if trace.numel() < 2:
        return float("nan")
    return float(trace.double().std() / math.sqrt(max(effective_sample_size(trace), 1.0)))


def trend_z(trace: torch.Tensor) -> float:
    """Second-half minus first-half mean in units of its Monte-Carlo standard error."""
    draws = trace.shape[1]
    if draws < 16:
        return 0.0
    first, second = trace[:, : draws // 2], trace[:, draws // 2 :]
    se = math.sqrt(mcse(first) ** 2 + mcse(second) ** 2)
    difference = float(second.double().mean() - first.double().mean())
    return difference / se if se > 0 else 0.0
