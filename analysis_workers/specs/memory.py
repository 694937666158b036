"""How much memory a job will need, estimated from the spec alone (torch-free), and the worker's budget.

A worker checks the estimate against its budget before it loads a checkpoint, so a job that
cannot fit is refused with a readable line instead of being killed by the kernel half-way.
The estimate is deliberately simple and on the generous side; for P parameters stored in
b bytes each, C chains, a batch of B sequences of T tokens, L layers of width d with H heads
and a vocabulary of V:

    weights      M · P · b                              the loaded model(s): M checkpoints held at
                                                        once (a series kind loads its whole series)
    sampler      C · 6 · P · b                          per chain: θ, the per-parameter gradients
                                                        and their concatenation, the noise, the
                                                        displacement θ − θ* and the update
                                                        (`analysis_workers.llc.sampler` keeps all
                                                        chains as (C, P) tensors at once)
    activations  (C·B·T) · (16 · L · d  +  2 · V) · b   kept for the backward pass (residual
                                                        stream, norms, q/k/v, MLP hidden), plus
                                                        the logits and their log-softmax
    attention    3 · L · C·B · H · T² · b               scores, pattern, and the pattern kept
                                                        for the backward pass

Families without attention (mlp, deep_linear) have H = 0, V = 0, L = their number of layers
and d = their widest layer; pass seq_len = 1 for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from analysis_workers.specs.errors import CheckpointError
from analysis_workers.specs.hf import HFArchitecture

SGLD_COPIES_PER_CHAIN = 6
ACTIVATION_FACTOR = 16
LOGIT_FACTOR = 2
ATTENTION_FACTOR = 3
DEFAULT_BUDGET_FRACTION = 0.8
BUDGET_ENV = "WORKER_MEMORY_BUDGET_MB"
GIB = 1024**3


@dataclass(frozen=True)
class _Shape:
    parameters: int
    n_layers: int
    d_model: int
    n_heads: int
    d_vocab: int


def estimate_job_memory(
    arch_or_spec: object, *, dtype_bytes: int, num_chains: int, batch_size: int, seq_len: int, models: int = 1
) -> int:
    """Bytes a job on this model is expected to need at its peak (see the module docstring);
    `models` checkpoints held at once (a series kind loads every checkpoint of the series).

    `arch_or_spec` is an `HFArchitecture`, a validated `ArchitectureSpec` or a spec dict
    (validated here, so a spec over the parameter cap is refused before any arithmetic).
    """
    for name, value in (
        ("num_chains", num_chains),
        ("batch_size", batch_size),
        ("seq_len", seq_len),
        ("models", models),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if dtype_bytes not in (1, 2, 4, 8):
        raise ValueError(f"dtype_bytes must be 1, 2, 4 or 8, got {dtype_bytes!r}")
    shape = _shape_of(arch_or_spec)
    tokens = num_chains * batch_size * seq_len
    weights = models * shape.parameters
    sampler = num_chains * SGLD_COPIES_PER_CHAIN * shape.parameters
    activations = tokens * (ACTIVATION_FACTOR * shape.n_layers * shape.d_model + LOGIT_FACTOR * shape.d_vocab)
    attention = (
        ATTENTION_FACTOR * shape.n_layers * num_chains * batch_size * shape.n_heads * seq_len * seq_len
    )
    return (weights + sampler + activations + attention) * dtype_bytes


def worker_memory_budget_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The worker's memory budget: `WORKER_MEMORY_BUDGET_MB` if set, else 80% of physical memory."""
    env = os.environ if environ is None else environ
    raw = env.get(BUDGET_ENV)
    if raw is not None and raw.strip():
        try:
            megabytes = int(raw.strip())
        except ValueError:
            raise ValueError(f"{BUDGET_ENV} must be a whole number of MiB, got {raw[:40]!r}") from None
        if megabytes < 1:
            raise ValueError(f"{BUDGET_ENV} must be at least 1, got {megabytes}")
        return megabytes * 1024 * 1024
    return int(physical_memory_bytes() * DEFAULT_BUDGET_FRACTION)


def check_memory_budget(
    arch_or_spec: object,
    *,
    dtype_bytes: int,
    num_chains: int,
    batch_size: int,
    seq_len: int,
    models: int = 1,
    budget_bytes: int | None = None,
) -> int:
    """The estimate, if it fits `budget_bytes` (default: `worker_memory_budget_bytes()`); CheckpointError otherwise."""
    needed = estimate_job_memory(
        arch_or_spec,
        dtype_bytes=dtype_bytes,
        num_chains=num_chains,
        batch_size=batch_size,
        seq_len=seq_len,
        models=models,
    )
    budget = worker_memory_budget_bytes() if budget_bytes is None else budget_bytes
    if needed > budget:
        raise CheckpointError(
            f"this job needs ~{needed / GIB:.1f} GiB; the worker's budget is {budget / GIB:.1f} GiB "
            "(fewer chains, a smaller batch or shorter sequences need less)"
        )
    return needed


def physical_memory_bytes() -> int:
    """Total physical memory, from /proc/meminfo (Linux) or sysconf."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))


def _shape_of(arch_or_spec: object) -> _Shape:
    from analysis_workers.specs import ArchitectureSpec, validate_spec  # the registry imports this module

    if isinstance(arch_or_spec, HFArchitecture):
        a = arch_or_spec
        return _Shape(a.parameter_count, a.n_layers, a.d_model, a.n_heads, a.d_vocab)
    if not isinstance(arch_or_spec, ArchitectureSpec):
        arch_or_spec = validate_spec(arch_or_spec)
    config = arch_or_spec.config
    architecture = getattr(config, "architecture", None)
    if isinstance(architecture, HFArchitecture):
        return _shape_of(architecture)
    parameters = config.parameter_count()
    if hasattr(config, "n_heads"):  # the zoo transformer
        return _Shape(parameters, config.n_layers, config.d_model, config.n_heads, config.d_vocab)
    dims = config.dims  # mlp and deep_linear
    return _Shape(parameters, len(dims) - 1, max(dims), 0, 0)


__all__ = [
    "BUDGET_ENV",
    "check_memory_budget",
    "estimate_job_memory",
    "physical_memory_bytes",
    "worker_memory_budget_bytes",
]
