"""Local learning coefficient with localised SGLD, every chain in one batched computation.

Maths (Lau et al. 2023, "Quantifying degeneracy in singular models via the learning
coefficient"). A model with parameters w ∈ ℝᵈ, n samples and empirical loss
L_n(w) = (1/n) Σᵢ ℓ(w; xᵢ, yᵢ) (what `loss_fn` returns on the whole dataset) has, at a local
minimum w*, the estimator

    λ̂(w*) = nβ · ( E_w[L_n(w)] − L_n(w*) ),

the expectation over the tempered, localised posterior
p(w) ∝ exp(−nβ L_n(w) − (γ/2)‖w − w*‖²), with nβ the inverse temperature times n (default
n / log n, the WBIC temperature) and γ the localisation strength. It is sampled with SGLD
(Welling & Teh 2011), step size ε, minibatch B_t of `batch_size` rows drawn with replacement:

    w_{t+1} = w_t − (ε/2) · ( nβ ∇L_{B_t}(w_t) + γ (w_t − w*) ) + η_t,   η_t ~ N(0, ε I).

**What is recorded.** Draw t records the minibatch loss L_{B_t}(w_t) of the step's own
minibatch, before the update (as devinterp does: it costs no extra forward pass); it is an
unbiased estimate of L_n(w_t). L_n(w*) is computed on the full data. The first `num_burnin`
steps are discarded; λ̂_c = nβ (mean_t L_{B_t}(w_t) − L_n(w*)) for each chain c, and the
estimate is their mean.

**Vectorisation.** The sampled parameters of C chains are one flat tensor θ: (C, P); each step
runs one batched forward pass over all chains (see `chains.py`) and one reverse pass, then one
fused update. There is no Python loop over chains and no host synchronisation per step: the
trace stays on the device and is checked for divergence every `check_every` steps.

**Restriction** (Wang et al. 2024): only the parameters selected by `restrict_to` /
`weight_masks` move (the rest stay at w*), and `data_subset` replaces the data (see
`restriction.py`). The caller's model is never modified.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn
from torch.func import functional_call

from analysis_workers.llc.chains import LossFn, chain_losses, is_plain_sequential
from analysis_workers.llc.diagnostics import effective_sample_size, mcse, split_rhat, trend_z
from analysis_workers.llc.reliability import Verdict, judge, judge_estimate
from analysis_workers.llc.restriction import WeightSelection, restrict_data, select_weights, split_data
from analysis_workers.sampler_config import SamplerConfig

# L_n(w*) and its gradient are taken over the whole dataset in chunks of about this many input
# elements (vector entries, or tokens of a sequence row): the backward pass holds every
# activation of a chunk, so a chunk bounded in rows alone held a whole token dataset at once
# (2.8 GiB for 512 rows of 31 tokens on a 1M-parameter GPT-2, docs/benchmarks.md).
FULL_DATA_CHUNK_ELEMENTS = 4096
# torch's cross-entropy ignore_index: integer targets equal to it (an uploaded dataset's padding)
# are not in the loss's mean, so a chunk weighs by the targets it counts, not by its rows
IGNORED_TARGET = -100

Progress = Callable[[float], None]


class LLCDivergenceError(RuntimeError):
    """The sampler left the neighbourhood of w*: a NaN, an inf, or an exploding loss.

    `loss_trace`: Float[Tensor, "chain step"] the minibatch losses up to the block where it was
    found (burn-in included, CPU), so the trace that went wrong can still be plotted."""

    def __init__(self, message: str, *, loss_trace: torch.Tensor | None = None) -> None:
        super().__init__(message)
        self.loss_trace = loss_trace


class LLCWarning(UserWarning):
    """The estimate exists but a diagnostic says to distrust it."""


@dataclass(frozen=True)
class LLCEstimate:
    """λ̂ and what it was computed from.

    `loss_trace`: Float[Tensor, "chain draw"] minibatch losses after burn-in (CPU);
    `diagnostics`: JSON-ready numbers (see `estimate_llc`); `step_norms`: with
    `SamplerConfig(diagnose_steps=True)`, Float[Tensor, "chain step"] norms of the three update terms
    ("drift" = ‖(ε/2) nβ ∇L_B‖, "localization" = ‖(ε/2) γ (w − w*)‖, "noise" = ‖η‖), burn-in
    included.
    """

    mean: float
    std: float
    per_chain: list[float]
    loss_trace: torch.Tensor
    init_loss: float
    diagnostics: dict[str, Any] = field(default_factory=dict)
    step_norms: dict[str, torch.Tensor] | None = None

    @property
    def llc_trace(self) -> torch.Tensor:
        """nβ (L_{B_t}(w_t) − L_n(w*)): Float[Tensor, "chain draw"]."""
        return float(self.diagnostics["nbeta"]) * (self.loss_trace.double() - self.init_loss)

    @property
    def mcse(self) -> float:
        """Monte-Carlo standard error of `mean` (from the ESS of the pooled λ̂ trace)."""
        return float(self.diagnostics["mcse"])

    @property
    def verdict(self) -> Verdict:
        """Whether to trust `mean` (`reliability.judge_estimate`): reliable, or the reasons not to."""
        return judge_estimate(self)


class NoiseSource(Protocol):
    """Where step t's minibatch rows (C, B) and Gaussian draws ξ ~ N(0, I) (C, P) come from."""

    def batch_indices(self, step: int) -> torch.Tensor: ...

    def gaussian(self, step: int) -> torch.Tensor: ...


class GeneratorNoise:
    """The default `NoiseSource`: one seeded `torch.Generator` on the sampling device."""

    def __init__(
        self,
        *,
        seed: int,
        num_chains: int,
        batch_size: int,
        num_samples: int,
        num_parameters: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self._generator = torch.Generator(device=device).manual_seed(seed)
        self._shape_rows = (num_chains, batch_size)
        self._shape_noise = (num_chains, num_parameters)
        self._n, self._device, self._dtype = num_samples, device, dtype

    def batch_indices(self, step: int) -> torch.Tensor:
        return torch.randint(0, self._n, self._shape_rows, generator=self._generator, device=self._device)

    def gaussian(self, step: int) -> torch.Tensor:
        return torch.randn(
            self._shape_noise, generator=self._generator, device=self._device, dtype=self._dtype
        )


@dataclass(frozen=True)
class ChainRun:
    """Raw output of `run_chains`: losses (C, T) including burn-in, on the device."""

    losses: torch.Tensor
    init_loss: float
    init_grad_norm: float
    distance_from_init: torch.Tensor
    step_norms: dict[str, torch.Tensor] | None
    backend: str


def estimate_llc(
    model: nn.Module,
    data: Any,
    loss_fn: LossFn,
    config: SamplerConfig | None = None,
    *,
    device: str | torch.device = "cpu",
    restrict_to: Sequence[str] | None = None,
    weight_masks: Mapping[str, torch.Tensor] | None = None,
    data_subset: torch.Tensor | Sequence[int] | None = None,
    progress: Progress | None = None,
    emit_warnings: bool = True,
) -> LLCEstimate:
    """λ̂ at the model's current parameters w* (see the module docstring for the maths).

    `config`: the sampler's settings (C, T, ε, γ, nβ, B, seed, …; `SamplerConfig()` when
    omitted). `data`: `(inputs, targets)` or a two-tensor `TensorDataset`;
    `loss_fn(outputs, targets)` returns the scalar mean loss over the rows given.
    `restrict_to` (glob patterns over parameter names) and `weight_masks` (name → boolean
    element mask) select the sampled weights; `data_subset` (boolean mask or row indices) the
    data. `progress(fraction)` is called every `config.check_every` steps; an exception it
    raises stops sampling (cancellation). `emit_warnings=False` leaves the warnings in
    `diagnostics["warnings"]` only.

    `diagnostics` holds: nbeta, num_samples, sampled_parameters, r_hat (split, of the λ̂ trace),
    ess, mcse, trend_z, init_grad_norm (‖∇L_n(w*)‖ over the sampled weights),
    distance_from_init (mean over chains of ‖w_T − w*‖), backend, recorded_loss, divergences
    (0: a divergence raises), sampler (the settings it ran with, nβ resolved), warnings (the
    messages of `estimate.verdict`'s reasons), and with `config.diagnose_steps` the mean norm
    ratios drift_to_noise, localization_to_noise and localization_to_drift over the kept steps.

    Raises `ValueError` on bad input and `LLCDivergenceError` (naming chain and draw) when a
    chain diverges; warns `LLCWarning` for every reason `reliability.judge` finds to distrust
    the estimate (R-hat, a trending trace, λ̂ < 0 or above d/2, a slope at w*).
    """
    config = SamplerConfig() if config is None else config
    if not isinstance(config, SamplerConfig):
        raise ValueError(f"config must be a SamplerConfig, got {type(config).__name__}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be a callable loss_fn(outputs, targets) -> scalar")
    inputs, targets = restrict_data(*split_data(data), data_subset)
    n = inputs.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 samples to estimate the LLC, got {n}")
    selection = select_weights(model, restrict_to, weight_masks)
    device = torch.device(device)
    beta_n = config.resolved_nbeta(n)
    noise = GeneratorNoise(
        seed=config.seed,
        num_chains=config.num_chains,
        batch_size=config.batch_size,
        num_samples=n,
        num_parameters=_flat_size(model, selection),
        device=device,
        dtype=_sampled_dtype(model, selection),
    )
    run = run_chains(
        model, (inputs, targets), loss_fn, selection, config, noise, device=device, progress=progress
    )
    estimate = summarise(run, config, beta_n=beta_n, num_samples=n, sampled=_sampled_count(model, selection))
    if emit_warnings:
        for message in estimate.diagnostics["warnings"]:
            warnings.warn(message, LLCWarning, stacklevel=2)
    return estimate


def run_chains(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    loss_fn: LossFn,
    selection: WeightSelection,
    config: SamplerConfig,
    noise: NoiseSource,
    *,
    device: torch.device,
    progress: Progress | None = None,
) -> ChainRun:
    """Run C localised SGLD chains from w*; the losses stay on `device` (see `ChainRun`)."""
    x, y = data[0].to(device), data[1].to(device)
    n = x.shape[0]
    beta_n = config.resolved_nbeta(n)
    parameters = dict(model.named_parameters())
    dtype = _sampled_dtype(model, selection)
    w_star = {name: parameters[name].detach().to(device) for name in selection.names}
    frozen = {name: p.detach().to(device) for name, p in parameters.items() if name not in w_star}
    buffers = {name: b.detach().to(device) for name, b in model.named_buffers()}
    shapes = [(name, w_star[name].shape, w_star[name].numel()) for name in selection.names]
    theta_star = torch.cat([w_star[name].reshape(-1) for name in selection.names])  # (P,)
    mask = _flat_mask(selection, shapes, device, dtype)  # (P,) or None
    init_loss, init_grad_norm = _full_data_loss_and_grad(model, x, y, loss_fn, w_star, frozen, buffers, mask)

    chains, total = config.num_chains, config.total_steps
    losses_of = chain_losses(model, loss_fn, frozen, buffers, input_dim=x.dim())
    theta = theta_star.unsqueeze(0).repeat(chains, 1)  # (C, P)
    trace = torch.empty(chains, total, device=device, dtype=dtype)
    norms = torch.zeros(3, chains, total, device=device, dtype=dtype) if config.diagnose_steps else None
    half_eps, root_eps = 0.5 * config.step_size, math.sqrt(config.step_size)
    checked = 0
    for step in range(total):
        rows = noise.batch_indices(step)  # (C, B)
        # Per-parameter leaves sharing θ's storage: their gradients come back per parameter and
        # are concatenated once (a gradient through slices of θ would zero-fill (C, P) per slice).
        views = {name: view.requires_grad_(True) for name, view in _views(theta, shapes).items()}
        batch_losses = losses_of(views, x[rows], y[rows])  # (C,)
        grads = torch.autograd.grad(batch_losses.sum(), list(views.values()))
        gradient = torch.cat([g.reshape(chains, -1) for g in grads], dim=1)  # (C, P)
        with torch.no_grad():
            trace[:, step] = batch_losses
            xi = noise.gaussian(step)  # (C, P)
            displacement = theta - theta_star
            if mask is not None:
                gradient, displacement, xi = gradient * mask, displacement * mask, xi * mask
            update = gradient.mul(-half_eps * beta_n)
            update.add_(displacement, alpha=-half_eps * config.localization)
            update.add_(xi, alpha=root_eps)
            if norms is not None:
                norms[0, :, step] = torch.linalg.vector_norm(gradient, dim=1) * (half_eps * beta_n)
                norms[1, :, step] = torch.linalg.vector_norm(displacement, dim=1) * (
                    half_eps * config.localization
                )
                norms[2, :, step] = torch.linalg.vector_norm(xi, dim=1) * root_eps
            theta.add_(update)
        if (step + 1) % config.check_every == 0 or step == total - 1:
            _check_divergence(trace, checked, step + 1, init_loss, config)  # one host sync per block
            checked = step + 1
            if progress is not None:
                progress((step + 1) / total)
    with torch.no_grad():
        distance = torch.linalg.vector_norm(theta - theta_star, dim=1)
    step_norms = None
    if norms is not None:
        step_norms = {"drift": norms[0], "localization": norms[1], "noise": norms[2]}
    backend = "batched-matmul" if x.dim() == 2 and is_plain_sequential(model) else "vmap"
    return ChainRun(trace.detach(), init_loss, init_grad_norm, distance, step_norms, backend)


def summarise(
    run: ChainRun, config: SamplerConfig, *, beta_n: float, num_samples: int, sampled: int
) -> LLCEstimate:
    """Turn a `ChainRun` into an `LLCEstimate` (burn-in dropped); warnings go to diagnostics."""
    kept = run.losses[:, config.num_burnin :].double().cpu()  # (C, draws)
    llc_trace = beta_n * (kept - run.init_loss)
    per_chain = llc_trace.mean(dim=1)
    mean = float(per_chain.mean())
    std = float(per_chain.std(unbiased=True)) if config.num_chains > 1 else 0.0
    diagnostics: dict[str, Any] = {
        "nbeta": beta_n,
        "num_samples": num_samples,
        "sampled_parameters": sampled,
        "r_hat": split_rhat(llc_trace),
        "ess": effective_sample_size(llc_trace),
        "mcse": mcse(llc_trace),
        "trend_z": trend_z(llc_trace),
        "init_grad_norm": run.init_grad_norm,
        "distance_from_init": float(run.distance_from_init.double().mean()),
        "backend": run.backend,
        "recorded_loss": "minibatch loss of each step, before its update",
        "divergences": 0,
        "sampler": {
            "num_chains": config.num_chains,
            "num_draws": config.num_draws,
            "num_burnin": config.num_burnin,
            "step_size": config.step_size,
            "localization": config.localization,
            "nbeta": beta_n,
            "batch_size": config.batch_size,
            "seed": config.seed,
        },
    }
    step_norms = None
    if run.step_norms is not None:
        step_norms = {name: norm.detach().cpu() for name, norm in run.step_norms.items()}
        noise = step_norms["noise"][:, config.num_burnin :].double().clamp_min(1e-30)
        drift = step_norms["drift"][:, config.num_burnin :].double()
        localization = step_norms["localization"][:, config.num_burnin :].double()
        diagnostics["drift_to_noise"] = float((drift / noise).mean())
        diagnostics["localization_to_noise"] = float((localization / noise).mean())
        diagnostics["localization_to_drift"] = float((localization / drift.clamp_min(1e-30)).mean())
    diagnostics["warnings"] = [reason.message for reason in judge(mean, diagnostics).reasons]
    return LLCEstimate(
        mean, std, per_chain.tolist(), kept.to(run.losses.dtype), run.init_loss, diagnostics, step_norms
    )


def _check_divergence(
    trace: torch.Tensor, start: int, stop: int, init_loss: float, config: SamplerConfig
) -> None:
    block = trace[:, start:stop]
    limit = init_loss + config.explosion_factor * (abs(init_loss) + 1.0)
    bad = ~torch.isfinite(block) | (block > limit)
    if not bool(bad.any()):
        return
    chain, offset = (int(v) for v in bad.nonzero()[0])
    step = start + offset
    where = f"draw {step - config.num_burnin}" if step >= config.num_burnin else f"draw {step} of the burn-in"
    raise LLCDivergenceError(
        f"chain {chain} diverged at {where} (minibatch loss {float(block[chain, offset]):.3g}, "
        f"L_n(w*) = {init_loss:.3g}): lower step_size or raise localization",
        loss_trace=trace[:, :stop].detach().cpu(),
    )


def _views(theta: torch.Tensor, shapes: Sequence[tuple[str, torch.Size, int]]) -> dict[str, torch.Tensor]:
    chains, views, offset = theta.shape[0], {}, 0
    for name, shape, numel in shapes:
        views[name] = theta[:, offset : offset + numel].view(chains, *shape)  # (C, *shape)
        offset += numel
    return views


def _flat_mask(
    selection: WeightSelection,
    shapes: Sequence[tuple[str, torch.Size, int]],
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    if all(selection.masks[name] is None for name, _, _ in shapes):
        return None
    pieces = []
    for name, _, numel in shapes:
        mask = selection.masks[name]
        pieces.append(torch.ones(numel, dtype=dtype) if mask is None else mask.reshape(-1).to(dtype))
    return torch.cat(pieces).to(device)


def _full_data_loss_and_grad(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn,
    w_star: Mapping[str, torch.Tensor],
    frozen: Mapping[str, torch.Tensor],
    buffers: Mapping[str, torch.Tensor],
    mask: torch.Tensor | None,
) -> tuple[float, float]:
    """L_n(w*) and ‖∇L_n(w*)‖ over the sampled (masked) weights, in chunks of the data."""
    n = x.shape[0]
    rows_per_chunk = max(1, FULL_DATA_CHUNK_ELEMENTS // max(1, x[0].numel()))
    params = {name: w.clone().requires_grad_(True) for name, w in w_star.items()}
    total_loss = torch.zeros((), dtype=torch.float64, device=x.device)
    grads = [torch.zeros_like(p) for p in params.values()]
    counted = y != IGNORED_TARGET if not y.is_floating_point() else None
    total = int(counted.sum()) if counted is not None else n
    for start in range(0, n, rows_per_chunk):
        xb, yb = x[start : start + rows_per_chunk], y[start : start + rows_per_chunk]
        if counted is not None:
            in_chunk = int(counted[start : start + rows_per_chunk].sum())
            if in_chunk == 0:
                continue  # nothing counted here: the mean would be 0/0
            weight = in_chunk / total
        else:
            weight = xb.shape[0] / n
        loss = loss_fn(functional_call(model, {**params, **frozen, **buffers}, (xb,)), yb)
        if loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar (the mean loss), got shape {tuple(loss.shape)}")
        chunk_grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        with torch.no_grad():
            total_loss += loss.double() * weight
            for acc, g in zip(grads, chunk_grads, strict=True):
                if g is not None:
                    acc.add_(g, alpha=weight)
    flat = torch.cat([g.reshape(-1) for g in grads])
    if mask is not None:
        flat = flat * mask
    init_loss = float(total_loss)
    if not math.isfinite(init_loss):
        raise ValueError(f"L_n(w*) = {init_loss} is not finite: check the checkpoint and the data")
    return init_loss, float(torch.linalg.vector_norm(flat.double()))


def _sampled_dtype(model: nn.Module, selection: WeightSelection) -> torch.dtype:
    parameters = dict(model.named_parameters())
    dtypes = {parameters[name].dtype for name in selection.names}
    if len(dtypes) != 1 or not next(iter(dtypes)).is_floating_point:
        raise ValueError(f"sampled parameters must share one floating dtype, got {sorted(map(str, dtypes))}")
    return next(iter(dtypes))


def _flat_size(model: nn.Module, selection: WeightSelection) -> int:
    parameters = dict(model.named_parameters())
    return sum(parameters[name].numel() for name in selection.names)


def _sampled_count(model: nn.Module, selection: WeightSelection) -> int:
    return selection.sampled_count(dict(model.named_parameters()))
