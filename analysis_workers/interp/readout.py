"""Reading logits off the residual stream through the model's final layer norm and unembedding."""

from __future__ import annotations

from torch import Tensor

from analysis_workers.zoo.transformer import LAYER_NORM_EPS, Transformer


def unembed_residual(model: Transformer, resid: Tensor, *, scale: Tensor | None = None) -> Tensor:
    """logits [..., d_vocab] = LN_final(resid) W_U + b_U for resid [..., d_model].

    LN_final(x) = (x − mean x) / s · w + b with s = sqrt(var x + ε) recomputed from
    `resid`, or, when `scale` [..., 1] is given, frozen at that value (which makes the
    read-out linear in `resid`: the usual direct-path approximation). Models without
    normalisation read out W_U directly.
    """
    if model.config.normalization == "LN":
        centred = resid - resid.mean(-1, keepdim=True)
        if scale is None:
            scale = (centred.pow(2).mean(-1, keepdim=True) + LAYER_NORM_EPS).sqrt()
        resid = centred / scale * model.ln_final.w + model.ln_final.b
    return resid @ model.unembed.W_U + model.unembed.b_U


def final_resid_name(model: Transformer) -> str:
    return f"blocks.{model.config.n_layers - 1}.hook_resid_post"
