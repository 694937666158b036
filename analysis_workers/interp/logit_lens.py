"""Logit lens: read the prediction off the residual stream after each layer (nostalgebraist 2020).

Stage s = 0 is the embedding (`blocks.0.hook_resid_pre`), stage s = l + 1 the residual
stream after block l (`blocks.{l}.hook_resid_post`); the last stage gives the model's
own logits. At each stage the residual r_s goes through the final layer norm (scale
recomputed from r_s) and the unembedding, U(r_s) = LN_final(r_s) W_U + b_U, and we
report over the task's masked positions:

    loss_s = mean −log softmax(U(r_s))[target]
    rank_s = mean #{v ≠ target : U(r_s)_v ≥ U(r_s)_target}   (0 when the target is strictly on top;
             ties count against the target, so a flat read-out gets rank d_vocab − 1)
    accuracy_s = share of positions where the rank is 0

Cost: one forward pass plus (layers + 1) unembeddings: O(batch · pos · d_model · d_vocab) each.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis_workers.interp.readout import HookedModel, unembed_residual
from analysis_workers.interp.report import AnalysisReport, new_figure
from analysis_workers.interp.task import TokenTask


def stage_names(model: HookedModel) -> list[str]:
    """Hook names of the residual stream at stages 0 … n_layers."""
    return ["blocks.0.hook_resid_pre"] + [
        f"blocks.{layer}.hook_resid_post" for layer in range(model.config.n_layers)
    ]


def logit_lens(model: HookedModel, task: TokenTask) -> AnalysisReport:
    names = stage_names(model)
    with torch.inference_mode():
        _, cache = model.run_with_cache(task.tokens, names_filter=names)
        losses, ranks, accuracies = [], [], []
        n_masked = task.mask.sum()
        for name in names:
            logits = unembed_residual(model, cache[name])  # [batch, pos, d_vocab]
            target = logits.gather(-1, task.targets.unsqueeze(-1))  # [batch, pos, 1]
            rank = (logits >= target).sum(-1) - 1  # [batch, pos]; the target itself always ties
            losses.append(task.loss(logits).item())
            ranks.append(((rank * task.mask).sum() / n_masked).item())
            accuracies.append((((rank == 0) & task.mask).sum() / n_masked).item())
    labels = ["embed"] + [f"after L{layer}" for layer in range(model.config.n_layers)]  # stage s
    metrics = {"stages": labels, "loss": losses, "mean_rank": ranks, "accuracy": accuracies}
    return AnalysisReport(metrics, {"logit_lens": _figure(labels, losses, ranks)})


def _figure(labels: list[str], losses: list[float], ranks: list[float]) -> Figure:
    """Loss and rank against the stage number (0 = the embedding, l + 1 = after block l): integer
    ticks that matplotlib thins as the model grows, so the labels never collide."""
    figure = new_figure(width=7.0, height=3.0)
    loss_ax, rank_ax = figure.subplots(1, 2)
    stages = list(range(len(labels)))
    loss_ax.plot(stages, losses, marker="o")
    loss_ax.set_ylabel("cross-entropy of the correct token (nats)")
    loss_ax.set_title("loss", fontsize=9)
    rank_ax.plot(stages, ranks, marker="o", color="tab:orange")
    rank_ax.set_ylabel("mean rank of the correct token (0 = top)")
    rank_ax.set_title("rank", fontsize=9)
    for ax in (loss_ax, rank_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(stages), 10)))
        ax.set_xlabel("read after block (0 = embedding)")
    figure.suptitle("logit lens: the prediction read off the residual stream", fontsize=9)
    return figure
