"""Hook points and LLC components on Hugging Face causal LMs, checked against transformers' own outputs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

from analysis_workers.llc import component_masks, estimate_llc
from analysis_workers.llc.restriction import select_weights
from analysis_workers.sampler_config import SamplerConfig
from analysis_workers.zoo.hf_hooked import HookedCausalLM, wrap_causal_lm
from analysis_workers.zoo.transformer import HookPoint
from tests.analysis_workers.hf_models import (
    GROUPED_TYPES,
    MODEL_TYPES,
    random_tokens,
    tiny_hf_model,
    tiny_hooked,
)

# (test id, model_type, config overrides): GPT-NeoX once with its default parallel residual, once without.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("gpt2", "gpt2", {}),
    ("gpt_neox", "gpt_neox", {}),
    ("gpt_neox_sequential", "gpt_neox", {"use_parallel_residual": False}),
    ("llama", "llama", {}),
    ("qwen2", "qwen2", {}),
    ("mistral", "mistral", {}),
]
CASE_IDS = [case[0] for case in CASES]
ATOL = 1e-5


def close(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=ATOL, rtol=0.0))


def hook_count(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


# ------------------------------------------------------------------------------------ activations


@pytest.mark.parametrize(("case", "model_type", "overrides"), CASES, ids=CASE_IDS)
def test_every_hook_equals_what_transformers_returns(case: str, model_type: str, overrides: dict) -> None:
    model = tiny_hooked(model_type, **overrides)
    hf, cfg = model.hf, model.config
    tokens = random_tokens()
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
        out = hf(input_ids=tokens, output_hidden_states=True, output_attentions=True, use_cache=False)
        hf.config.tie_last_hidden_states = False  # hidden_states[-1] is then the stream before the final norm
        try:
            untied = hf(input_ids=tokens, output_hidden_states=True, use_cache=False)
        finally:
            del hf.config.tie_last_hidden_states
    assert len(out.hidden_states) == cfg.n_layers + 1
    assert close(cache["hook_embed"], hf.get_input_embeddings()(tokens))
    for layer in range(cfg.n_layers):
        assert close(cache[f"blocks.{layer}.hook_resid_pre"], out.hidden_states[layer])
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
        assert close(pattern, out.attentions[layer])
        assert close(pattern.sum(-1), torch.ones(pattern.shape[:-1]))
        assert float(pattern.triu(diagonal=1).abs().max()) == 0.0  # causal
        resid_pre, attn_out = cache[f"blocks.{layer}.hook_resid_pre"], cache[f"blocks.{layer}.hook_attn_out"]
        resid_post, mlp_out = cache[f"blocks.{layer}.hook_resid_post"], cache[f"blocks.{layer}.hook_mlp_out"]
        assert close(resid_post, resid_pre + attn_out + mlp_out)
        assert (f"blocks.{layer}.hook_resid_mid" in cache) is not cfg.parallel_residual
        if not cfg.parallel_residual:
            assert close(cache[f"blocks.{layer}.hook_resid_mid"], resid_pre + attn_out)
        # z [batch, pos, head, d_head] through W_O [head, d_head, d_model] (plus O's bias) is the attention output
        z = cache[f"blocks.{layer}.attn.hook_z"]
        assert z.shape == (*tokens.shape, cfg.n_heads, cfg.d_head)
        o_proj = model.block(layer).get_submodule(model.adapter.o_proj)
        o_bias = o_proj.bias if isinstance(o_proj.bias, Tensor) else torch.zeros(cfg.d_model)
        assert close(torch.einsum("bphe,hed->bpd", z, model.head_output_weights(layer)) + o_bias, attn_out)
        down = model.block(layer).get_submodule(model.adapter.mlp_out)
        assert cache[f"blocks.{layer}.mlp.hook_post"].shape == (*tokens.shape, cfg.d_mlp)
        with torch.no_grad():
            assert close(down(cache[f"blocks.{layer}.mlp.hook_post"]), mlp_out)
        if layer < cfg.n_layers - 1:
            assert close(resid_post, out.hidden_states[layer + 1])
    last = cache[f"blocks.{cfg.n_layers - 1}.hook_resid_post"]
    assert close(last, untied.hidden_states[-1])  # before the final norm
    assert close(cache["ln_final.hook_normalized"], out.hidden_states[-1])  # after it, weight included
    assert close(cache["unembed"], out.logits)
    assert close(logits, out.logits)
    with torch.no_grad():
        assert close(model.unembed_residual(last), out.logits)
        assert close(model.unembed_residual(last, scale=cache["ln_final.hook_scale"]), out.logits)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_zero_ablating_a_head_through_hook_z_equals_zeroing_its_o_proj_input_by_hand(model_type: str) -> None:
    model = tiny_hooked(model_type)
    layer, head, d_head = 1, 2, model.config.d_head
    tokens = random_tokens()

    def zero_head(z: Tensor, hook: HookPoint) -> Tensor:
        z = z.clone()
        z[:, :, head] = 0.0
        return z

    def zero_slice(module: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x = args[0].clone()
        x[..., head * d_head : (head + 1) * d_head] = 0.0
        return (x, *args[1:])

    with torch.no_grad():
        clean = model(tokens)
        hooked = model.run_with_hooks(tokens, [(f"blocks.{layer}.attn.hook_z", zero_head)])
        o_proj = model.block(layer).get_submodule(model.adapter.o_proj)
        handle = o_proj.register_forward_pre_hook(zero_slice)
        try:
            by_hand = model(tokens)
        finally:
            handle.remove()
    assert close(hooked, by_hand)
    assert float((hooked - clean).abs().max()) > 1e-3  # the ablation did something


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_replacing_the_residual_stream_changes_the_output_and_gradients_reach_cached_activations(
    model_type: str,
) -> None:
    model = tiny_hooked(model_type)
    tokens = random_tokens()
    names = ["blocks.1.hook_resid_pre", "blocks.0.attn.hook_z", "blocks.0.mlp.hook_post"]
    with torch.no_grad():
        clean = model(tokens)
        doubled = model.run_with_hooks(tokens, [("blocks.1.hook_resid_pre", lambda x, hook: 2 * x)])
    assert float((doubled - clean).abs().max()) > 1e-3
    logits, cache = model.run_with_cache(tokens, names_filter=names, detach=False)
    grads = torch.autograd.grad(logits[:, -1].sum(), [cache[name] for name in names])
    assert all(float(grad.abs().sum()) > 0.0 for grad in grads)


def test_hooks_are_removed_on_exit_also_when_the_body_or_a_hook_raises() -> None:
    model = tiny_hooked("llama")
    tokens = random_tokens()
    before = hook_count(model)
    with model.hooks([(lambda name: name.endswith("hook_resid_post"), lambda x, hook: None)]):
        assert hook_count(model) == before + model.config.n_layers
    assert hook_count(model) == before
    with pytest.raises(RuntimeError, match="body"), model.hooks([("blocks.0.attn.hook_z", lambda z, h: z)]):
        raise RuntimeError("the body fails")
    assert hook_count(model) == before

    def broken(x: Tensor, hook: HookPoint) -> Tensor:
        raise KeyError(hook.name)

    with pytest.raises(KeyError, match="hook_mlp_out"):
        model.run_with_hooks(tokens, [("blocks.1.hook_mlp_out", broken)])
    assert hook_count(model) == before


def test_replacing_a_read_only_activation_or_naming_an_unknown_hook_is_refused() -> None:
    model = tiny_hooked("gpt2")
    tokens = random_tokens()
    before = hook_count(model)
    with pytest.raises(ValueError, match="read but not replaced"):
        model.run_with_hooks(tokens, [("blocks.0.attn.hook_pattern", lambda p, hook: p * 0.5)])
    with pytest.raises(ValueError, match="no hook point named"):
        model.run_with_hooks(
            tokens, [("blocks.0.hook_resid_pre", lambda x, h: None), ("blocks.9.hook_z", print)]
        )
    assert hook_count(model) == before
    assert "blocks.0.hook_resid_mid" in model.hook_names()
    assert "blocks.0.hook_resid_mid" not in tiny_hooked("gpt_neox").hook_names()  # parallel residual


def test_wrapping_switches_to_eager_attention_and_refuses_unsupported_models() -> None:
    sdpa = tiny_hf_model("llama", attn_implementation="sdpa")
    with pytest.raises(ValueError, match="eager"):
        HookedCausalLM(sdpa)
    model = wrap_causal_lm(sdpa)
    assert model.hf.config._attn_implementation == "eager"
    _, cache = model.run_with_cache(random_tokens(), names_filter="blocks.0.attn.hook_pattern")
    assert cache["blocks.0.attn.hook_pattern"].shape == (3, 4, 9, 9)
    with pytest.raises(ValueError, match="no hook adapter"):
        wrap_causal_lm(tiny_hf_model_of_type("opt"))
    with pytest.raises(ValueError, match="PreTrainedModel"):
        wrap_causal_lm(nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_ctx"):
        model(torch.zeros(1, 17, dtype=torch.long))
    without_final_norm = tiny_hf_model("gpt2")
    delattr(without_final_norm.get_submodule("transformer"), "ln_f")
    with pytest.raises(ValueError, match="expected modules"):
        wrap_causal_lm(without_final_norm)


def tiny_hf_model_of_type(model_type: str) -> PreTrainedModel:
    config = AutoConfig.for_model(
        model_type, vocab_size=23, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=16
    )
    return AutoModelForCausalLM.from_config(config, attn_implementation="eager")


def test_config_reads_the_shapes_of_each_model() -> None:
    llama = tiny_hooked("llama").config
    assert (llama.n_layers, llama.n_heads, llama.n_kv_heads, llama.d_head) == (2, 4, 2, 4)
    assert (llama.d_model, llama.d_mlp, llama.d_vocab, llama.n_ctx) == (16, 24, 23, 16)
    assert llama.normalization == "RMS" and not llama.tied_embeddings
    gpt2 = tiny_hooked("gpt2").config
    assert (gpt2.n_kv_heads, gpt2.d_mlp, gpt2.normalization, gpt2.tied_embeddings) == (4, 24, "LN", True)
    assert tiny_hooked("gpt_neox").config.parallel_residual


# ------------------------------------------------------------------------------- LLC components


def expected_masks(model: HookedCausalLM, component: str) -> dict[str, Tensor]:
    """The masks a component should give, written out per model_type from the documented layouts."""
    cfg, model_type = model.config, model.config.model_type
    params = dict(model.named_parameters())
    h, kv, dh, d = cfg.n_heads, cfg.n_kv_heads, cfg.d_head, cfg.d_model
    masks: dict[str, Tensor] = {}

    def none(name: str) -> Tensor:
        return masks.setdefault(name, torch.zeros(params[name].shape, dtype=torch.bool))

    def full(*names: str) -> None:
        for name in names:
            none(name)[...] = True

    if component in ("embed", "unembed", "pos_embed"):
        embed, unembed = {
            "gpt2": ("hf.transformer.wte.weight", "hf.transformer.wte.weight"),  # tied
            "gpt_neox": ("hf.gpt_neox.embed_in.weight", "hf.lm_head.weight"),
        }.get(model_type, ("hf.model.embed_tokens.weight", "hf.lm_head.weight"))
        full({"embed": embed, "unembed": unembed, "pos_embed": "hf.transformer.wpe.weight"}[component])
        return masks
    layer = int(component[1])
    attn: tuple[str, ...]
    mlp: tuple[str, ...]
    if model_type == "gpt2":
        p = f"hf.transformer.h.{layer}."
        attn, mlp = (
            ("attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias"),
            (
                "mlp.c_fc.weight",
                "mlp.c_fc.bias",
                "mlp.c_proj.weight",
                "mlp.c_proj.bias",
            ),
        )
    elif model_type == "gpt_neox":
        p = f"hf.gpt_neox.layers.{layer}."
        attn = tuple(
            f"attention.{m}.{leaf}" for m in ("query_key_value", "dense") for leaf in ("weight", "bias")
        )
        mlp = tuple(
            f"mlp.{m}.{leaf}" for m in ("dense_h_to_4h", "dense_4h_to_h") for leaf in ("weight", "bias")
        )
    else:
        p = f"hf.model.layers.{layer}."
        biases = ("q_proj.bias", "k_proj.bias", "v_proj.bias") if model_type == "qwen2" else ()
        attn = tuple(
            f"self_attn.{m}"
            for m in ("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight", *biases)
        )
        mlp = ("mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")
    if component.endswith(" attn"):
        full(*(p + name for name in attn))
        return masks
    if component.endswith(" mlp"):
        full(*(p + name for name in mlp))
        return masks
    index = int(component[3])
    if component[2] == "h":
        query_heads, kv_heads = [index], [index // (h // kv)]
    else:
        query_heads, kv_heads = list(range(index * (h // kv), (index + 1) * (h // kv))), [index]
    for head in query_heads:
        own = slice(head * dh, (head + 1) * dh)
        if model_type == "gpt2":  # Conv1D c_attn [d, 3d]: q | k | v column blocks, head-major inside each
            for block in range(3):
                columns = slice(block * d + head * dh, block * d + (head + 1) * dh)
                none(p + "attn.c_attn.weight")[:, columns] = True
                none(p + "attn.c_attn.bias")[columns] = True
            none(p + "attn.c_proj.weight")[own, :] = True  # Conv1D [in, out]
        elif model_type == "gpt_neox":  # Linear [3d, d]: rows of head h are [q_h k_h v_h]
            rows = slice(head * 3 * dh, (head + 1) * 3 * dh)
            none(p + "attention.query_key_value.weight")[rows, :] = True
            none(p + "attention.query_key_value.bias")[rows] = True
            none(p + "attention.dense.weight")[:, own] = True
        else:
            none(p + "self_attn.q_proj.weight")[own, :] = True
            none(p + "self_attn.o_proj.weight")[:, own] = True
            if model_type == "qwen2":
                none(p + "self_attn.q_proj.bias")[own] = True
    if model_type in GROUPED_TYPES:
        for group in kv_heads:
            own = slice(group * dh, (group + 1) * dh)
            for proj in ("k_proj", "v_proj"):
                none(p + f"self_attn.{proj}.weight")[own, :] = True
                if model_type == "qwen2":
                    none(p + f"self_attn.{proj}.bias")[own] = True
    return masks


def components_for(model_type: str) -> list[str]:
    found = ["l0h1", "l1h3", "l0 attn", "l1 mlp", "embed", "unembed"]
    if model_type == "gpt2":
        found.append("pos_embed")
    if model_type in GROUPED_TYPES:
        found += ["l0g0", "l1g1"]
    return found


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_each_component_masks_exactly_its_entries(model_type: str) -> None:
    model = tiny_hooked(model_type)
    for component in components_for(model_type):
        got = component_masks(model, [component])
        expected = expected_masks(model, component)
        assert sorted(got) == sorted(expected), component
        for name, mask in expected.items():
            assert torch.equal(got[name], mask), f"{component}: {name}"
        selection = select_weights(model, None, got)
        assert set(selection.names) == set(expected)
        assert selection.sampled_count(dict(model.named_parameters())) == sum(
            int(m.sum()) for m in expected.values()
        )


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_heads_query_key_value_entries_drive_that_head_and_no_other(model_type: str) -> None:
    """Perturbing l1h2's entries of the q/k/v weights moves head 2's z (and only its group's);
    perturbing every other q/k/v entry of the layer leaves head 2's z exactly as it was."""
    model = tiny_hooked(model_type)
    layer, head = 1, 2
    mask = component_masks(model, [f"l{layer}h{head}"])
    o_proj = f".{model.adapter.o_proj}."
    qkv = {name: m for name, m in component_masks(model, [f"l{layer} attn"]).items() if o_proj not in name}
    tokens = random_tokens()
    name = f"blocks.{layer}.attn.hook_z"

    def z_after(perturb_inside: bool) -> Tensor:
        changed = tiny_hooked(model_type)
        params = dict(changed.named_parameters())
        with torch.no_grad():
            for param_name, everything in qkv.items():
                inside = mask.get(param_name, torch.zeros_like(everything))
                chosen = inside if perturb_inside else everything & ~inside
                params[param_name].add_(chosen.float())
            return changed.run_with_cache(tokens, names_filter=name)[1][name]

    with torch.no_grad():
        clean = model.run_with_cache(tokens, names_filter=name)[1][name]
    inside, outside = z_after(True), z_after(False)
    assert close(outside[:, :, head], clean[:, :, head])
    assert not close(inside[:, :, head], clean[:, :, head])
    group_size = model.config.n_heads // model.config.n_kv_heads
    for other in range(model.config.n_heads):
        if other // group_size != head // group_size:
            assert close(inside[:, :, other], clean[:, :, other])


def test_component_grammar_errors_name_the_problem() -> None:
    gpt2, llama = tiny_hooked("gpt2"), tiny_hooked("llama")
    with pytest.raises(ValueError, match="is not a component"):
        component_masks(gpt2, ["layer0"])
    with pytest.raises(ValueError, match="layer 2 does not exist"):
        component_masks(gpt2, ["l2h0"])
    with pytest.raises(ValueError, match="head 4 does not exist"):
        component_masks(gpt2, ["l0h4"])
    with pytest.raises(ValueError, match="no key/value groups"):
        component_masks(gpt2, ["l0g0"])
    with pytest.raises(ValueError, match="key/value group 2 does not exist"):
        component_masks(llama, ["l0g2"])
    with pytest.raises(ValueError, match="no pos embed"):
        component_masks(llama, ["pos_embed"])
    with pytest.raises(ValueError, match="non-empty list"):
        component_masks(llama, "l0h1")


def test_components_that_share_a_parameter_are_combined() -> None:
    llama = tiny_hooked("llama")
    both = component_masks(llama, ["l0h0", "l0h1"])
    assert all(torch.equal(both[name], mask) for name, mask in component_masks(llama, ["l0g0"]).items())


def test_a_restricted_llc_runs_on_a_wrapped_model_and_samples_only_the_group() -> None:
    model = tiny_hooked("llama")
    tokens = torch.randint(0, 23, (48, 8), generator=torch.Generator().manual_seed(3))

    def next_token_loss(logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), targets[:, 1:].reshape(-1))

    masks = component_masks(model, ["l1g1"])
    estimate = estimate_llc(
        model,
        (tokens, tokens),
        next_token_loss,
        SamplerConfig(num_chains=2, num_draws=10, num_burnin=0, batch_size=16),
        weight_masks=masks,
        emit_warnings=False,
    )
    assert estimate.diagnostics["sampled_parameters"] == sum(int(mask.sum()) for mask in masks.values())
    assert (
        estimate.diagnostics["sampled_parameters"] == 2 * 4 * 16 * 2 + 2 * 4 * 16
    )  # q+o of 2 heads, k+v of 1
    assert math.isfinite(estimate.mean)
