"""Known learning coefficients, to validate the estimator against.

* **Regular models** (Watanabe 2009): at a non-degenerate minimum of a model with d parameters,
  λ = d / 2.
* **Deep linear networks** (Aoyagi 2024, "Consideration on the learning efficiency of multiple-
  layered neural networks with linear units", Neural Networks 172; restated as Theorem A.1 of
  Lau et al. 2023). A network x ↦ W_L ⋯ W_1 x with widths H_1 (input), H_2, …, H_{L+1} (output),
  whose true product has rank r. Put Δ_i = H_i − r (i = 1 … L+1). There is a unique set Σ of
  l + 1 ≥ 2 indices with
      (1) max_{i∈Σ} Δ_i < min_{k∉Σ} Δ_k,
      (2) S := Σ_{i∈Σ} Δ_i ≥ l · max_{i∈Σ} Δ_i,
      (3) S < l · min_{k∉Σ} Δ_k,
  and with M = ⌈S / l⌉, a = S − (M − 1) l,
      λ = (−r² + r (H_1 + H_{L+1})) / 2 + a (l − a) / (4 l) − l (l − 1) / 4 · (S / l)²
          + ½ Σ_{i<j ∈ Σ} Δ_i Δ_j.
  This is the *global* learning coefficient of the true parameter set; it equals the local one
  at w* when every layer of w* has rank exactly r (then w* is not on a more degenerate stratum).
* **Reduced rank regression** (Aoyagi & Watanabe 2005, "Stochastic complexities of reduced rank
  regression in Bayesian estimation"): the two-layer case in closed form, M inputs, H hidden,
  N outputs, rank r; used to cross-check the general formula.
* **One free layer** of a linear network (a weight-restricted LLC, Wang et al. 2024): with the
  other layers frozen the model is W ↦ A W B x, a linear model in W whose Fisher information has
  rank rank(A) · rank(B), hence λ = rank(A) · rank(B) / 2 (full-rank inputs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction


def regular_lambda(num_parameters: int) -> float:
    """λ = d / 2 of a regular model with d parameters."""
    if num_parameters < 0:
        raise ValueError("num_parameters cannot be negative")
    return num_parameters / 2


def deep_linear_lambda(widths: Sequence[int], rank: int) -> float:
    """Aoyagi's λ of a deep linear network with widths H_1 (input) … H_{L+1} (output), true rank r."""
    return float(_deep_linear_lambda_exact(widths, rank))


def _deep_linear_lambda_exact(widths: Sequence[int], rank: int) -> Fraction:
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError("widths need an input and an output size, all ≥ 1")
    if not 0 <= rank <= min(widths):
        raise ValueError(f"rank must lie in [0, {min(widths)}] (the narrowest width), got {rank}")
    deltas = [w - rank for w in widths]
    subset = _aoyagi_subset(deltas)
    ell = len(subset) - 1
    total = sum(subset)
    big_m = -(-total // ell)  # ⌈S / l⌉
    a = total - (big_m - 1) * ell
    pairs = sum(subset[i] * subset[j] for i in range(len(subset)) for j in range(i + 1, len(subset)))
    return (
        Fraction(-(rank**2) + rank * (widths[0] + widths[-1]), 2)
        + Fraction(a * (ell - a), 4 * ell)
        - Fraction(ell * (ell - 1), 4) * Fraction(total, ell) ** 2
        + Fraction(pairs, 2)
    )


def _aoyagi_subset(deltas: Sequence[int]) -> list[int]:
    """The Δ's of Σ. Condition (1) makes Σ a set of smallest Δ's, so only prefixes are tried."""
    ordered = sorted(deltas)
    for size in range(2, len(ordered) + 1):
        chosen, rest = ordered[:size], ordered[size:]
        ell, total = size - 1, sum(ordered[:size])
        if rest and not max(chosen) < min(rest):
            continue
        if not total >= ell * max(chosen):
            continue
        if rest and not total < ell * min(rest):
            continue
        return chosen
    raise ValueError(f"no index set satisfies Aoyagi's conditions for Δ = {list(deltas)}")  # pragma: no cover


def reduced_rank_regression_lambda(inputs: int, hidden: int, outputs: int, rank: int) -> float:
    """Aoyagi & Watanabe (2005): λ of x ↦ B A x with A: hidden × inputs, B: outputs × hidden."""
    m, h, n, r = inputs, hidden, outputs, rank
    if min(m, h, n) < 1 or not 0 <= r <= min(m, h, n):
        raise ValueError("need sizes ≥ 1 and 0 ≤ rank ≤ min(sizes)")
    if m + h < n + r:
        return (h * m - h * r + n * r) / 2
    if n + h < m + r:
        return (h * n - h * r + m * r) / 2
    if m + n < h + r:
        return m * n / 2
    value = 2 * (h + r) * (m + n) - (m - n) ** 2 - (h + r) ** 2
    return (value + (1 if (m + h + n + r) % 2 else 0)) / 8


def free_layer_lambda(rank_after: int, rank_before: int) -> float:
    """λ = rank(A) · rank(B) / 2 for the free layer W of A W B (other layers frozen)."""
    if rank_after < 0 or rank_before < 0:
        raise ValueError("ranks cannot be negative")
    return rank_after * rank_before / 2


def deep_linear_parameter_count(widths: Sequence[int]) -> int:
    """d = Σ_i H_i H_{i+1}: the number of weights of a bias-free deep linear network."""
    return int(sum(a * b for a, b in itertools.pairwise(widths)))
