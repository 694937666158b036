"""Induction heads in a two-layer attention-only transformer (after Olsson et al. 2022).

Each training sequence repeats a random block of `period` tokens (period drawn per
sequence from [min_period, max_period]) up to the context length: ... A B C ... A B C ...
The next token is predictable from position `period` on, and only by looking back
to the token after the previous occurrence of the current token — an induction
head (a previous-token head in layer 0 composed with a layer-1 head through its keys).
With one fixed period the model could solve it by position alone and would not form
induction heads, which is why the period varies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from analysis_workers.zoo.transformer import Transformer, TransformerConfig


@dataclass(frozen=True)
class InductionConfig:
    d_vocab: int = 32
    n_ctx: int = 24
    min_period: int = 4
    max_period: int = 10
    d_model: int = 64
    n_heads: int = 4
    steps: int = 600
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    eval_every: int = 50
    checkpoint_every: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.min_period <= self.max_period:
            raise ValueError("periods must satisfy 2 ≤ min_period ≤ max_period")
        if self.n_ctx < 2 * self.max_period:
            raise ValueError("n_ctx must hold at least two repeats of the longest period")
        if self.d_vocab < self.max_period:
            raise ValueError("d_vocab must be at least max_period (blocks draw distinct tokens)")
        for name in ("d_model", "n_heads", "steps", "batch_size", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("lr must be positive and weight_decay non-negative")

    def transformer_config(self) -> TransformerConfig:
        return TransformerConfig(
            d_vocab=self.d_vocab,
            n_ctx=self.n_ctx,
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_head=self.d_model // self.n_heads,
            d_mlp=0,
            n_layers=2,
            normalization="LN",
            attn_only=True,
        )


@dataclass
class InductionRun:
    config: InductionConfig
    model: Transformer
    checkpoints: list[tuple[int, dict[str, Tensor]]]
    history: dict[str, list[float]] = field(default_factory=dict)


def repeated_sequences(
    n: int,
    *,
    d_vocab: int,
    n_ctx: int,
    min_period: int,
    max_period: int,
    generator: torch.Generator,
    random_prefix: bool = True,
    prefix_rule: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """tokens [n, n_ctx] and a mask [n, n_ctx] of positions whose *next* token is predictable.

    Row i starts with `start_i` uniformly random tokens (0 ≤ start_i ≤ n_ctx − 2·period_i;
    none when `random_prefix` is false) and then repeats a block of `period_i` distinct
    random tokens to the end. The token at position t + 1 is predictable from an earlier
    occurrence of token t when t ≥ start_i + period_i (token t has then been seen before,
    followed by the token that comes next). The random start keeps the block from sitting at fixed
    positions, which a model could otherwise memorise instead of learning induction.

    With `prefix_rule` (a permutation ρ of the d_vocab tokens) the prefix is no longer uniform:
    its first two tokens are, and each later one is ρ applied to the token two before it,
    x_{t+1} = ρ(x_{t−1}). Predicting it needs the previous token, so a model trained on it has a
    reason to grow a previous-token head, as models trained on text do (`demo.hf_induction`).
    The random draws are the same with or without the rule.
    """
    periods = torch.randint(min_period, max_period + 1, (n,), generator=generator)  # [n]
    room = (n_ctx - 2 * periods + 1) if random_prefix else torch.ones_like(periods)  # [n]
    starts = (torch.rand(n, generator=generator) * room).long()  # [n], 0 ≤ start < room
    blocks = torch.rand(n, d_vocab, generator=generator).argsort(dim=1)[:, :max_period]  # [n, max_period]
    noise = torch.randint(0, d_vocab, (n, n_ctx), generator=generator)  # [n, n_ctx]
    if prefix_rule is not None:
        if prefix_rule.shape != (d_vocab,):
            raise ValueError(f"prefix_rule must map each of the {d_vocab} tokens: shape ({d_vocab},)")
        for t in range(2, n_ctx):
            noise[:, t] = prefix_rule[noise[:, t - 2]]
    positions = torch.arange(n_ctx).unsqueeze(0)  # [1, n_ctx]
    offset = positions - starts.unsqueeze(1)  # [n, n_ctx]
    index = offset.clamp(min=0) % periods.unsqueeze(1)  # [n, n_ctx]
    tokens = torch.where(offset >= 0, blocks.gather(1, index), noise)  # [n, n_ctx]
    predictable = offset >= periods.unsqueeze(1)  # [n, n_ctx]
    predictable[:, -1] = False  # the last position has no next token in the sequence
    return tokens, predictable


def induction_loss(logits: Tensor, tokens: Tensor, predictable: Tensor) -> Tensor:
    """Mean next-token cross-entropy over the predictable positions."""
    per_token = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),  # [batch·(pos−1), d_vocab]
        tokens[:, 1:].reshape(-1),  # [batch·(pos−1)]
        reduction="none",
    )
    mask = predictable[:, :-1].reshape(-1)  # [batch·(pos−1)]
    return per_token[mask].mean()


def train_induction(
    config: InductionConfig = InductionConfig(), *, device: torch.device | str = "cpu"
) -> InductionRun:
    """Train from `config.seed` on fresh batches; history has the loss on a fixed held-out batch."""
    generator = torch.Generator().manual_seed(config.seed)
    model = Transformer(config.transformer_config(), generator=generator, device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def batch(n: int) -> tuple[Tensor, Tensor]:
        tokens, predictable = repeated_sequences(
            n,
            d_vocab=config.d_vocab,
            n_ctx=config.n_ctx,
            min_period=config.min_period,
            max_period=config.max_period,
            generator=generator,
        )
        return tokens.to(device), predictable.to(device)

    held_out = batch(256)
    history: dict[str, list[float]] = {"step": [], "train_loss": [], "test_loss": []}
    checkpoints: list[tuple[int, dict[str, Tensor]]] = []
    for step in range(config.steps + 1):
        if step % config.checkpoint_every == 0 or step == config.steps:
            checkpoints.append((step, {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}))
        tokens, predictable = batch(config.batch_size)
        if step % config.eval_every == 0 or step == config.steps:
            with torch.inference_mode():
                history["step"].append(step)
                history["train_loss"].append(induction_loss(model(tokens), tokens, predictable).item())
                history["test_loss"].append(induction_loss(model(held_out[0]), *held_out).item())
        if step == config.steps:
            break
        loss = induction_loss(model(tokens), tokens, predictable)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return InductionRun(config, model, checkpoints, history)
