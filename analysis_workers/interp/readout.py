"""Reading logits off the residual stream through the model's final norm and unembedding.

The analyses take a `HookedModel`: the zoo transformer or a wrapped Hugging Face causal LM
(`analysis_workers.zoo.hf_hooked.HookedCausalLM`), which share hook names and the hook API.
The few places where the two differ in their weights (the read-out, each head's W_O) are
here; the Hugging Face side is imported for type checking only, so interp never loads
transformers unless a caller has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from torch import Tensor

from analysis_workers.zoo.transformer import LAYER_NORM_EPS, Transformer

if TYPE_CHECKING:
    from analysis_workers.zoo.hf_hooked import HookedCausalLM

HookedModel: TypeAlias = "Transformer | HookedCausalLM"


def unembed_residual(model: HookedModel, resid: Tensor, *, scale: Tensor | None = None) -> Tensor:
    """logits [..., d_vocab] = LN_final(resid) W_U + b_U for resid [..., d_model].

    LN_final(x) = (x − mean x) / s · w + b with s = sqrt(var x + ε) recomputed from
    `resid`, or, when `scale` [..., 1] is given, frozen at that value (which makes the
    read-out linear in `resid`: the usual direct-path approximation). Models without
    normalisation read out W_U directly. Hugging Face models use their own final norm
    (LayerNorm, or RMSNorm x / s · w with s = sqrt(mean x² + ε)) and lm_head.
    """
    if not isinstance(model, Transformer):
        return model.unembed_residual(resid, scale=scale)
    if model.config.normalization == "LN":
        centred = resid - resid.mean(-1, keepdim=True)
        if scale is None:
            scale = (centred.pow(2).mean(-1, keepdim=True) + LAYER_NORM_EPS).sqrt()
        resid = centred / scale * model.ln_final.w + model.ln_final.b
    return resid @ model.unembed.W_U + model.unembed.b_U


def head_output_weights(model: HookedModel, layer: int) -> Tensor:
    """W_O of `layer` [head, d_head, d_model]: head h adds z_h @ W_O[h] to the attention output."""
    if not isinstance(model, Transformer):
        return model.head_output_weights(layer)
    return model.block(layer).attn.W_O


def final_resid_name(model: HookedModel) -> str:
    return f"blocks.{model.config.n_layers - 1}.hook_resid_post"
