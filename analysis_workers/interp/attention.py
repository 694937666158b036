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

**The standard construction** (`standard_attention_report`, what the `attention_patterns` kind
reports; Olsson et al. 2022, TransformerLens's induction score): sequences of a first token
followed by L random tokens repeated once, x = [t₀, x₁…x_L, x₁…x_L] (positions 0…2L), with
L = min(50, ⌊(n_ctx − 1)/2⌋, d_vocab − 1) and no token repeated inside a half, so each token of
the second half has exactly one earlier copy, at q − L. Over the second half's queries q:

    induction        = mean A[q, q − L + 1]   (the token after the earlier copy)
    duplicate token  = mean A[q, q − L]       (the earlier copy itself)

and over every query q ≥ 1: previous token = mean A[q, q − 1], first token = mean A[q, 0].
On a model whose context cannot hold two halves of `MIN_HALF_LENGTH` tokens, induction and
duplicate-token scores are not measured (None, with the reason), and the previous- and
first-token scores come from the dataset's own prompts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from analysis_workers.interp.readout import HookedModel
from analysis_workers.interp.report import AnalysisReport, head_label, new_figure

HEAD_KINDS = ("previous_token", "duplicate_token", "induction", "first_token")
STANDARD_HALF_LENGTH = 50
MIN_HALF_LENGTH = 4
MAX_TOKEN_TICKS = 12


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
    figures = {"head_scores": _score_figure(dict(scores))}
    for index in heatmap_prompts:
        figures[f"patterns_prompt_{index}"] = _pattern_figure(patterns[:, index], tokens[index])
    return AnalysisReport(metrics, figures)


def repeated_random_tokens(
    *, batch: int, half_length: int, vocab_size: int, generator: torch.Generator
) -> Tensor:
    """[batch, 1 + 2·half_length]: token 0, then `half_length` distinct random tokens from
    1…vocab_size − 1, then the same tokens again (the standard induction construction)."""
    if not 1 <= half_length < vocab_size:
        raise ValueError(f"half_length must be in 1…{vocab_size - 1}, got {half_length}")
    half = torch.rand(batch, vocab_size - 1, generator=generator).argsort(dim=1)[:, :half_length] + 1
    first = torch.zeros(batch, 1, dtype=torch.long)
    return torch.cat([first, half, half], dim=1)


def adequate_half_length(n_ctx: int, vocab_size: int) -> int | None:
    """L for the standard construction on this model, or None when it would be below `MIN_HALF_LENGTH`."""
    half = min(STANDARD_HALF_LENGTH, (n_ctx - 1) // 2, vocab_size - 1)
    return half if half >= MIN_HALF_LENGTH else None


def repeated_sequence_scores(patterns: Tensor, half_length: int) -> dict[str, Tensor]:
    """The standard stripe scores [layer, head] of patterns [layer, batch, head, q, k] on
    `repeated_random_tokens` (see the module docstring)."""
    n_pos = patterns.shape[-1]
    second = torch.arange(half_length + 1, n_pos)  # queries whose token occurred before
    everyone = torch.arange(1, n_pos)

    def stripe(queries: Tensor, keys: Tensor) -> Tensor:
        return patterns[..., queries, keys].mean(dim=(1, -1))  # [layer, head]

    return {
        "previous_token": stripe(everyone, everyone - 1),
        "duplicate_token": stripe(second, second - half_length),
        "induction": stripe(second, second - half_length + 1),
        "first_token": stripe(everyone, torch.zeros_like(everyone)),
    }


def standard_attention_report(
    model: HookedModel, prompts: Tensor, *, sequences: int, generator: torch.Generator, top_k: int = 3
) -> AnalysisReport:
    """Head scores on the standard construction (module docstring), the top heads per kind, and
    one sequence's patterns with its tokens on the axes; previous- and first-token scores on
    `prompts` (the dataset's) when the context is too short for it."""
    cfg = model.config
    half = adequate_half_length(int(cfg.n_ctx), int(cfg.d_vocab))
    scores: dict[str, Tensor | None]
    if half is not None:
        tokens = repeated_random_tokens(
            batch=sequences, half_length=half, vocab_size=int(cfg.d_vocab), generator=generator
        )
        patterns = attention_patterns(model, tokens)
        scores = dict(repeated_sequence_scores(patterns, half))
        construction = {
            "name": "repeated random tokens",
            "half_length": half,
            "sequences": sequences,
            "description": f"token 0, then {half} distinct random tokens, repeated once ({2 * half + 1} tokens)",
        }
    else:
        tokens = prompts
        patterns = attention_patterns(model, tokens)
        detections = detection_patterns(tokens)
        scores = {kind: head_scores(patterns, detections[kind]) for kind in ("previous_token", "first_token")}
        scores = {"previous_token": scores["previous_token"], "duplicate_token": None, "induction": None,
                  "first_token": scores["first_token"]}  # fmt: skip
        construction = {
            "name": "dataset prompts",
            "sequences": int(tokens.shape[0]),
            "description": f"the model's context ({cfg.n_ctx} tokens) cannot hold a sequence repeated "
            f"with halves of {MIN_HALF_LENGTH}; induction and duplicate-token scores are not measured",
        }
    top_heads: dict[str, list[dict[str, float | int | str]]] = {}
    for kind, table in scores.items():
        if table is None:
            continue
        order = table.flatten().argsort(descending=True)[:top_k].tolist()
        top_heads[kind] = [
            {"head": head_label(i // cfg.n_heads, i % cfg.n_heads), "layer": i // cfg.n_heads,
             "index": i % cfg.n_heads, "score": table.flatten()[i].item()}
            for i in order
        ]  # fmt: skip
    metrics = {
        "scores": {kind: None if table is None else table.tolist() for kind, table in scores.items()},
        "top_heads": top_heads,
        "construction": construction,
        "n_sequences": int(tokens.shape[0]),
        "seq_len": int(tokens.shape[1]),
    }
    figures = {
        "head_scores": _score_figure(scores, str(construction["description"])),
        "patterns_prompt_0": _pattern_figure(patterns[:, 0], tokens[0]),
    }
    return AnalysisReport(metrics, figures)


def _score_figure(scores: Mapping[str, Tensor | None], construction: str = "") -> Figure:
    figure = new_figure(width=3.2 * len(scores), height=3.0)
    axes = figure.subplots(1, len(scores), squeeze=False)[0]
    image = None
    for ax, (kind, table) in zip(axes, scores.items(), strict=True):
        ax.set_title(kind.replace("_", " "))
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        if table is None:
            ax.text(0.5, 0.5, "not measured:\ncontext too short", ha="center", va="center", fontsize=8,
                    transform=ax.transAxes, color="#555555")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        image = ax.imshow(table.numpy(), vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_xticks(range(table.shape[1]))
        ax.set_yticks(range(table.shape[0]))
    if image is not None:
        figure.colorbar(image, ax=list(axes), shrink=0.8, label="score: share of attention (0–1)")
    if construction:
        figure.suptitle(f"head scores on {construction}", fontsize=8)
    return figure


def _pattern_figure(patterns: Tensor, tokens: Tensor) -> Figure:
    """patterns [layer, head, q, k] of one sequence: a grid of heatmaps, one per head, with the
    sequence's token ids on both axes (every k-th position when it is long) and a colour bar."""
    n_layers, n_heads = patterns.shape[:2]
    figure = new_figure(width=2.4 * n_heads + 0.8, height=2.4 * n_layers + 0.4)
    axes = np.atleast_2d(figure.subplots(n_layers, n_heads, squeeze=False))
    labels = [str(t) for t in tokens.tolist()]
    stride = max(1, math.ceil(len(labels) / MAX_TOKEN_TICKS))
    ticks = list(range(0, len(labels), stride))
    image = None
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            image = ax.imshow(patterns[layer, head].numpy(), vmin=0.0, vmax=1.0, cmap="Blues")
            ax.set_title(head_label(layer, head), fontsize=8)
            ax.set_xticks(ticks, [labels[i] for i in ticks], fontsize=5, rotation=90)
            ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=5)
            ax.set_xlabel("key token", fontsize=6)
            ax.set_ylabel("query token", fontsize=6)
    if image is not None:
        figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="attention weight (0–1)")
    every = f", every {stride}th position" if stride > 1 else ""
    figure.suptitle(f"attention patterns of one sequence (token ids{every})", fontsize=9)
    return figure
