"""Sequences on which an induction head can predict the next token.

Sequence i draws a period P_i uniformly from [min_period, max_period] and P_i distinct
tokens (distinct, so each token's previous occurrence is unambiguous); token t is
prefix[t mod P_i]. Next-token prediction at position t (target token t + 1) is
possible *by induction* exactly when t ≥ P_i: the current token occurred before at
t − P_i, and the token that followed it, at t − P_i + 1, is the target. Before that the
target is a fresh random token.
"""

from __future__ import annotations

import torch

from analysis_workers.datasets.dataset import Dataset


def induction_sequences(
    *, n: int, vocab_size: int, seq_len: int, min_period: int, max_period: int, seed: int
) -> Dataset:
    """inputs = tokens[:, :-1], targets = tokens[:, 1:] (both [n, seq_len − 1], int64); extras `tokens`
    [n, seq_len], `induction_mask` [n, seq_len − 1] (True where the target follows by induction),
    `period` [n]."""
    if min_period > max_period:
        raise ValueError(f"min_period ({min_period}) must not exceed max_period ({max_period})")
    if max_period > vocab_size:
        raise ValueError(
            f"max_period ({max_period}) must not exceed vocab_size ({vocab_size}): tokens are distinct"
        )
    if max_period >= seq_len - 1:
        raise ValueError(
            f"max_period ({max_period}) must be below seq_len − 1 ({seq_len - 1}) to leave repeats"
        )
    generator = torch.Generator().manual_seed(seed)
    period = torch.randint(min_period, max_period + 1, (n,), generator=generator)
    prefix = torch.rand(n, vocab_size, generator=generator).argsort(dim=1)[:, :max_period]
    positions = torch.arange(seq_len)
    tokens = prefix.gather(1, positions.unsqueeze(0) % period.unsqueeze(1))
    induction_mask = positions[:-1].unsqueeze(0) >= period.unsqueeze(1)
    return Dataset(
        "induction_sequences",
        tokens[:, :-1],
        tokens[:, 1:],
        {"tokens": tokens, "induction_mask": induction_mask, "period": period},
        {"n": n, "vocab_size": vocab_size, "seq_len": seq_len, "min_period": min_period,
         "max_period": max_period, "seed": seed},
    )  # fmt: skip
