"""Activation patching and attribution patching on clean/corrupted prompt pairs.

Metric: the logit difference at the answer position,
    LD(x) = mean_b [ logit_b(answer_b) − logit_b(wrong_b) ],
with LD_clean on the clean prompts and LD_corr on the corrupted ones (same shape,
differing in a few tokens). Patching runs the *corrupted* prompts with one activation
taken from the clean run ("denoising") and reports the share of the gap it restores:

    P(a) = (LD(corrupted run with a ← a_clean) − LD_corr) / (LD_clean − LD_corr)

so 1 means that activation alone carries the difference, 0 means it carries none.
Activations: the residual stream `blocks.{l}.hook_resid_pre` at one position
(a layers × positions map), and each head's `blocks.{l}.attn.hook_z` at all positions.

Attribution patching (Nanda 2023, "Attribution patching") replaces each patched run by
a first-order Taylor expansion around the corrupted run:

    P̂(a) = ⟨a_clean − a_corr, ∂LD/∂a |_corr⟩ / (LD_clean − LD_corr)

one forward and one backward pass for every activation at once. It is exact for
activations that reach the metric linearly and misses saturated non-linearities
(softmax, layer-norm scale), hence the scatter against exact patching.

Cost: exact — layers·positions + layers·heads forward passes on the batch;
attribution — 2 forward passes and 1 backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator
from torch import Tensor

from analysis_workers.interp.ablation import replace_slice
from analysis_workers.interp.readout import HookedModel
from analysis_workers.interp.report import AnalysisReport, head_label, new_figure
from analysis_workers.zoo.transformer import HookPoint


@dataclass(frozen=True)
class PatchingPair:
    """clean, corrupted [batch, pos] tokens; answers, wrong [batch] token ids; the answer position."""

    clean: Tensor
    corrupted: Tensor
    answers: Tensor
    wrong: Tensor
    position: int = -1

    def __post_init__(self) -> None:
        if self.clean.dim() != 2 or self.clean.shape != self.corrupted.shape:
            raise ValueError("clean and corrupted must be [batch, pos] tensors of the same shape")
        if self.answers.shape != (self.clean.shape[0],) or self.wrong.shape != self.answers.shape:
            raise ValueError("answers and wrong must be [batch] tensors")
        if not -self.clean.shape[1] <= self.position < self.clean.shape[1]:
            raise ValueError(f"position {self.position} is outside the prompts")

    def logit_diff(self, logits: Tensor) -> Tensor:
        at = logits[:, self.position]  # [batch, d_vocab]
        right = at.gather(1, self.answers.unsqueeze(1))  # [batch, 1]
        wrong = at.gather(1, self.wrong.unsqueeze(1))  # [batch, 1]
        return (right - wrong).mean()


def _resid_names(model: HookedModel) -> list[str]:
    return [f"blocks.{layer}.hook_resid_pre" for layer in range(model.config.n_layers)]


def _z_names(model: HookedModel) -> list[str]:
    return [f"blocks.{layer}.attn.hook_z" for layer in range(model.config.n_layers)]


def patch_position(activation: Tensor, hook: HookPoint, *, position: int, value: Tensor) -> Tensor:
    """The residual stream with position `position` replaced by `value` [batch, d_model]."""
    patched = activation.clone()
    patched[:, position] = value
    return patched


def activation_patching(model: HookedModel, pair: PatchingPair) -> dict[str, Tensor | float]:
    """Exact patching: "resid" [layer, pos] and "heads" [layer, head] shares, LD_clean, LD_corr."""
    cfg = model.config
    wanted = set(_resid_names(model)) | set(_z_names(model))
    n_pos = pair.clean.shape[1]
    with torch.inference_mode():
        clean_logits, clean = model.run_with_cache(pair.clean, names_filter=lambda name: name in wanted)
        ld_clean = pair.logit_diff(clean_logits).item()
        ld_corr = pair.logit_diff(model(pair.corrupted)).item()
        gap = _nonzero_gap(ld_clean, ld_corr)
        resid = torch.zeros(cfg.n_layers, n_pos)
        for layer, name in enumerate(_resid_names(model)):
            for position in range(n_pos):
                hook = _partial_position(position, clean[name][:, position])
                patched = model.run_with_hooks(pair.corrupted, [(name, hook)])
                resid[layer, position] = (pair.logit_diff(patched).item() - ld_corr) / gap
        heads = torch.zeros(cfg.n_layers, cfg.n_heads)
        for layer, name in enumerate(_z_names(model)):
            for head in range(cfg.n_heads):
                hook = _partial_head(head, clean[name][:, :, head])
                patched = model.run_with_hooks(pair.corrupted, [(name, hook)])
                heads[layer, head] = (pair.logit_diff(patched).item() - ld_corr) / gap
    return {"resid": resid, "heads": heads, "ld_clean": ld_clean, "ld_corrupted": ld_corr}


def attribution_patching(model: HookedModel, pair: PatchingPair) -> dict[str, Tensor | float]:
    """First-order approximation of `activation_patching` from one backward pass on the corrupted run."""
    wanted = set(_resid_names(model)) | set(_z_names(model))
    with torch.inference_mode():
        clean_logits, clean = model.run_with_cache(pair.clean, names_filter=lambda name: name in wanted)
        ld_clean = pair.logit_diff(clean_logits).item()
    with torch.enable_grad():
        corr_logits, corr = model.run_with_cache(
            pair.corrupted, names_filter=lambda name: name in wanted, detach=False
        )
        ld = pair.logit_diff(corr_logits)
        names = sorted(corr)
        grads = dict(zip(names, torch.autograd.grad(ld, [corr[name] for name in names]), strict=True))
    ld_corr = ld.item()
    gap = _nonzero_gap(ld_clean, ld_corr)
    resid = torch.stack(
        [
            ((clean[name] - corr[name].detach()) * grads[name]).sum(dim=(0, 2))  # [pos]; LD is a batch mean
            for name in _resid_names(model)
        ]
    )
    heads = torch.stack(
        [
            ((clean[name] - corr[name].detach()) * grads[name]).sum(dim=(0, 1, 3))  # [head]
            for name in _z_names(model)
        ]
    )
    return {"resid": resid / gap, "heads": heads / gap, "ld_clean": ld_clean, "ld_corrupted": ld_corr}


def patching_analysis(model: HookedModel, pair: PatchingPair) -> AnalysisReport:
    """Exact and attribution patching, their agreement, and three figures."""
    exact = activation_patching(model, pair)
    approx = attribution_patching(model, pair)
    exact_resid, exact_heads = _tensor(exact["resid"]), _tensor(exact["heads"])
    approx_resid, approx_heads = _tensor(approx["resid"]), _tensor(approx["heads"])
    metrics = {
        "ld_clean": exact["ld_clean"],
        "ld_corrupted": exact["ld_corrupted"],
        "resid_patching": exact_resid.tolist(),
        "head_patching": exact_heads.tolist(),
        "resid_attribution": approx_resid.tolist(),
        "head_attribution": approx_heads.tolist(),
        "attribution_correlation": {
            "resid": _pearson(exact_resid, approx_resid),
            "heads": _pearson(exact_heads, approx_heads),
        },
        "top_heads": [
            {
                "head": head_label(i // exact_heads.shape[1], i % exact_heads.shape[1]),
                "patching": exact_heads.flatten()[i].item(),
            }
            for i in exact_heads.flatten().abs().argsort(descending=True)[:3].tolist()
        ],
    }
    figures = {
        "resid_patching": _heatmap(
            exact_resid, "residual stream patching (share of LD restored)", "position", "layer"
        ),
        "head_patching": _heatmap(
            exact_heads, "head output patching (share of LD restored)", "head", "layer"
        ),
        "attribution_scatter": _scatter(exact_resid, approx_resid, exact_heads, approx_heads),
    }
    return AnalysisReport(metrics, figures)


def _partial_position(position: int, value: Tensor) -> partial[Tensor]:
    return partial(patch_position, position=position, value=value)


def _partial_head(head: int, value: Tensor) -> partial[Tensor]:
    return partial(replace_slice, index=head, value=value)


def _tensor(value: Tensor | float) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError("expected a tensor")
    return value


def _nonzero_gap(ld_clean: float, ld_corr: float) -> float:
    gap = ld_clean - ld_corr
    if abs(gap) < 1e-6:
        raise ValueError(
            "clean and corrupted prompts give the same logit difference; there is nothing to patch"
        )
    return gap


def _pearson(a: Tensor, b: Tensor) -> float | None:
    x, y = a.flatten().double(), b.flatten().double()
    if x.numel() < 2 or float(x.std()) == 0.0 or float(y.std()) == 0.0:
        return None
    return float(torch.corrcoef(torch.stack([x, y]))[0, 1])


def _heatmap(table: Tensor, title: str, xlabel: str, ylabel: str) -> Figure:
    figure = new_figure(width=max(3.5, 0.45 * table.shape[1] + 2.0), height=0.5 * table.shape[0] + 2.0)
    ax = figure.subplots()
    bound = max(float(table.abs().max()), 1e-6)
    image = ax.imshow(table.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(table.shape[1]))
    ax.set_yticks(range(table.shape[0]))
    bar = figure.colorbar(image, ax=ax, shrink=0.8, format=FormatStrFormatter("%.2g"))
    bar.set_label("share of the logit difference restored")
    return figure


def _scatter(exact_resid: Tensor, approx_resid: Tensor, exact_heads: Tensor, approx_heads: Tensor) -> Figure:
    figure = new_figure(width=4.4, height=4.0)
    ax = figure.subplots()
    ax.scatter(
        exact_resid.flatten().numpy(),
        approx_resid.flatten().numpy(),
        s=14,
        label="residual (layer, position)",
    )
    ax.scatter(exact_heads.flatten().numpy(), approx_heads.flatten().numpy(), s=22, marker="x", label="heads")
    values = np.concatenate(
        [t.flatten().numpy() for t in (exact_resid, approx_resid, exact_heads, approx_heads)]
    )
    low, high = float(min(values.min(), 0.0)), float(max(values.max(), 1.0))
    ax.plot(
        [low, high], [low, high], color="grey", linewidth=0.8, linestyle="--", label="y = x: exact agreement"
    )
    ax.set_xlabel("activation patching (exact; share of LD restored)")
    ax.set_ylabel("attribution patching (gradient; share of LD)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5))
        axis.set_major_formatter(FormatStrFormatter("%.2g"))
    ax.set_title("attribution vs exact patching", fontsize=9)
    ax.legend(fontsize=7)
    return figure
