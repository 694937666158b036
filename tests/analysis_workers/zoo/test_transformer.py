from __future__ import annotations

import dataclasses

import pytest
import torch

from analysis_workers.interp.attention import attention_summary, detection_patterns, head_scores
from analysis_workers.zoo.transformer import Transformer, TransformerConfig
from tests.analysis_workers.planted import induction_circuit, repeated_prompts

SMALL = TransformerConfig(d_vocab=11, n_ctx=8, d_model=16, n_heads=2, d_head=8, d_mlp=32, n_layers=2)


def small_model(config: TransformerConfig = SMALL, seed: int = 0) -> Transformer:
    return Transformer(config, generator=torch.Generator().manual_seed(seed))


def tokens(batch: int = 3, pos: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, SMALL.d_vocab, (batch, pos), generator=torch.Generator().manual_seed(seed))


def test_parameters_use_transformer_lens_names_and_shapes() -> None:
    shapes = {name: tuple(p.shape) for name, p in small_model().named_parameters()}
    assert shapes["embed.W_E"] == (11, 16)
    assert shapes["pos_embed.W_pos"] == (8, 16)
    assert shapes["blocks.1.attn.W_Q"] == (2, 16, 8)
    assert shapes["blocks.1.attn.W_O"] == (2, 8, 16)
    assert shapes["blocks.0.attn.b_K"] == (2, 8)
    assert shapes["blocks.0.attn.b_O"] == (16,)
    assert shapes["blocks.0.mlp.W_in"] == (16, 32)
    assert shapes["blocks.0.mlp.W_out"] == (32, 16)
    assert shapes["blocks.0.ln1.w"] == (16,)
    assert shapes["ln_final.b"] == (16,)
    assert shapes["unembed.W_U"] == (16, 11)
    assert shapes["unembed.b_U"] == (11,)
    assert sum(p.numel() for p in small_model().parameters()) == SMALL.parameter_count()


def test_attention_only_model_without_normalisation_has_no_mlp_or_layer_norm() -> None:
    config = dataclasses.replace(SMALL, attn_only=True, d_mlp=0, normalization=None)
    model = small_model(config)
    names = {name for name, _ in model.named_parameters()}
    assert not any(".mlp." in name or "ln" in name for name in names)
    assert sum(p.numel() for p in model.parameters()) == config.parameter_count()
    assert "blocks.0.hook_resid_mid" not in model.hook_dict
    assert model(tokens()).shape == (3, 8, 11)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d_model": 0}, "d_model"),
        ({"n_heads": True}, "n_heads"),
        ({"d_mlp": 0}, "d_mlp"),
        ({"act_fn": "swish"}, "act_fn"),
        ({"normalization": "RMS"}, "normalization"),
    ],
)
def test_invalid_config_is_refused_with_value_error(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(SMALL, **change)


def test_same_generator_seed_gives_same_weights() -> None:
    a, b, c = small_model(seed=3), small_model(seed=3), small_model(seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.embed.W_E, c.embed.W_E)


def test_attention_is_causal() -> None:
    model = small_model()
    x = tokens()
    y = x.clone()
    y[:, 5:] = (y[:, 5:] + 1) % SMALL.d_vocab
    with torch.inference_mode():
        assert torch.allclose(model(x)[:, :5], model(y)[:, :5], atol=1e-6)
        assert not torch.allclose(model(x)[:, 5:], model(y)[:, 5:], atol=1e-3)


def test_run_with_cache_names_and_shapes() -> None:
    model = small_model()
    with torch.inference_mode():
        logits, cache = model.run_with_cache(tokens())
    assert torch.allclose(logits, model(tokens()))
    assert cache["hook_embed"].shape == (3, 8, 16)
    assert cache["blocks.1.attn.hook_q"].shape == (3, 8, 2, 8)
    assert cache["blocks.1.attn.hook_pattern"].shape == (3, 2, 8, 8)
    assert cache["blocks.0.mlp.hook_post"].shape == (3, 8, 32)
    assert torch.allclose(cache["blocks.1.attn.hook_pattern"].sum(-1), torch.ones(3, 2, 8))
    resid = cache["blocks.0.hook_resid_pre"] + cache["blocks.0.hook_attn_out"]
    assert torch.allclose(resid, cache["blocks.0.hook_resid_mid"])
    assert torch.allclose(cache["blocks.1.hook_resid_pre"], cache["blocks.0.hook_resid_post"])
    _, only_patterns = model.run_with_cache(tokens(), names_filter=lambda name: name.endswith("hook_pattern"))
    assert sorted(only_patterns) == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]


def test_hook_can_replace_an_activation() -> None:
    model = small_model()

    def zero_mlp(activation: torch.Tensor, hook: object) -> torch.Tensor:
        return torch.zeros_like(activation)

    with torch.inference_mode(), model.hooks([(lambda name: name.endswith("hook_mlp_out"), zero_mlp)]):
        _, cache = model.run_with_cache(tokens(), names_filter="blocks.0.hook_resid_post")
        _, mid = model.run_with_cache(tokens(), names_filter="blocks.0.hook_resid_mid")
    assert torch.allclose(cache["blocks.0.hook_resid_post"], mid["blocks.0.hook_resid_mid"])


def test_hooks_are_removed_on_exit_even_when_the_body_raises() -> None:
    model = small_model()
    with torch.inference_mode():
        clean = model(tokens())

    def scramble(activation: torch.Tensor, hook: object) -> torch.Tensor:
        return activation * 0.0

    with pytest.raises(RuntimeError, match="boom"), model.hooks([("blocks.0.hook_resid_pre", scramble)]):
        raise RuntimeError("boom")
    assert all(not point._forward_hooks for point in model.hook_dict.values())
    with torch.inference_mode():
        assert torch.equal(model(tokens()), clean)


def test_unknown_hook_name_is_refused_and_nothing_stays_attached() -> None:
    model = small_model()
    with (
        pytest.raises(ValueError, match="no hook point"),
        model.hooks([("hook_embed", lambda a, h: None), ("blocks.9.hook_resid_pre", lambda a, h: None)]),
    ):
        pass
    assert all(not point._forward_hooks for point in model.hook_dict.values())


def test_planted_previous_token_and_induction_heads_top_their_scores() -> None:
    model = induction_circuit()
    prompts = repeated_prompts(16)
    scores = attention_summary(model, prompts).metrics["top_heads"]
    assert scores["previous_token"][0]["head"] == "L0H0"
    assert scores["induction"][0]["head"] == "L1H0"
    assert scores["duplicate_token"][0]["head"] == "L0H1"
    assert scores["first_token"][0]["head"] == "L1H1"
    table = head_scores(
        torch.stack([model.run_with_cache(prompts)[1][f"blocks.{i}.attn.hook_pattern"] for i in range(2)]),
        detection_patterns(prompts)["previous_token"],
        exclude_bos=True,
    )
    # With BOS excluded, the previous-token head attends only to previous tokens: exactly 1.
    assert table[0, 0].item() > 0.99
    assert table.flatten()[1:].max().item() < 0.5


def test_planted_induction_circuit_predicts_the_repeat() -> None:
    model = induction_circuit()
    prompts = repeated_prompts(8)
    with torch.inference_mode():
        predicted = model(prompts)[:, 6:-1].argmax(-1)
    assert torch.equal(predicted, prompts[:, 7:])
