"""Progress measures for grokking modular addition (Nanda et al. 2023, "Progress measures for grokking via
mechanistic interpretability").

Inputs: a checkpoint series of a one-layer model on (a, b, =) ↦ (a + b) mod p, with
the token grid ordered a-major (row a·p + b is (a, b, p)) and the training rows.

Fourier basis on ℤ_p: the constant 1/√p and, for frequency k = 1 … ⌊(p−1)/2⌋,
cos(2πkx/p) and sin(2πkx/p) scaled to unit norm. With E = W_E[:p] ∈ ℝ^{p×d_model},

    norm_k = ‖(cos_k, sin_k)ᵀ E‖²_F        (embedding energy at frequency k)

Key frequencies K are the n_key with the largest norm_k at the *last* checkpoint, and
the key-frequency share at each checkpoint is Σ_{k∈K} norm_k / Σ_k norm_k (k ≥ 1).

Let L[a, b, c] be the logits at the last position for answers c < p. For k ∈ K, the
directions u_k(a, b) = cos(2πk(a+b)/p) and v_k(a, b) = sin(2πk(a+b)/p) over the p²
grid are orthogonal; P_K L is L's projection (for each c) onto their span, and L̄ its
mean over (a, b). Then

    restricted loss = CE(L̄ + P_K L) over all p² pairs    (only the key frequencies kept)
    excluded loss   = CE(L − P_K L) on the training pairs (the key frequencies removed)

Restricted loss falls before test loss does (the generalising circuit forms); excluded
loss rises as memorisation is cleaned up. We also record train/test loss and accuracy
and the total squared weight norm Σ‖θ‖², which weight decay drives down.

Cost per checkpoint: one forward pass on p² prompts plus O(|K| · p³) for the projections.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from analysis_workers.interp.report import AnalysisReport, new_figure
from analysis_workers.zoo.transformer import Transformer, TransformerConfig


def fourier_basis(p: int) -> tuple[Tensor, list[int]]:
    """Orthonormal basis [p, p] (rows) of functions on ℤ_p and each row's frequency."""
    x = torch.arange(p, dtype=torch.float64)
    rows, frequencies = [torch.ones(p, dtype=torch.float64)], [0]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        frequencies.append(k)
        if 2 * k != p:
            rows.append(torch.sin(2 * math.pi * k * x / p))
            frequencies.append(k)
    basis = torch.stack(rows)
    return basis / basis.norm(dim=1, keepdim=True), frequencies


def embedding_frequency_norms(embedding: Tensor, p: int) -> Tensor:
    """norm_k for k = 0 … p//2 from E = W_E[:p] [p, d_model]."""
    basis, frequencies = fourier_basis(p)
    energy = (basis @ embedding.double()).pow(2).sum(dim=1)  # [p]
    norms = torch.zeros(p // 2 + 1, dtype=torch.float64)
    norms.index_add_(0, torch.tensor(frequencies), energy)
    return norms


def key_frequency_projection(logits: Tensor, p: int, key: Sequence[int]) -> Tensor:
    """P_K L for logits [p, p, p] indexed (a, b, c)."""
    a = torch.arange(p, dtype=torch.float64)
    total = (a[:, None] + a[None, :]) * (2 * math.pi / p)  # [p, p]: 2π(a + b)/p
    projection = torch.zeros_like(logits, dtype=torch.float64)
    for k in key:
        for direction in (torch.cos(k * total), torch.sin(k * total)):
            direction = direction / direction.norm()
            coefficients = torch.einsum("abc,ab->c", logits.double(), direction)  # [p]
            projection += direction[:, :, None] * coefficients[None, None, :]
    return projection


def grokking_progress(
    config: TransformerConfig,
    checkpoints: Sequence[tuple[int, Mapping[str, Tensor]]],
    *,
    p: int,
    train_indices: Tensor,
    n_key_frequencies: int = 5,
    step_label: str = "training step",
) -> AnalysisReport:
    if not checkpoints:
        raise ValueError("need at least one checkpoint")
    if config.d_vocab < p + 1 or config.n_ctx < 3:
        raise ValueError("the model must read tokens 0 … p (p is '=') and three positions")
    if not 1 <= n_key_frequencies <= p // 2:
        raise ValueError(f"n_key_frequencies must be between 1 and {p // 2}")
    a = torch.arange(p).repeat_interleave(p)  # [p²]
    b = torch.arange(p).repeat(p)  # [p²]
    tokens = torch.stack([a, b, torch.full_like(a, p)], dim=1)  # [p², 3]
    labels = (a + b) % p
    is_train = torch.zeros(p * p, dtype=torch.bool)
    is_train[train_indices] = True

    model = Transformer(config)  # our own instance: the caller's tensors are only read
    final_norms = embedding_frequency_norms(checkpoints[-1][1]["embed.W_E"][:p], p)
    key = (final_norms[1:].argsort(descending=True)[:n_key_frequencies] + 1).tolist()
    series: dict[str, list[float]] = {
        name: []
        for name in (
            "step", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
            "restricted_loss", "excluded_loss", "weight_norm", "key_frequency_share",
        )
    }  # fmt: skip
    with torch.inference_mode():
        for step, state in checkpoints:
            model.load_state_dict(state)
            logits = model(tokens)[:, -1, :p].double()  # [p², p]
            grid = logits.reshape(p, p, p)  # [a, b, c]
            projected = key_frequency_projection(grid, p, key)
            restricted = (grid.mean(dim=(0, 1), keepdim=True) + projected).reshape(p * p, p)
            excluded = (grid - projected).reshape(p * p, p)
            norms = embedding_frequency_norms(state["embed.W_E"][:p], p)
            series["step"].append(step)
            series["train_loss"].append(F.cross_entropy(logits[is_train], labels[is_train]).item())
            series["test_loss"].append(F.cross_entropy(logits[~is_train], labels[~is_train]).item())
            correct = logits.argmax(-1) == labels
            series["train_accuracy"].append(correct[is_train].double().mean().item())
            series["test_accuracy"].append(correct[~is_train].double().mean().item())
            series["restricted_loss"].append(F.cross_entropy(restricted, labels).item())
            series["excluded_loss"].append(F.cross_entropy(excluded[is_train], labels[is_train]).item())
            series["weight_norm"].append(sum(float(t.double().pow(2).sum()) for t in state.values()))
            series["key_frequency_share"].append((norms[key].sum() / norms[1:].sum()).item())
    metrics = {
        "p": p,
        "key_frequencies": key,
        "final_frequency_norms": final_norms.tolist(),
        **series,
    }
    figures = {
        "progress_measures": _progress_figure(series, step_label),
        "embedding_fourier": _fourier_figure(final_norms, key),
    }
    return AnalysisReport(metrics, figures)


def _progress_figure(series: dict[str, list[float]], step_label: str) -> Figure:
    """Losses and Fourier sparsity against each checkpoint's `step` (x axis named `step_label`)."""
    figure = new_figure(width=9.0, height=3.4)
    loss_ax, share_ax = figure.subplots(1, 2)
    for name in ("train_loss", "test_loss", "restricted_loss", "excluded_loss"):
        loss_ax.plot(series["step"], series[name], label=name.replace("_", " "))
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel(step_label)
    loss_ax.set_ylabel("cross-entropy (nats, log scale)")
    loss_ax.set_title("losses", fontsize=9)
    loss_ax.legend(fontsize=7)
    share_ax.plot(
        series["step"], series["key_frequency_share"], color="tab:purple", label="key-frequency share"
    )
    share_ax.set_ylim(0.0, 1.05)
    share_ax.set_xlabel(step_label)
    share_ax.set_ylabel("key frequencies' share of embedding norm² (0–1)")
    share_ax.set_title("Fourier sparsity and weight norm", fontsize=9)
    norm_ax = share_ax.twinx()
    norm_ax.plot(series["step"], series["weight_norm"], color="tab:grey", linestyle="--", label="Σ‖θ‖²")
    norm_ax.set_ylabel("Σ‖θ‖² (sum of squared weights)")
    share_ax.legend(fontsize=7, loc="center left")
    norm_ax.legend(fontsize=7, loc="center right")
    figure.suptitle("grokking progress measures", fontsize=9)
    return figure


def _fourier_figure(norms: Tensor, key: list[int]) -> Figure:
    figure = new_figure(width=6.0, height=2.6)
    ax = figure.subplots()
    colours = ["tab:red" if k in key else "tab:blue" for k in range(len(norms))]
    ax.bar(range(len(norms)), norms.numpy(), color=colours)
    ax.set_xlabel("frequency k")
    ax.set_ylabel("embedding norm²")
    ax.set_title("embedding in the Fourier basis (key frequencies in red)", fontsize=9)
    return figure
