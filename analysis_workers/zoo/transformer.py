"""A small decoder-only transformer with TransformerLens's parameter names and hook points.

Read top to bottom: config → hook points → layer norm → attention → MLP → block →
model. The weight layout matches TransformerLens's `HookedTransformer` (so a state
dict loads there unchanged, apart from its causal-mask buffers), and every
activation passes through an identity `HookPoint` with the same name as there:

    hook_embed, hook_pos_embed,
    blocks.{l}.hook_resid_pre,
    blocks.{l}.ln1.hook_scale, blocks.{l}.ln1.hook_normalized,
    blocks.{l}.attn.hook_q / hook_k / hook_v      [batch, pos, head, d_head]
    blocks.{l}.attn.hook_attn_scores / hook_pattern [batch, head, query_pos, key_pos]
    blocks.{l}.attn.hook_z                        [batch, pos, head, d_head]
    blocks.{l}.hook_attn_out, blocks.{l}.hook_resid_mid,
    blocks.{l}.mlp.hook_pre / hook_post           [batch, pos, d_mlp]
    blocks.{l}.hook_mlp_out, blocks.{l}.hook_resid_post,
    ln_final.hook_scale, ln_final.hook_normalized

(attention-only models have no `hook_resid_mid`, `mlp.*` or `hook_mlp_out`; models
without normalisation have no `ln*` modules at all).

Hooks are attached only inside `with model.hooks(fwd_hooks=[(name, fn)]): ...`,
which removes them on exit, also when the body raises. A hook function is called as
`fn(activation, hook)` and returns a replacement activation or None.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from analysis_workers.specs.configs import TRANSFORMER_ACTIVATIONS, TransformerConfig

ACT_FNS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
}
LAYER_NORM_EPS = 1e-5
if set(ACT_FNS) != set(TRANSFORMER_ACTIVATIONS):
    raise RuntimeError("the spec and the builder must allow the same activations")

HookFn = Callable[[Tensor, "HookPoint"], Tensor | None]
NameFilter = str | Sequence[str] | Callable[[str], bool] | None


# ---------------------------------------------------------------------------- config


# ---------------------------------------------------------------------- hook points


class HookPoint(nn.Module):
    """An identity module that names an activation so hooks can read or replace it."""

    def __init__(self) -> None:
        super().__init__()
        self.name = ""

    def forward(self, x: Tensor) -> Tensor:
        return x


# ------------------------------------------------------------------------ layers


class LayerNorm(nn.Module):
    """x ↦ (x − mean(x)) / sqrt(var(x) + ε) · w + b over the last axis (ε = 1e-5).

    As in TransformerLens, `hook_normalized` sees the normalised vector before `w` and `b`.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))
        self.hook_scale = HookPoint()  # [batch, pos, 1]
        self.hook_normalized = HookPoint()  # [batch, pos, d_model], before w and b

    def forward(self, x: Tensor) -> Tensor:
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + LAYER_NORM_EPS).sqrt())
        return self.hook_normalized(x / scale) * self.w + self.b


class Embed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(cfg.d_vocab, cfg.d_model))

    def forward(self, tokens: Tensor) -> Tensor:
        return self.W_E[tokens]  # [batch, pos] -> [batch, pos, d_model]


class PosEmbed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))

    def forward(self, tokens: Tensor) -> Tensor:
        batch, pos = tokens.shape
        return self.W_pos[:pos].unsqueeze(0).expand(batch, pos, -1)  # [batch, pos, d_model]


class Attention(nn.Module):
    """Causal multi-head attention, each head's weights stored separately (head-first)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        h, d, dh = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.empty(h, d, dh))
        self.W_K = nn.Parameter(torch.empty(h, d, dh))
        self.W_V = nn.Parameter(torch.empty(h, d, dh))
        self.W_O = nn.Parameter(torch.empty(h, dh, d))
        self.b_Q = nn.Parameter(torch.zeros(h, dh))
        self.b_K = nn.Parameter(torch.zeros(h, dh))
        self.b_V = nn.Parameter(torch.zeros(h, dh))
        self.b_O = nn.Parameter(torch.zeros(d))
        self.attn_scale = math.sqrt(dh)
        self.hook_q = HookPoint()
        self.hook_k = HookPoint()
        self.hook_v = HookPoint()
        self.hook_attn_scores = HookPoint()
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()

    def forward(self, x: Tensor) -> Tensor:
        # x: [batch, pos, d_model]
        q = self.hook_q(torch.einsum("bpd,hde->bphe", x, self.W_Q) + self.b_Q)  # [batch, pos, head, d_head]
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x, self.W_K) + self.b_K)
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x, self.W_V) + self.b_V)
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / self.attn_scale  # [batch, head, query, key]
        n_pos = x.shape[1]
        future = torch.triu(torch.ones(n_pos, n_pos, dtype=torch.bool, device=x.device), diagonal=1)
        scores = self.hook_attn_scores(scores.masked_fill(future, float("-inf")))
        pattern = self.hook_pattern(scores.softmax(dim=-1))  # [batch, head, query, key]
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))  # [batch, pos, head, d_head]
        return torch.einsum("bphe,hed->bpd", z, self.W_O) + self.b_O  # [batch, pos, d_model]


class MLP(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        self.act_fn = ACT_FNS[cfg.act_fn]
        self.hook_pre = HookPoint()  # [batch, pos, d_mlp]
        self.hook_post = HookPoint()  # [batch, pos, d_mlp]

    def forward(self, x: Tensor) -> Tensor:
        pre = self.hook_pre(x @ self.W_in + self.b_in)
        post = self.hook_post(self.act_fn(pre))
        return post @ self.W_out + self.b_out  # [batch, pos, d_model]


class TransformerBlock(nn.Module):
    """resid_mid = resid_pre + attn(ln1(resid_pre)); resid_post = resid_mid + mlp(ln2(resid_mid))."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.attn_only = cfg.attn_only
        self.ln1: nn.Module = LayerNorm(cfg.d_model) if cfg.normalization == "LN" else nn.Identity()
        self.attn = Attention(cfg)
        self.hook_resid_pre = HookPoint()
        self.hook_attn_out = HookPoint()
        self.hook_resid_post = HookPoint()
        if not cfg.attn_only:
            self.ln2: nn.Module = LayerNorm(cfg.d_model) if cfg.normalization == "LN" else nn.Identity()
            self.mlp = MLP(cfg)
            self.hook_resid_mid = HookPoint()
            self.hook_mlp_out = HookPoint()

    def forward(self, resid_pre: Tensor) -> Tensor:
        resid_pre = self.hook_resid_pre(resid_pre)
        attn_out = self.hook_attn_out(self.attn(self.ln1(resid_pre)))
        if self.attn_only:
            return self.hook_resid_post(resid_pre + attn_out)
        resid_mid = self.hook_resid_mid(resid_pre + attn_out)
        mlp_out = self.hook_mlp_out(self.mlp(self.ln2(resid_mid)))
        return self.hook_resid_post(resid_mid + mlp_out)


class Unembed(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_vocab))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.W_U + self.b_U  # [batch, pos, d_vocab]


# ------------------------------------------------------------------------- model


class HookRunner:
    """The hook API both hooked models share (the zoo transformer and `hf_hooked.HookedCausalLM`):
    `hook_names`, `hooks()`, `run_with_hooks`, `run_with_cache`. A model supplies its hook-point
    names in forward order (`_hook_point_names`) and how one hook is attached (`_attach_hook`)."""

    def _hook_point_names(self) -> Iterable[str]:
        raise NotImplementedError

    def _attach_hook(self, name: str, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
        raise NotImplementedError

    if TYPE_CHECKING:  # nn.Module.__call__ at run time; a definition here would shadow it

        def __call__(self, tokens: Tensor) -> Tensor: ...

    def hook_names(self, names_filter: NameFilter = None) -> list[str]:
        """Hook-point names in forward order that pass `names_filter` (all when None)."""
        return [name for name in self._hook_point_names() if matches_filter(name, names_filter)]

    @contextlib.contextmanager
    def hooks(self, fwd_hooks: Sequence[tuple[str | Callable[[str], bool], HookFn]] = ()) -> Iterator[None]:
        """Attach forward hooks for the body of the `with` statement; removed on exit, even on error.

        Each entry is (hook name or a predicate on names, fn); fn(activation, hook) returns a
        replacement activation or None to leave it as it is (a model may refuse to replace a
        read-only activation with ValueError).
        """
        known = set(self._hook_point_names())
        handles: list[torch.utils.hooks.RemovableHandle] = []
        try:
            for name_or_filter, fn in fwd_hooks:
                names = (
                    [name_or_filter] if isinstance(name_or_filter, str) else self.hook_names(name_or_filter)
                )
                for name in names:
                    if name not in known:
                        raise ValueError(f"no hook point named {name!r}")
                    handles.append(self._attach_hook(name, fn))
            yield
        finally:
            for handle in handles:
                handle.remove()

    def run_with_hooks(
        self, tokens: Tensor, fwd_hooks: Sequence[tuple[str | Callable[[str], bool], HookFn]]
    ) -> Tensor:
        with self.hooks(fwd_hooks):
            return self(tokens)

    def run_with_cache(
        self, tokens: Tensor, names_filter: NameFilter = None, *, detach: bool = True
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """(logits, {hook name: activation}) for every hook point passing `names_filter`.

        With `detach=False` the cached tensors stay in the autograd graph (for
        gradient-based attributions); the caller chooses the grad mode.
        """
        cache: dict[str, Tensor] = {}

        def store(activation: Tensor, hook: HookPoint) -> None:
            cache[hook.name] = activation.detach() if detach else activation

        with self.hooks([(name, store) for name in self.hook_names(names_filter)]):
            logits = self(tokens)
        return logits, cache


class Transformer(HookRunner, nn.Module):
    """tokens [batch, pos] (int64, < d_vocab, pos ≤ n_ctx) → logits [batch, pos, d_vocab]."""

    def __init__(
        self,
        config: TransformerConfig,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.embed = Embed(config)
        self.hook_embed = HookPoint()
        self.pos_embed = PosEmbed(config)
        self.hook_pos_embed = HookPoint()
        self.blocks = nn.ModuleList([TransformerBlock(config) for _ in range(config.n_layers)])
        if config.normalization == "LN":
            self.ln_final = LayerNorm(config.d_model)
        self.unembed = Unembed(config)
        self.hook_dict: dict[str, HookPoint] = {}
        for name, module in self.named_modules():
            if isinstance(module, HookPoint):
                module.name = name
                self.hook_dict[name] = module
        self.init_weights(generator)
        if device is not None:
            self.to(device)

    def block(self, layer: int) -> TransformerBlock:
        """Block `layer`, typed (an `nn.ModuleList` item is only an `nn.Module` to a type checker)."""
        block = self.blocks[layer]
        if not isinstance(block, TransformerBlock):
            raise TypeError(f"blocks[{layer}] is not a TransformerBlock")
        return block

    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """Matrices ~ N(0, (0.8/√d_model)²) drawn from `generator`; biases 0; layer-norm weights 1."""
        std = 0.8 / math.sqrt(self.config.d_model)
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                leaf = name.rsplit(".", 1)[-1]
                if leaf.startswith("W_"):
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
                elif leaf == "w":
                    parameter.fill_(1.0)
                else:
                    parameter.zero_()

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be [batch, pos], got shape {tuple(tokens.shape)}")
        if tokens.shape[1] > self.config.n_ctx:
            raise ValueError(f"sequence length {tokens.shape[1]} exceeds n_ctx={self.config.n_ctx}")
        embed = self.hook_embed(self.embed(tokens))  # [batch, pos, d_model]
        pos_embed = self.hook_pos_embed(self.pos_embed(tokens))  # [batch, pos, d_model]
        residual = embed + pos_embed
        for block in self.blocks:
            residual = block(residual)
        if self.config.normalization == "LN":
            residual = self.ln_final(residual)
        return self.unembed(residual)

    # ------------------------------------------------------------------ hooks

    def _hook_point_names(self) -> Iterable[str]:
        return self.hook_dict

    def _attach_hook(self, name: str, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
        point = self.hook_dict[name]
        return point.register_forward_hook(_forward_adapter(fn, point))


def matches_filter(name: str, names_filter: NameFilter) -> bool:
    """Whether hook `name` passes `names_filter`: None (all), one name, a collection of names, or a predicate."""
    if names_filter is None:
        return True
    if isinstance(names_filter, str):
        return name == names_filter
    if callable(names_filter):
        return bool(names_filter(name))
    return name in names_filter


def _forward_adapter(fn: HookFn, point: HookPoint) -> Callable[[nn.Module, Any, Tensor], Tensor | None]:
    def adapter(module: nn.Module, inputs: Any, output: Tensor) -> Tensor | None:
        return fn(output, point)

    return adapter


# ------------------------------------------------------------------------- family


def build_transformer(config: TransformerConfig, generator: torch.Generator | None = None) -> Transformer:
    return Transformer(config, generator=generator)
