"""Attention-pattern summaries per head: previous-token, duplicate-token, induction, first-token.

For one sequence x_0 … x_{T−1} and a head with attention pattern A (A[i, j] is the
weight query position i gives key position j ≤ i, rows sum to 1), each head type
has a 0/1 detection pattern D over the (i, j) pairs with j ≤ i:

    previous token   D[i, j] = [j = i − 1]
    duplicate token  D[i, j] = [j < i and x_j = x_i]
    induction        D[i, j] = [1 ≤ j ≤ i and x_{j−1} = x_i]   (the token after an earlier copy)
    first token      D[i, j] = [j = 0]

and the score is the share of the head's attention that lands on D:

    score = Σ_ij A[i, j] D[i, j] / Σ_ij A[i, j]

(TransformerLens's head detector with `error_measure="mul"`; with `exclude_bos` /
`exclude_current_token` the entries A[:, 0] / A[i, i] are zeroed in both sums).
Scores are averaged over the sequences of the batch. Cost: one forward pass
(O(batch · layers · (pos · d_model² + heads · pos²))) plus O(layers · heads · batch · pos²).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from analysis_workers.interp.readout import HookedModel
from analysis_workers.interp.report import AnalysisReport, head_label, new_figure

HEAD_KINDS = ("previous_token", "duplicate_token", "induction", "first_token")


def detection_patterns(tokens: Tensor) -> dict[str, Tensor]:
    """kind → 0/1 float pattern [batch, query_pos, key_pos] for tokens [batch, pos]."""
    batch, n_pos = tokens.shape
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=tokens.device).tril()  # [q, k]
    same = tokens.unsqueeze(2) == tokens.unsqueeze(1)  # [batch, q, k]: x_q == x_k
    strictly_before = causal & ~torch.eye(n_pos, dtype=torch.bool, device=tokens.device)
    duplicate = same & strictly_before
    induction = torch.zeros_like(duplicate)
    induction[:, :, 1:] = duplicate[:, :, :-1]  # key j marks x_{j−1} == x_q with j − 1 < q
    previous = torch.zeros(n_pos, n_pos, dtype=torch.bool, device=tokens.device)
    previous[1:, :-1] = torch.eye(n_pos - 1, dtype=torch.bool, device=tokens.device)
    first = torch.zeros(n_pos, n_pos, dtype=torch.bool, device=tokens.device)
    first[:, 0] = True
    return {
        "previous_token": previous.expand(batch, n_pos, n_pos).float(),
        "duplicate_token": duplicate.float(),
        "induction": (induction & causal).float(),
        "first_token": first.expand(batch, n_pos, n_pos).float(),
    }


def attention_patterns(model: HookedModel, tokens: Tensor) -> Tensor:
    """Every head's pattern, stacked: [layer, batch, head, query_pos, key_pos]."""
    with torch.inference_mode():
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("attn.hook_pattern"))
    return torch.stack([cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(model.config.n_layers)])


def head_scores(
    patterns: Tensor,
    detection: Tensor,
    *,
    exclude_bos: bool = False,
    exclude_current_token: bool = False,
) -> Tensor:
    """Share of attention on the detection pattern, averaged over the batch: [layer, head].

    patterns: [layer, batch, head, q, k]; detection: [batch, q, k].
    """
    attention = patterns.clone()
    if exclude_bos:
        attention[..., 0] = 0.0
    if exclude_current_token:
        attention = attention * (1.0 - torch.eye(attention.shape[-1], device=attention.device))
    on_pattern = (attention * detection[None, :, None]).sum(dim=(-2, -1))  # [layer, batch, head]
    return (on_pattern / attention.sum(dim=(-2, -1))).mean(dim=1)  # [layer, head]


def attention_summary(
    model: HookedModel,
    tokens: Tensor,
    *,
    heatmap_prompts: Sequence[int] = (0,),
    exclude_bos: bool = False,
    exclude_current_token: bool = False,
    top_k: int = 3,
) -> AnalysisReport:
    """Scores of every head for each head kind, the top heads per kind, and pattern heatmaps.

    `tokens` [batch, pos] are the prompts (for induction scores, sequences with
    repeats); `heatmap_prompts` picks rows of `tokens` whose patterns are drawn.
    """
    if tokens.dim() != 2 or tokens.shape[1] < 2:
        raise ValueError("tokens must be [batch, pos] with at least two positions")
    for index in heatmap_prompts:
        if not 0 <= index < tokens.shape[0]:
            raise ValueError(f"heatmap prompt {index} is not a row of tokens (batch {tokens.shape[0]})")
    patterns = attention_patterns(model, tokens)
    detections = detection_patterns(tokens)
    scores = {
        kind: head_scores(
            patterns, detection, exclude_bos=exclude_bos, exclude_current_token=exclude_current_token
        )
        for kind, detection in detections.items()
    }
    n_heads = model.config.n_heads
    top_heads: dict[str, list[dict[str, float | int | str]]] = {}
    for kind, table in scores.items():
        order = table.flatten().argsort(descending=True)[:top_k].tolist()
        top_heads[kind] = [
            {
                "head": head_label(i // n_heads, i % n_heads),
                "layer": i // n_heads,
                "index": i % n_heads,
                "score": table.flatten()[i].item(),
            }
            for i in order
        ]
    metrics = {
        "scores": {kind: table.tolist() for kind, table in scores.items()},
        "top_heads": top_heads,
        "n_sequences": tokens.shape[0],
        "seq_len": tokens.shape[1],
        "exclude_bos": exclude_bos,
        "exclude_current_token": exclude_current_token,
    }
    figures = {"head_scores": _score_figure(scores)}
    for index in heatmap_prompts:
        figures[f"patterns_prompt_{index}"] = _pattern_figure(patterns[:, index], tokens[index])
    return AnalysisReport(metrics, figures)


def _score_figure(scores: dict[str, Tensor]) -> Figure:
    figure = new_figure(width=3.2 * len(scores), height=2.8)
    axes = figure.subplots(1, len(scores), squeeze=False)[0]
    for ax, (kind, table) in zip(axes, scores.items(), strict=True):
        image = ax.imshow(table.numpy(), vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_title(kind.replace("_", " "))
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        ax.set_xticks(range(table.shape[1]))
        ax.set_yticks(range(table.shape[0]))
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="score")
    return figure


def _pattern_figure(patterns: Tensor, tokens: Tensor) -> Figure:
    """patterns [layer, head, q, k] of one prompt: a grid of heatmaps, one per head."""
    n_layers, n_heads = patterns.shape[:2]
    figure = new_figure(width=2.2 * n_heads, height=2.2 * n_layers)
    axes = np.atleast_2d(figure.subplots(n_layers, n_heads, squeeze=False))
    labels = [str(t) for t in tokens.tolist()]
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            ax.imshow(patterns[layer, head].numpy(), vmin=0.0, vmax=1.0, cmap="Blues")
            ax.set_title(head_label(layer, head), fontsize=8)
            if len(labels) <= 16:
                ax.set_xticks(range(len(labels)), labels, fontsize=5, rotation=90)
                ax.set_yticks(range(len(labels)), labels, fontsize=5)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
    figure.suptitle("attention patterns (query ↓, key →)", fontsize=9)
    return figure
