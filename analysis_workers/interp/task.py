"""The behaviour an analysis measures: prompts, the token each position should predict, and where it counts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class TokenTask:
    """tokens [batch, pos] (int64), targets [batch, pos] (int64), mask [batch, pos] (bool).

    The loss is the mean cross-entropy −log softmax(logits[b, t])[targets[b, t]] over
    the positions (b, t) where mask is true; targets elsewhere are ignored.
    """

    tokens: Tensor
    targets: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        if self.tokens.dim() != 2:
            raise ValueError(f"tokens must be [batch, pos], got shape {tuple(self.tokens.shape)}")
        if self.targets.shape != self.tokens.shape or self.mask.shape != self.tokens.shape:
            raise ValueError("tokens, targets and mask must have the same shape [batch, pos]")
        if self.mask.dtype != torch.bool:
            raise ValueError("mask must be a bool tensor")
        if not bool(self.mask.any()):
            raise ValueError("mask selects no position; the loss would be undefined")

    def per_position_loss(self, logits: Tensor) -> Tensor:
        """Cross-entropy at every position [batch, pos] (zero where mask is false)."""
        losses = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),  # [batch·pos, d_vocab]
            self.targets.reshape(-1),  # [batch·pos]
            reduction="none",
        ).reshape(self.tokens.shape)  # [batch, pos]
        return losses * self.mask

    def loss(self, logits: Tensor) -> Tensor:
        return self.per_position_loss(logits).sum() / self.mask.sum()

    def target_logit(self, logits: Tensor) -> Tensor:
        """Mean logit of the correct token over the masked positions (a scalar)."""
        chosen = logits.gather(-1, self.targets.unsqueeze(-1)).squeeze(-1)  # [batch, pos]
        return (chosen * self.mask).sum() / self.mask.sum()


def next_token_task(tokens: Tensor, mask: Tensor | None = None) -> TokenTask:
    """Predict token t + 1 at position t; `mask` [batch, pos] picks positions (default: all but the last)."""
    targets = torch.zeros_like(tokens)
    targets[:, :-1] = tokens[:, 1:]
    if mask is None:
        mask = torch.ones_like(tokens, dtype=torch.bool)
    mask = mask.clone()
    mask[:, -1] = False
    return TokenTask(tokens, targets, mask)


def last_position_task(tokens: Tensor, answers: Tensor) -> TokenTask:
    """Predict `answers` [batch] at the last position only (e.g. modular addition's "a b =")."""
    targets = torch.zeros_like(tokens)
    targets[:, -1] = answers
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, -1] = True
    return TokenTask(tokens, targets, mask)
