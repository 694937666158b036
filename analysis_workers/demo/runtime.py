"""Process-level settings for worker processes that run the demo trainers and analyses."""

from __future__ import annotations

import contextlib

import torch


def set_worker_threads(n: int) -> None:
    """Limit torch's intra-op (and, where still allowed, inter-op) CPU threads to `n`.

    Call once at worker start-up: several processes sharing a node would otherwise
    each start one thread per core and slow each other down.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive integer, got {n!r}")
    torch.set_num_threads(n)
    # The inter-op pool can be sized only before its first use; a later call is harmless to skip.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(n)
