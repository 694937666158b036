"""Where a transformer keeps each component's weights, for the weight-restricted LLC.

A `ComponentLayout` names, in `model.named_parameters()` terms, the parameters of the
embedding, the positional embedding, the unembedding and, per layer, the attention and
MLP modules, and for every attention weight which axis holds the heads. The LLC's
component grammar (`analysis_workers.llc.restriction.component_masks`: `l0h1`, `l0g0`,
`l0 attn`, `l0 mlp`, `embed`, `pos_embed`, `unembed`) turns these into element masks.

A head axis of size num_fused · num_heads · d_head holds `num_fused` consecutive blocks
(q, k, v for GPT-2's fused c_attn), each of `num_heads` heads of d_head entries:
head h of block k is entries (k · num_heads + h) · d_head … + d_head − 1. GPT-NeoX's
fused query_key_value interleaves per head (q_h, k_h, v_h together) and is therefore one
block of num_heads "heads" of 3 · d_head entries. Axes marked `kv` are indexed by
key/value head (grouped-query attention), the others by query head.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from analysis_workers.zoo.transformer import Transformer


@dataclass(frozen=True)
class HeadAxis:
    """One attention weight whose axis `dim` splits into heads (see the module doc)."""

    parameter: str
    dim: int
    num_heads: int
    num_fused: int = 1
    kv: bool = False

    def __post_init__(self) -> None:
        if self.dim < 0 or self.num_heads < 1 or self.num_fused < 1:
            raise ValueError(
                f"bad head axis for {self.parameter}: need dim ≥ 0, num_heads ≥ 1, num_fused ≥ 1"
            )


@dataclass(frozen=True)
class LayerLayout:
    """One block: every attention parameter, every MLP parameter, and the per-head axes.

    `grouped` says whether key/value-head groups (`l{L}g{G}`) mean anything: true for
    the llama-style models, which keep q, k and v in separate matrices.
    """

    attn: tuple[str, ...]
    mlp: tuple[str, ...]
    heads: tuple[HeadAxis, ...]
    n_heads: int
    n_kv_heads: int
    grouped: bool = False

    def __post_init__(self) -> None:
        if self.n_kv_heads < 1 or self.n_heads % self.n_kv_heads:
            raise ValueError(f"{self.n_heads} query heads do not split into {self.n_kv_heads} groups")


@dataclass(frozen=True)
class ComponentLayout:
    """The whole model. Names may repeat across fields when weights are tied (GPT-2's
    unembedding is its embedding): mask builders resolve names to parameters by identity."""

    layers: tuple[LayerLayout, ...]
    embed: tuple[str, ...]
    pos_embed: tuple[str, ...]
    unembed: tuple[str, ...]


def parameters_under(model: nn.Module, prefix: str) -> tuple[str, ...]:
    """Every parameter name under module path `prefix` (tied duplicates included)."""
    return tuple(
        name for name, _ in model.named_parameters(remove_duplicate=False) if name.startswith(prefix + ".")
    )


def transformer_layout(model: Transformer) -> ComponentLayout:
    """The zoo transformer: W_Q/W_K/W_V [head, d_model, d_head], W_O [head, d_head, d_model],
    b_Q/b_K/b_V [head, d_head]; every head axis is axis 0."""
    cfg = model.config
    layers = []
    for layer in range(cfg.n_layers):
        prefix = f"blocks.{layer}.attn"
        heads = tuple(
            HeadAxis(f"{prefix}.{weight}", dim=0, num_heads=cfg.n_heads)
            for weight in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V")
        )
        mlp = () if cfg.attn_only else parameters_under(model, f"blocks.{layer}.mlp")
        layers.append(
            LayerLayout(
                attn=parameters_under(model, prefix),
                mlp=mlp,
                heads=heads,
                n_heads=cfg.n_heads,
                n_kv_heads=cfg.n_heads,
            )
        )
    return ComponentLayout(
        layers=tuple(layers),
        embed=("embed.W_E",),
        pos_embed=("pos_embed.W_pos",),
        unembed=("unembed.W_U", "unembed.b_U"),
    )


def component_layout(model: nn.Module) -> ComponentLayout:
    """The layout of a zoo transformer, or of any model offering `component_layout()`
    (the Hugging Face wrapper `analysis_workers.zoo.hf_hooked.HookedCausalLM`)."""
    if isinstance(model, Transformer):
        return transformer_layout(model)
    method = getattr(model, "component_layout", None)
    if callable(method):
        layout = method()
        if isinstance(layout, ComponentLayout):
            return layout
    raise ValueError(
        f"{type(model).__name__} has no known component layout; components (l0h1, l0 attn, …) work on "
        "the zoo transformer and on Hugging Face causal LMs wrapped with wrap_causal_lm"
    )
