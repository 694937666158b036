"""The config dataclasses of the allowlisted architecture families (torch-free).

They live here, not beside their builders in `analysis_workers.zoo`, because the platform
validates a checkpoint's spec at upload without importing torch, and the worker builds the
model from the very same class: one definition of what a spec means, on both sides.
Each `__post_init__` checks ranges; `analysis_workers.specs.fields` checks JSON types.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from analysis_workers.specs.errors import CheckpointError
from analysis_workers.specs.fields import MAX_DIMENSION, require_dimension

MLP_ACTIVATIONS = ("gelu", "relu", "tanh")
TRANSFORMER_ACTIVATIONS = ("gelu", "gelu_new", "relu", "silu")
TRANSFORMER_NORMALIZATIONS = ("LN", None)


@dataclass(frozen=True)
class MLPConfig:
    """Layer sizes, the activation between layers (none after the last) and whether layers have biases."""

    in_dim: int
    hidden: tuple[int, ...]
    out_dim: int
    activation: str = "relu"
    bias: bool = True

    def __post_init__(self) -> None:
        require_dimension("mlp.config.in_dim", self.in_dim)
        require_dimension("mlp.config.out_dim", self.out_dim)
        if not self.hidden:
            raise CheckpointError("mlp.config.hidden needs at least one size (use deep_linear for none)")
        for index, size in enumerate(self.hidden):
            require_dimension(f"mlp.config.hidden[{index}]", size)
        if self.activation not in MLP_ACTIVATIONS:
            raise CheckpointError(
                f"mlp.config.activation must be one of {list(MLP_ACTIVATIONS)}, got {self.activation!r}"
            )

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.in_dim, *self.hidden, self.out_dim)

    def parameter_count(self) -> int:
        return sum(a * b + (b if self.bias else 0) for a, b in itertools.pairwise(self.dims))


@dataclass(frozen=True)
class DeepLinearConfig:
    """Layer widths d_0 (input) … d_L (output); at least two, so at least one layer."""

    dims: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.dims) < 2:
            raise CheckpointError("deep_linear.config.dims needs at least two sizes (input and output)")
        for index, size in enumerate(self.dims):
            require_dimension(f"deep_linear.config.dims[{index}]", size)

    def parameter_count(self) -> int:
        return sum(a * b for a, b in itertools.pairwise(self.dims))


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of the model; field names as in TransformerLens's `HookedTransformerConfig`.

    `d_mlp` is ignored (and may be 0) when `attn_only` is true. `normalization` is
    "LN" (layer norm with weight and bias before attention, MLP and unembedding) or
    None (no normalisation at all).
    """

    d_vocab: int
    n_ctx: int
    d_model: int
    n_heads: int
    d_head: int
    d_mlp: int
    n_layers: int
    act_fn: str = "relu"
    normalization: str | None = "LN"
    attn_only: bool = False

    def __post_init__(self) -> None:
        for name in ("d_vocab", "n_ctx", "d_model", "n_heads", "d_head", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise CheckpointError(f"transformer.config.{name} must be an integer, got {value!r}")
            require_dimension(f"transformer.config.{name}", value)
        if not isinstance(self.attn_only, bool):
            raise CheckpointError(
                f"transformer.config.attn_only must be true or false, got {self.attn_only!r}"
            )
        if not isinstance(self.d_mlp, int) or isinstance(self.d_mlp, bool):
            raise CheckpointError(f"transformer.config.d_mlp must be an integer, got {self.d_mlp!r}")
        require_dimension("transformer.config.d_mlp", self.d_mlp, low=0 if self.attn_only else 1)
        if self.act_fn not in TRANSFORMER_ACTIVATIONS:
            raise CheckpointError(
                f"transformer.config.act_fn must be one of {list(TRANSFORMER_ACTIVATIONS)}, got {self.act_fn!r}"
            )
        if self.normalization not in TRANSFORMER_NORMALIZATIONS:
            raise CheckpointError(
                f"transformer.config.normalization must be 'LN' or null, got {self.normalization!r}"
            )

    def parameter_count(self) -> int:
        d, h, dh, v = self.d_model, self.n_heads, self.d_head, self.d_vocab
        ln = 2 * d if self.normalization == "LN" else 0
        attn = 4 * h * d * dh + 3 * h * dh + d
        mlp = 0 if self.attn_only else 2 * d * self.d_mlp + self.d_mlp + d
        per_block = attn + mlp + ln * (1 if self.attn_only else 2)
        return v * d + self.n_ctx * d + self.n_layers * per_block + ln + d * v + v


__all__ = [
    "MAX_DIMENSION",
    "MLP_ACTIVATIONS",
    "TRANSFORMER_ACTIVATIONS",
    "DeepLinearConfig",
    "MLPConfig",
    "TransformerConfig",
]
