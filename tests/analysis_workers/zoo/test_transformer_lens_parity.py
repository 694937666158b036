"""The same weights in TransformerLens's HookedTransformer give the same logits, activations and head scores.

Optional: skipped when transformer-lens is not installed (it is a test extra, not a dependency).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch

from analysis_workers.interp.attention import attention_patterns, detection_patterns, head_scores
from analysis_workers.zoo.transformer import Transformer, TransformerConfig
from tests.analysis_workers.planted import induction_circuit, repeated_prompts

pytestmark = pytest.mark.slow  # importing transformer_lens alone takes several seconds


def hooked_transformer(model: Transformer) -> Any:
    lens = pytest.importorskip("transformer_lens")
    cfg = model.config
    tl_config = lens.HookedTransformerConfig(
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        d_head=cfg.d_head,
        d_mlp=cfg.d_mlp if not cfg.attn_only else None,
        n_layers=cfg.n_layers,
        act_fn=cfg.act_fn,
        normalization_type=cfg.normalization,
        attn_only=cfg.attn_only,
        device="cpu",
        default_prepend_bos=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.x points to TransformerBridge, for HF models
        hooked = lens.HookedTransformer(tl_config)
    outcome = hooked.load_state_dict(model.state_dict(), strict=False)
    assert outcome.unexpected_keys == []
    # Only TransformerLens's own causal-mask buffers are not in our state dict.
    assert all(key.endswith((".mask", ".IGNORE")) for key in outcome.missing_keys)
    return hooked


@pytest.mark.parametrize(
    "config",
    [
        TransformerConfig(
            d_vocab=13, n_ctx=10, d_model=24, n_heads=3, d_head=8, d_mlp=48, n_layers=2, act_fn="gelu"
        ),
        TransformerConfig(
            d_vocab=13,
            n_ctx=10,
            d_model=24,
            n_heads=3,
            d_head=8,
            d_mlp=0,
            n_layers=2,
            normalization=None,
            attn_only=True,
        ),
    ],
    ids=["mlp-layernorm", "attn-only-no-norm"],
)
def test_same_weights_give_same_logits_and_activations_in_transformer_lens(config: TransformerConfig) -> None:
    model = Transformer(config, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # non-zero biases and layer-norm parameters, so every parameter matters
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=torch.Generator().manual_seed(1)))
    hooked = hooked_transformer(model)
    tokens = torch.randint(0, config.d_vocab, (4, 10), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        ours_logits, ours = model.run_with_cache(tokens)
        theirs_logits, theirs = hooked.run_with_cache(tokens)
    torch.testing.assert_close(ours_logits, theirs_logits, atol=1e-5, rtol=1e-5)
    shared = set(ours) & set(theirs)
    assert set(ours) - shared == set()  # every hook point of ours exists there under the same name
    for name in shared:
        torch.testing.assert_close(ours[name], theirs[name], atol=1e-5, rtol=1e-5, msg=name)


def test_head_detector_scores_match_transformer_lens() -> None:
    detector = pytest.importorskip("transformer_lens.head_detector")
    model = induction_circuit()
    hooked = hooked_transformer(model)
    prompts = repeated_prompts(4)
    ours_patterns = attention_patterns(model, prompts)  # [layer, batch, head, q, k]
    detections = detection_patterns(prompts)
    builders = {
        "previous_token": detector.get_previous_token_head_detection_pattern,
        "duplicate_token": detector.get_duplicate_token_head_detection_pattern,
        "induction": detector.get_induction_head_detection_pattern,
    }
    for kind, build in builders.items():
        for exclude_bos, exclude_current in [(False, False), (True, False), (False, True)]:
            ours = head_scores(
                ours_patterns,
                detections[kind],
                exclude_bos=exclude_bos,
                exclude_current_token=exclude_current,
            )
            theirs = torch.zeros_like(ours)
            for row in range(prompts.shape[0]):
                with torch.inference_mode():
                    _, cache = hooked.run_with_cache(prompts[row : row + 1], remove_batch_dim=True)
                pattern = build(prompts[row : row + 1])
                for layer in range(2):
                    for head in range(2):
                        theirs[layer, head] += (
                            detector.compute_head_attention_similarity_score(
                                cache["pattern", layer][head],
                                detection_pattern=pattern,
                                exclude_bos=exclude_bos,
                                exclude_current_token=exclude_current,
                                error_measure="mul",
                            )
                            / prompts.shape[0]
                        )
            torch.testing.assert_close(
                ours, theirs, atol=1e-5, rtol=1e-5, msg=f"{kind} {exclude_bos} {exclude_current}"
            )
