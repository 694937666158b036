"""Head and neuron ablation, with direct and total effects and self-repair.

Notation: L(·) is the task's loss (TokenTask.loss); z_{l,h} [batch, pos, d_head] is
head h of layer l's mixed value (`blocks.{l}.attn.hook_z`), whose contribution to the
residual stream is o_{l,h} = z_{l,h} W_O[l, h]. An ablation replaces z_{l,h} by
z̃_{l,h}: zeros ("zero") or its mean over the batch at each position ("mean").

    total effect   T = L(model with z_{l,h} → z̃_{l,h}) − L(model)
    direct effect  D = L(U(r_final + (z̃ − z) W_O[l, h]; s_final)) − L(model)
    self-repair    S = D − T

where r_final is the clean final residual stream and U(r; s) reads logits through
the final layer norm with its scale s frozen at the clean run's (readout.unembed_residual),
so D is the loss change through the head's direct path alone, with every later
component left as it was. When later components compensate for the missing head
(backup heads, erasure heads, layer-norm rescaling; McGrath et al. 2023 "The Hydra
effect", Rushing & Nanda 2024 "Explorations of self-repair"), the loss rises less
than the direct path predicts and S > 0. S < 0 means the head matters mostly through
later components (an indirect effect), e.g. a previous-token head feeding an induction head.

S is reported only where something after the head can repair it: a later layer, or the MLP
of the head's own block (`self_repair_kind` "downstream"). For a head of the last layer of an
attention-only model nothing can; D − T there is only the final norm's rescaling (kind
"final_norm_only", reported as `norm_rescaling`, not as self-repair) or zero (kind "none"),
and `self_repair` is None.

Neuron ablation replaces one MLP neuron's activation (`blocks.{l}.mlp.hook_post`,
[batch, pos, d_mlp]) by zero or its batch mean and reports the total effect T.

Cost: heads — (1 + layers·heads) forward passes; neurons — one forward pass per
neuron ablated (layers·d_mlp by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator
from torch import Tensor

from analysis_workers.interp.readout import (
    HookedModel,
    final_resid_name,
    head_output_weights,
    unembed_residual,
)
from analysis_workers.interp.report import AnalysisReport, head_label, new_figure
from analysis_workers.interp.task import TokenTask
from analysis_workers.zoo.transformer import HookPoint, Transformer

AblationMethod = Literal["zero", "mean"]
ABLATION_METHODS = ("zero", "mean")


# ------------------------------------------------------------------ hooks: one routine, two variants


def replace_slice(activation: Tensor, hook: HookPoint, *, index: int, value: Tensor) -> Tensor:
    """activation with activation[:, :, index] replaced by `value` (broadcast to [batch, pos, ...])."""
    patched = activation.clone()
    patched[:, :, index] = value
    return patched


def ablated_value(activation_slice: Tensor, method: AblationMethod) -> Tensor:
    """z̃ for one head or neuron: zeros, or the batch mean at each position ([1, pos, ...])."""
    if method == "zero":
        return torch.zeros_like(activation_slice)
    return activation_slice.mean(dim=0, keepdim=True).expand_as(activation_slice)


def ablate_head_hook(layer_z: Tensor, method: AblationMethod, head: int) -> partial[Tensor]:
    """A hook for `blocks.{l}.attn.hook_z` that ablates `head` (value computed from the clean run)."""
    return partial(replace_slice, index=head, value=ablated_value(layer_z[:, :, head], method))


def ablate_neuron_hook(layer_post: Tensor, method: AblationMethod, neuron: int) -> partial[Tensor]:
    """A hook for `blocks.{l}.mlp.hook_post` that ablates `neuron`."""
    return partial(replace_slice, index=neuron, value=ablated_value(layer_post[:, :, neuron], method))


# ------------------------------------------------------------------------------- analyses


def head_ablation(model: HookedModel, task: TokenTask, *, method: AblationMethod = "zero") -> AnalysisReport:
    """Total effect, direct effect and self-repair of ablating each attention head (see module doc)."""
    _check_method(method)
    cfg = model.config
    final_name = final_resid_name(model)
    wanted = {
        final_name,
        "ln_final.hook_scale",
        *(f"blocks.{layer}.attn.hook_z" for layer in range(cfg.n_layers)),
    }
    with torch.inference_mode():
        logits, cache = model.run_with_cache(task.tokens, names_filter=lambda name: name in wanted)
        clean_loss = task.loss(logits).item()
        scale = cache.get("ln_final.hook_scale")
        total = torch.zeros(cfg.n_layers, cfg.n_heads)
        direct = torch.zeros(cfg.n_layers, cfg.n_heads)
        for layer in range(cfg.n_layers):
            z = cache[f"blocks.{layer}.attn.hook_z"]  # [batch, pos, head, d_head]
            w_o = head_output_weights(model, layer)  # [head, d_head, d_model]
            for head in range(cfg.n_heads):
                hook = ablate_head_hook(z, method, head)
                ablated_logits = model.run_with_hooks(task.tokens, [(f"blocks.{layer}.attn.hook_z", hook)])
                total[layer, head] = task.loss(ablated_logits).item() - clean_loss
                delta = (ablated_value(z[:, :, head], method) - z[:, :, head]) @ w_o[head]
                direct_logits = unembed_residual(model, cache[final_name] + delta, scale=scale)
                direct[layer, head] = task.loss(direct_logits).item() - clean_loss
    kinds = [repair_kind(model, layer) for layer in range(cfg.n_layers)]
    difference = direct - total
    repairable = torch.tensor([kind == "downstream" for kind in kinds]).unsqueeze(1).expand_as(difference)
    self_repair = torch.where(repairable, difference, torch.nan)
    heads = [
        {
            "head": head_label(layer, head),
            "layer": layer,
            "index": head,
            "total_effect": total[layer, head].item(),
            "direct_effect": direct[layer, head].item(),
            "self_repair": difference[layer, head].item() if kinds[layer] == "downstream" else None,
            "self_repair_kind": kinds[layer],
            **(
                {"norm_rescaling": difference[layer, head].item()}
                if kinds[layer] == "final_norm_only"
                else {}
            ),
        }
        for layer in range(cfg.n_layers)
        for head in range(cfg.n_heads)
    ]
    metrics = {
        "method": method,
        "clean_loss": clean_loss,
        "total_effect": total.tolist(),
        "direct_effect": direct.tolist(),
        "self_repair": [[None if v != v else v for v in row] for row in self_repair.tolist()],
        "self_repair_kind": kinds,
        "heads": heads,
    }
    figures = {
        "head_ablation": _effect_heatmaps(
            {"total effect": total, "direct effect": direct, "self-repair (direct − total)": self_repair}
        ),
        "self_repair_scatter": _direct_total_scatter(direct, total, kinds),
    }
    return AnalysisReport(metrics, figures)


def repair_kind(model: HookedModel, layer: int) -> str:
    """What can compensate for a head of `layer`: "downstream" (a later layer, or this block's
    MLP), "final_norm_only" (nothing but the final norm's rescaling) or "none"."""
    cfg = model.config
    if layer < cfg.n_layers - 1 or not getattr(cfg, "attn_only", False):
        return "downstream"
    normalised = not isinstance(model, Transformer) or model.config.normalization is not None
    return "final_norm_only" if normalised else "none"


def neuron_ablation(
    model: HookedModel,
    task: TokenTask,
    *,
    method: AblationMethod = "zero",
    layers: Sequence[int] | None = None,
    top_k: int = 10,
) -> AnalysisReport:
    """Total effect on the loss of ablating each MLP neuron of `layers` (default: every layer)."""
    _check_method(method)
    cfg = model.config
    if cfg.attn_only:
        raise ValueError("an attention-only model has no MLP neurons")
    chosen = list(range(cfg.n_layers)) if layers is None else list(layers)
    for layer in chosen:
        if not 0 <= layer < cfg.n_layers:
            raise ValueError(f"layer {layer} does not exist (n_layers={cfg.n_layers})")
    wanted = {f"blocks.{layer}.mlp.hook_post" for layer in chosen}
    effects: dict[int, Tensor] = {}
    with torch.inference_mode():
        logits, cache = model.run_with_cache(task.tokens, names_filter=lambda name: name in wanted)
        clean_loss = task.loss(logits).item()
        for layer in chosen:
            name = f"blocks.{layer}.mlp.hook_post"
            post = cache[name]  # [batch, pos, d_mlp]
            effects[layer] = torch.tensor(
                [
                    task.loss(
                        model.run_with_hooks(task.tokens, [(name, ablate_neuron_hook(post, method, n))])
                    ).item()
                    - clean_loss
                    for n in range(cfg.d_mlp)
                ]
            )
    ranked = sorted(
        ((layer, n, effect) for layer, row in effects.items() for n, effect in enumerate(row.tolist())),
        key=lambda item: -abs(item[2]),
    )[:top_k]
    metrics = {
        "method": method,
        "clean_loss": clean_loss,
        "total_effect": {str(layer): row.tolist() for layer, row in effects.items()},
        "top_neurons": [{"layer": layer, "neuron": n, "total_effect": effect} for layer, n, effect in ranked],
    }
    return AnalysisReport(metrics, {"neuron_ablation": _neuron_figure(effects)})


def _check_method(method: str) -> None:
    if method not in ABLATION_METHODS:
        raise ValueError(f"ablation method must be one of {list(ABLATION_METHODS)}, got {method!r}")


# ------------------------------------------------------------------------------- figures


def _effect_heatmaps(tables: dict[str, Tensor]) -> Figure:
    """One heatmap per table (layer × head), each with a colour bar labelled in nats whose ticks
    carry their own scale (no easy-to-miss 1e-6 multiplier); NaN cells (no self-repair
    possible) are grey and marked n/a."""
    figure = new_figure(width=3.6 * len(tables), height=3.0)
    axes = figure.subplots(1, len(tables), squeeze=False)[0]
    for ax, (title, table) in zip(axes, tables.items(), strict=True):
        finite = table[torch.isfinite(table)]
        bound = max(float(finite.abs().max()) if finite.numel() else 0.0, 1e-6)
        colours = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
        image = ax.imshow(table.numpy(), cmap=colours, vmin=-bound, vmax=bound, aspect="auto")
        for layer, head in torch.isnan(table).nonzero().tolist():
            ax.text(head, layer, "n/a", ha="center", va="center", fontsize=7, color="#555555")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        ax.set_xticks(range(table.shape[1]))
        ax.set_yticks(range(table.shape[0]))
        bar = figure.colorbar(image, ax=ax, shrink=0.8, format=FormatStrFormatter("%.2g"))
        bar.set_label("Δ loss (nats)")
    if any(bool(torch.isnan(table).any()) for table in tables.values()):
        figure.suptitle(
            "n/a: no component after the head can repair it (last layer, attention only)", fontsize=8
        )
    return figure


COMPENSATED = "compensated: total < direct, direct > 0"


def _direct_total_scatter(direct: Tensor, total: Tensor, kinds: Sequence[str]) -> Figure:
    """Total against direct effect per head. On the line y = x nothing compensates; a head in the
    shaded region (direct > 0 and total < direct: self-repair > 0) is compensated by later components. The title counts them
    from the data, so it never claims what the points do not show."""
    figure = new_figure(width=4.6, height=4.2)
    ax = figure.subplots()
    low = min(float(direct.min()), float(total.min()), 0.0)
    high = max(float(direct.max()), float(total.max()), 0.0)
    pad = 0.05 * max(high - low, 1e-6)
    low, high = low - pad, high + pad
    ax.fill_between([0.0, high], [low, low], [0.0, high], color="tab:green", alpha=0.12, label=COMPENSATED)
    ax.plot(
        [low, high], [low, high], color="grey", linewidth=0.8, linestyle="--", label="y = x: no self-repair"
    )
    repairable = [[kinds[layer] == "downstream"] * direct.shape[1] for layer in range(direct.shape[0])]
    mask = torch.tensor(repairable)
    ax.scatter(direct[mask].numpy(), total[mask].numpy(), s=18, color="tab:blue", label="head")
    if not bool(mask.all()):
        ax.scatter(direct[~mask].numpy(), total[~mask].numpy(), s=24, facecolors="none", edgecolors="grey",
                   label="last layer: nothing after it to repair")  # fmt: skip
    compensated = []
    for layer in range(direct.shape[0]):
        for head in range(direct.shape[1]):
            d, t = float(direct[layer, head]), float(total[layer, head])
            ax.annotate(
                head_label(layer, head), (d, t), fontsize=6, xytext=(2, 2), textcoords="offset points"
            )
            if repairable[layer][head] and d > 0 and d - t > 1e-3 * d:
                compensated.append(head_label(layer, head))
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5))
        axis.set_major_formatter(FormatStrFormatter("%.2g"))
    ax.set_xlabel("direct effect of ablating the head (Δ loss, nats)")
    ax.set_ylabel("total effect of ablating the head (Δ loss, nats)")
    named = ", ".join(compensated[:6]) + (" …" if len(compensated) > 6 else "")
    ax.set_title(
        f"{len(compensated)} head(s) compensated by later components: {named}"
        if compensated
        else "no head is compensated by later components (none in the shaded region)",
        fontsize=8,
    )
    ax.legend(fontsize=6, loc="upper left")
    return figure


def _neuron_figure(effects: dict[int, Tensor]) -> Figure:
    figure = new_figure(width=6.0, height=1.8 + 1.4 * len(effects))
    axes = np.atleast_1d(figure.subplots(len(effects), 1, squeeze=False)[:, 0])
    for ax, (layer, row) in zip(axes, effects.items(), strict=True):
        ax.bar(range(len(row)), row.numpy(), width=1.0)
        ax.set_title(f"layer {layer}: Δ loss when each neuron is ablated", fontsize=9)
        ax.set_xlabel("neuron")
        ax.set_ylabel("Δ loss")
    return figure
