"""Modular addition as in Nanda et al. 2023 ("Progress measures for grokking via mechanistic
interpretability"): every pair (a, b) ∈ [0, p)² becomes the tokens [a, b, =] with the
'=' token id p (vocabulary p + 1), the target is (a + b) mod p, and a random
`train_fraction` of the p² pairs is the training split, the rest the test split.
"""

from __future__ import annotations

import torch

from analysis_workers.datasets.dataset import Dataset


def modular_addition(*, p: int, train_fraction: float, seed: int) -> Dataset:
    """Training split as inputs/targets; extras `test_inputs`, `test_targets`, `train_index`, `test_index`
    (indices into the p² pairs in row-major (a, b) order)."""
    pairs = p * p
    train_size = round(train_fraction * pairs)
    if not 1 <= train_size <= pairs - 1:
        raise ValueError(
            f"train_fraction {train_fraction} leaves {train_size} of {pairs} pairs for training; "
            "both splits need at least one pair"
        )
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    tokens = torch.stack([a, b, torch.full_like(a, p)], dim=1)
    targets = (a + b) % p
    order = torch.randperm(pairs, generator=torch.Generator().manual_seed(seed))
    train_index, test_index = order[:train_size], order[train_size:]
    return Dataset(
        "modular_addition",
        tokens[train_index],
        targets[train_index],
        {
            "test_inputs": tokens[test_index],
            "test_targets": targets[test_index],
            "train_index": train_index,
            "test_index": test_index,
        },
        {"p": p, "train_fraction": train_fraction, "seed": seed, "equals_token": p, "vocab_size": p + 1},
    )
