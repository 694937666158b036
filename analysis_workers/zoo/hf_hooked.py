"""TransformerLens-style hook points on Hugging Face causal LMs (gpt2, gpt_neox, llama, qwen2, mistral).

`wrap_causal_lm(hf_model)` returns a `HookedCausalLM`: `forward(tokens) -> logits` and the
zoo transformer's hook API (`hooks()`, `run_with_hooks`, `run_with_cache`, `hook_names`), so
the analyses in `analysis_workers.interp` and the component grammar of the LLC run on it
unchanged. Hook names are the zoo transformer's, whatever transformers calls the modules:

    hook_embed                        [batch, pos, d_model]  token embedding
    hook_pos_embed                    [1, pos, d_model]      learned positions (gpt2 only)
    blocks.{l}.hook_resid_pre         [batch, pos, d_model]  == hidden_states[l]
    blocks.{l}.attn.hook_pattern      [batch, head, q, k]    attention probabilities (read-only)
    blocks.{l}.attn.hook_z            [batch, pos, head, d_head]  input of the output projection
    blocks.{l}.hook_attn_out          [batch, pos, d_model]
    blocks.{l}.hook_resid_mid         [batch, pos, d_model]  (read-only; not with parallel residual)
    blocks.{l}.mlp.hook_pre           [batch, pos, d_mlp]    first MLP projection (gate_proj for llama)
    blocks.{l}.mlp.hook_post          [batch, pos, d_mlp]    input of the MLP's down projection
    blocks.{l}.hook_mlp_out           [batch, pos, d_model]
    blocks.{l}.hook_resid_post        [batch, pos, d_model]  == hidden_states[l + 1] (before the final norm)
    ln_final.hook_scale               [batch, pos, 1]        the final norm's divisor (read-only)
    ln_final.hook_normalized          [batch, pos, d_model]  the final norm's output, with its weight
    unembed                           [batch, pos, d_vocab]  the logits

Each name is a torch hook on one transformers module, attached only inside `hooks()`:
a forward hook on the module whose output is the activation, or a forward pre-hook on the
module whose first input it is (hook_z: the attention output projection's input split into
heads, so a replaced z changes the output). Differences from the zoo transformer, all forced
by what transformers computes:

* `hook_pattern` is the eager attention's probability tensor as returned by the attention
  module (exactly `output_attentions`); the softmax happens inside transformers' attention
  function, so the pattern can be read but not replaced.
* `hook_resid_mid` is the input of the second layer norm; replacing it would change the MLP's
  input but not the residual the layer adds back, so it is read-only. GPT-NeoX models with
  `use_parallel_residual` (the default) compute attention and MLP from the same resid_pre;
  resid_mid does not exist there and the hook is absent.
* `ln_final.hook_normalized` is the final norm module's output *with* its weight (and bias):
  transformers' `hidden_states[-1]`. The zoo transformer's is before the weight, as in TransformerLens.
* `ln_final.hook_scale` is derived from the final norm's input (LayerNorm: sqrt(var + ε);
  RMSNorm: sqrt(mean x² + ε)), read-only.

The wrapper puts the model in eval mode (GPT-2 configs carry dropout 0.1; `train()` would turn
it back on) and needs the eager attention implementation, the only one that returns the
probabilities; `wrap_causal_lm` switches to it. Tokens are unpadded prompts of equal length
(no attention mask), as everywhere in `interp`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from analysis_workers.zoo.components import ComponentLayout, HeadAxis, LayerLayout, parameters_under
from analysis_workers.zoo.transformer import HookFn, HookPoint, HookRunner

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def _conv1d() -> type[nn.Module]:
    """transformers' Conv1D (gpt2's projections), imported on first use: importing the zoo must
    not cost the seconds importing transformers takes."""
    from transformers.pytorch_utils import Conv1D

    conv: type[nn.Module] = Conv1D
    return conv


# ---------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class Adapter:
    """Where one model_type keeps each piece: module paths in the causal LM (`blocks`,
    `embed`, `pos_embed`, `final_norm`, `lm_head`) or relative to one decoder block."""

    blocks: str
    embed: str
    pos_embed: str | None
    final_norm: str
    lm_head: str
    attn: str
    qkv: tuple[str, ...]  # one fused projection, or (q, k, v)
    qkv_layout: Literal["gpt2_fused", "neox_fused", "separate"]
    o_proj: str
    ln2: str  # the norm before the MLP; its input is resid_mid in sequential blocks
    mlp: str
    mlp_pre: str  # its output is mlp.hook_pre
    mlp_out: str  # its input is mlp.hook_post
    norm: Literal["LN", "RMS"]
    conv1d: bool  # GPT-2's Conv1D stores weights [in, out]; nn.Linear stores [out, in]


_LLAMA_STYLE = Adapter(
    blocks="model.layers",
    embed="model.embed_tokens",
    pos_embed=None,
    final_norm="model.norm",
    lm_head="lm_head",
    attn="self_attn",
    qkv=("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
    qkv_layout="separate",
    o_proj="self_attn.o_proj",
    ln2="post_attention_layernorm",
    mlp="mlp",
    mlp_pre="mlp.gate_proj",
    mlp_out="mlp.down_proj",
    norm="RMS",
    conv1d=False,
)

ADAPTERS: dict[str, Adapter] = {
    "gpt2": Adapter(
        blocks="transformer.h",
        embed="transformer.wte",
        pos_embed="transformer.wpe",
        final_norm="transformer.ln_f",
        lm_head="lm_head",
        attn="attn",
        qkv=("attn.c_attn",),
        qkv_layout="gpt2_fused",
        o_proj="attn.c_proj",
        ln2="ln_2",
        mlp="mlp",
        mlp_pre="mlp.c_fc",
        mlp_out="mlp.c_proj",
        norm="LN",
        conv1d=True,
    ),
    "gpt_neox": Adapter(
        blocks="gpt_neox.layers",
        embed="gpt_neox.embed_in",
        pos_embed=None,
        final_norm="gpt_neox.final_layer_norm",
        lm_head="lm_head",
        attn="attention",
        qkv=("attention.query_key_value",),
        qkv_layout="neox_fused",
        o_proj="attention.dense",
        ln2="post_attention_layernorm",
        mlp="mlp",
        mlp_pre="mlp.dense_h_to_4h",
        mlp_out="mlp.dense_4h_to_h",
        norm="LN",
        conv1d=False,
    ),
    "llama": _LLAMA_STYLE,
    "qwen2": _LLAMA_STYLE,
    "mistral": _LLAMA_STYLE,
}


# ------------------------------------------------------------------------ config


@dataclass(frozen=True)
class HookedConfig:
    """What the analyses read of a model's shape (the zoo `TransformerConfig`'s names).

    `n_kv_heads` < `n_heads` for grouped-query attention; `normalization` is "LN" or "RMS";
    `parallel_residual` for GPT-NeoX blocks that add attention and MLP to the same resid_pre.
    """

    model_type: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_head: int
    d_model: int
    d_mlp: int
    d_vocab: int
    n_ctx: int
    normalization: Literal["LN", "RMS"]
    parallel_residual: bool
    tied_embeddings: bool
    attn_only: bool = False

    def __post_init__(self) -> None:
        if self.model_type not in ADAPTERS:
            raise ValueError(f"model_type must be one of {sorted(ADAPTERS)}, got {self.model_type!r}")
        for field in ("n_layers", "n_heads", "n_kv_heads", "d_head", "d_model", "d_mlp", "d_vocab", "n_ctx"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"n_heads={self.n_heads} does not split into n_kv_heads={self.n_kv_heads} groups"
            )
        if self.normalization not in ("LN", "RMS"):
            raise ValueError(f"normalization must be 'LN' or 'RMS', got {self.normalization!r}")
        if self.attn_only:
            raise ValueError("Hugging Face causal LMs always have MLPs")


def _in_features(module: nn.Module) -> int:
    if isinstance(module, _conv1d()):
        return int(_weight(module).shape[0])  # Conv1D stores [in_features, out_features]
    if isinstance(module, nn.Linear):
        return module.in_features
    raise TypeError(f"expected a Linear or Conv1D projection, got {type(module).__name__}")


def _norm_eps(module: nn.Module) -> float:
    eps = getattr(module, "eps", None)
    if eps is None:
        eps = getattr(module, "variance_epsilon", None)
    if not isinstance(eps, float):
        raise TypeError(f"cannot read the epsilon of {type(module).__name__}")
    return eps


# ------------------------------------------------------------------- hook sites


@dataclass(frozen=True)
class _Site:
    """Where a hook name's activation lives: a module's output (element `index` of a tuple)
    or its first positional input; `heads` splits the last axis into that many heads;
    `derive` computes a read-only value from the activation."""

    module: nn.Module
    reads: Literal["output", "input"]
    index: int | None = None
    heads: int | None = None
    derive: Callable[[Tensor], Tensor] | None = None
    read_only: bool = False


def _attach(site: _Site, point: HookPoint, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
    """Register `fn` as a torch hook at `site`; `fn(activation, point)` may return a replacement."""

    def call(value: Tensor) -> Tensor | None:
        if site.derive is not None:
            value = site.derive(value)
        if site.heads is not None:
            value = value.unflatten(-1, (site.heads, -1))  # [..., head, d_head]
        result = fn(value, point)
        if site.read_only:
            if result is not None:
                raise ValueError(f"{point.name} can be read but not replaced on a Hugging Face model")
            return None
        if site.heads is not None:
            # Always pass the (possibly replaced) head view on, so a cached z is in the graph.
            return (value if result is None else result).flatten(-2)
        return result

    if site.reads == "input":

        def pre_hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not args or not isinstance(args[0], Tensor):
                raise RuntimeError(f"{point.name}: expected the activation as the first positional input")
            replaced = call(args[0])
            return None if replaced is None else ((replaced, *args[1:]), kwargs)

        return site.module.register_forward_pre_hook(pre_hook, with_kwargs=True)

    def forward_hook(module: nn.Module, args: Any, output: Any) -> Any:
        index = site.index if site.index is not None else (0 if isinstance(output, tuple) else None)
        replaced = call(output if index is None else output[index])
        if replaced is None or index is None:
            return replaced
        return (*output[:index], replaced, *output[index + 1 :])

    return site.module.register_forward_hook(forward_hook)


# ------------------------------------------------------------------------- model


class HookedCausalLM(HookRunner, nn.Module):
    """tokens [batch, pos] (int64, pos ≤ n_ctx) → logits [batch, pos, d_vocab], with hook points.

    `hf` is the wrapped transformers model (its parameters are this module's, prefixed `hf.`).
    Build with `wrap_causal_lm`, which checks the architecture and switches to eager attention.
    """

    def __init__(self, hf_model: PreTrainedModel) -> None:
        super().__init__()
        model_type = getattr(hf_model.config, "model_type", None)
        if model_type not in ADAPTERS:
            raise ValueError(f"no hook adapter for model_type {model_type!r}; supported: {sorted(ADAPTERS)}")
        if getattr(hf_model.config, "add_cross_attention", False):
            raise ValueError("models with cross-attention blocks are not supported")
        if hf_model.config._attn_implementation != "eager":
            raise ValueError(
                "the attention implementation must be 'eager' (the only one that returns attention "
                "probabilities); use wrap_causal_lm, which switches to it"
            )
        self.hf = hf_model
        self.adapter = ADAPTERS[model_type]
        self._check_modules()
        self.config = self._read_config(model_type)
        self._points: dict[str, HookPoint] = {}
        for name in self._site_table():
            point = HookPoint()
            point.name = name
            self._points[name] = point
        self.eval()

    # ------------------------------------------------------------ structure

    def _check_modules(self) -> None:
        """Fail at wrap time, not mid-analysis, when a module is missing or of the wrong kind."""
        a = self.adapter
        projection = _conv1d() if a.conv1d else nn.Linear
        try:
            blocks = self.hf.get_submodule(a.blocks)
            for path in (a.embed, a.final_norm, a.lm_head, *((a.pos_embed,) if a.pos_embed else ())):
                self.hf.get_submodule(path)
            if isinstance(blocks, nn.ModuleList) and len(blocks):
                for path in (a.attn, a.ln2, a.mlp, *a.qkv, a.o_proj, a.mlp_pre, a.mlp_out):
                    blocks[0].get_submodule(path)
        except AttributeError as error:
            raise ValueError(
                f"this {type(self.hf).__name__} does not have the expected modules: {error}"
            ) from error
        if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
            raise ValueError(f"{a.blocks} is not a non-empty list of decoder blocks")
        for path in (*a.qkv, a.o_proj, a.mlp_pre, a.mlp_out):
            module = self.block(0).get_submodule(path)
            if not isinstance(module, projection):
                raise ValueError(
                    f"{a.blocks}.0.{path} is a {type(module).__name__}, not a {projection.__name__}"
                )
        if not isinstance(self.hf.get_submodule(a.lm_head), nn.Linear):
            raise ValueError(f"{a.lm_head} is not a Linear layer")

    def _read_config(self, model_type: str) -> HookedConfig:
        a, hf_config = self.adapter, self.hf.config
        n_heads = int(hf_config.num_attention_heads)
        n_kv_heads = int(getattr(hf_config, "num_key_value_heads", None) or n_heads)
        if a.qkv_layout != "separate":
            n_kv_heads = n_heads
        embed = self.hf.get_submodule(a.embed)
        lm_head = self.hf.get_submodule(a.lm_head)
        return HookedConfig(
            model_type=model_type,
            n_layers=len(self._blocks()),
            n_heads=n_heads,
            n_kv_heads=n_kv_heads,
            d_head=_in_features(self.block(0).get_submodule(a.o_proj)) // n_heads,
            d_model=int(hf_config.hidden_size),
            d_mlp=_in_features(self.block(0).get_submodule(a.mlp_out)),
            d_vocab=int(_weight(lm_head).shape[0]),
            n_ctx=int(hf_config.max_position_embeddings),
            normalization=a.norm,
            parallel_residual=bool(getattr(hf_config, "use_parallel_residual", False)),
            tied_embeddings=_weight(lm_head) is _weight(embed),
        )

    def _blocks(self) -> nn.ModuleList:
        blocks = self.hf.get_submodule(self.adapter.blocks)
        if not isinstance(blocks, nn.ModuleList):
            raise TypeError(f"{self.adapter.blocks} is not a ModuleList")
        return blocks

    def block(self, layer: int) -> nn.Module:
        """Decoder block `layer` of the wrapped model."""
        block: nn.Module = self._blocks()[layer]
        return block

    @property
    def final_norm(self) -> nn.Module:
        return self.hf.get_submodule(self.adapter.final_norm)

    @property
    def lm_head(self) -> nn.Module:
        return self.hf.get_submodule(self.adapter.lm_head)

    def _site_table(self) -> dict[str, _Site]:
        """Every hook name and its site, in forward order (recomputed: cheap, and safe after deepcopy)."""
        a, cfg = self.adapter, self.config
        sites: dict[str, _Site] = {"hook_embed": _Site(self.hf.get_submodule(a.embed), "output")}
        if a.pos_embed is not None:
            sites["hook_pos_embed"] = _Site(self.hf.get_submodule(a.pos_embed), "output")
        for layer in range(cfg.n_layers):
            block = self.block(layer)
            attn = block.get_submodule(a.attn)
            prefix = f"blocks.{layer}"
            sites[f"{prefix}.hook_resid_pre"] = _Site(block, "input")
            sites[f"{prefix}.attn.hook_pattern"] = _Site(attn, "output", index=1, read_only=True)
            sites[f"{prefix}.attn.hook_z"] = _Site(block.get_submodule(a.o_proj), "input", heads=cfg.n_heads)
            sites[f"{prefix}.hook_attn_out"] = _Site(attn, "output", index=0)
            if not cfg.parallel_residual:
                sites[f"{prefix}.hook_resid_mid"] = _Site(block.get_submodule(a.ln2), "input", read_only=True)
            sites[f"{prefix}.mlp.hook_pre"] = _Site(block.get_submodule(a.mlp_pre), "output")
            sites[f"{prefix}.mlp.hook_post"] = _Site(block.get_submodule(a.mlp_out), "input")
            sites[f"{prefix}.hook_mlp_out"] = _Site(block.get_submodule(a.mlp), "output")
            sites[f"{prefix}.hook_resid_post"] = _Site(block, "output")
        norm = self.final_norm
        sites["ln_final.hook_scale"] = _Site(norm, "input", derive=self.final_norm_scale, read_only=True)
        sites["ln_final.hook_normalized"] = _Site(norm, "output")
        sites["unembed"] = _Site(self.lm_head, "output")
        return sites

    # -------------------------------------------------------------- forward

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be [batch, pos], got shape {tuple(tokens.shape)}")
        if tokens.shape[1] > self.config.n_ctx:
            raise ValueError(f"sequence length {tokens.shape[1]} exceeds n_ctx={self.config.n_ctx}")
        logits: Tensor = self.hf(input_ids=tokens, use_cache=False).logits
        return logits

    # ------------------------------------------------------- read-out maths

    def final_norm_scale(self, resid: Tensor) -> Tensor:
        """The final norm's divisor [..., 1]: sqrt(var + ε) (LayerNorm) or sqrt(mean x² + ε) (RMSNorm)."""
        eps = _norm_eps(self.final_norm)
        if self.adapter.norm == "LN":
            centred = resid - resid.mean(-1, keepdim=True)
            return (centred.pow(2).mean(-1, keepdim=True) + eps).sqrt()
        return (resid.float().pow(2).mean(-1, keepdim=True) + eps).sqrt().to(resid.dtype)

    def unembed_residual(self, resid: Tensor, *, scale: Tensor | None = None) -> Tensor:
        """logits [..., d_vocab] = lm_head(final_norm(resid)) for resid [..., d_model].

        With `scale` [..., 1] the norm's divisor is frozen at that value (the read-out becomes
        linear in `resid`, the direct-path approximation); without, it is the model's own norm.
        """
        norm, lm_head = self.final_norm, self.lm_head
        if scale is None:
            normed = norm(resid)
        elif self.adapter.norm == "LN":
            normed = (resid - resid.mean(-1, keepdim=True)) / scale
            weight, bias = _optional_tensor(norm, "weight"), _optional_tensor(norm, "bias")
            normed = normed if weight is None else normed * weight
            normed = normed if bias is None else normed + bias
        else:
            normed = resid / scale * _weight(norm)
        logits: Tensor = lm_head(normed)
        return logits

    def head_output_weights(self, layer: int) -> Tensor:
        """W_O of `layer` as [head, d_head, d_model]: head h's z [.., d_head] adds z @ W_O[h] to the output."""
        cfg = self.config
        weight = _weight(self.block(layer).get_submodule(self.adapter.o_proj))
        if not self.adapter.conv1d:
            weight = weight.T  # nn.Linear [d_model, head·d_head] → [head·d_head, d_model]
        return weight.reshape(cfg.n_heads, cfg.d_head, cfg.d_model)

    # ------------------------------------------------------------ LLC layout

    def component_layout(self) -> ComponentLayout:
        """Parameter names (with the `hf.` prefix) of each component, and the head axes."""
        a, cfg = self.adapter, self.config
        out_dim, in_dim = (1, 0) if a.conv1d else (0, 1)  # output / input axis of a projection weight
        layers = []
        for layer in range(cfg.n_layers):
            block_path = f"hf.{a.blocks}.{layer}"
            block = self.block(layer)
            heads: list[HeadAxis] = []
            if a.qkv_layout == "separate":
                for path, kv in zip(a.qkv, (False, True, True), strict=True):
                    count = cfg.n_kv_heads if kv else cfg.n_heads
                    for leaf in _weight_and_bias(block.get_submodule(path)):
                        axis = out_dim if leaf == "weight" else 0
                        heads.append(HeadAxis(f"{block_path}.{path}.{leaf}", axis, count, kv=kv))
            else:
                fused = 3 if a.qkv_layout == "gpt2_fused" else 1  # neox: per-head [q_h k_h v_h] chunks
                for leaf in _weight_and_bias(block.get_submodule(a.qkv[0])):
                    axis = out_dim if leaf == "weight" else 0
                    heads.append(HeadAxis(f"{block_path}.{a.qkv[0]}.{leaf}", axis, cfg.n_heads, fused))
            heads.append(HeadAxis(f"{block_path}.{a.o_proj}.weight", in_dim, cfg.n_heads))
            layers.append(
                LayerLayout(
                    attn=parameters_under(self, f"{block_path}.{a.attn}"),
                    mlp=parameters_under(self, f"{block_path}.{a.mlp}"),
                    heads=tuple(heads),
                    n_heads=cfg.n_heads,
                    n_kv_heads=cfg.n_kv_heads,
                    grouped=a.qkv_layout == "separate",
                )
            )
        return ComponentLayout(
            layers=tuple(layers),
            embed=(f"hf.{a.embed}.weight",),
            pos_embed=(f"hf.{a.pos_embed}.weight",) if a.pos_embed else (),
            unembed=tuple(f"hf.{a.lm_head}.{leaf}" for leaf in _weight_and_bias(self.lm_head)),
        )

    # ---------------------------------------------------------------- hooks

    def _hook_point_names(self) -> Iterable[str]:
        return self._points

    def _attach_hook(self, name: str, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
        return _attach(self._site_table()[name], self._points[name], fn)


def _optional_tensor(module: nn.Module, name: str) -> Tensor | None:
    value = getattr(module, name, None)
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{type(module).__name__}.{name} is not a tensor")
    return value


def _weight(module: nn.Module) -> Tensor:
    weight = _optional_tensor(module, "weight")
    if weight is None:
        raise TypeError(f"{type(module).__name__} has no weight")
    return weight


def _weight_and_bias(module: nn.Module) -> list[str]:
    return ["weight"] + (["bias"] if getattr(module, "bias", None) is not None else [])


def wrap_causal_lm(hf_model: PreTrainedModel) -> HookedCausalLM:
    """Hook points for a transformers causal LM of a supported model_type (see `ADAPTERS`).

    Switches the model to eager attention (whose probabilities `hook_pattern` reads) and to
    eval mode; the model is wrapped, not copied.
    """
    from transformers import PreTrainedModel

    if not isinstance(hf_model, PreTrainedModel):
        raise ValueError(f"expected a transformers PreTrainedModel, got {type(hf_model).__name__}")
    if hf_model.config._attn_implementation != "eager":
        hf_model.set_attn_implementation("eager")
    return HookedCausalLM(hf_model)
