"""The interpretability analyses on wrapped Hugging Face models (a tiny gpt2 and a tiny llama with GQA)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from analysis_workers.interp import (
    PatchingPair,
    attention_summary,
    head_ablation,
    linear_probes,
    logit_lens,
    neuron_ablation,
    next_token_task,
    patching_analysis,
)
from analysis_workers.interp.ablation import AblationMethod
from analysis_workers.interp.attention import attention_patterns
from analysis_workers.zoo.hf_hooked import HookedCausalLM
from tests.analysis_workers.hf_models import VOCAB, random_tokens, tiny_hooked

MODEL_TYPES = ("gpt2", "llama")


def zero_head_output(model: HookedCausalLM, layer: int, head: int) -> None:
    """Zero head `head`'s slice of the output projection, in the module's own layout."""
    d_head = model.config.d_head
    weight = model.block(layer).get_submodule(model.adapter.o_proj).weight
    assert isinstance(weight, Tensor)
    with torch.no_grad():
        if model.config.model_type == "gpt2":  # Conv1D [head·d_head, d_model]
            weight[head * d_head : (head + 1) * d_head, :] = 0.0
        else:  # Linear [d_model, head·d_head]
            weight[:, head * d_head : (head + 1) * d_head] = 0.0


def zero_neuron_output(model: HookedCausalLM, layer: int, neuron: int) -> None:
    weight = model.block(layer).get_submodule(model.adapter.mlp_out).weight
    assert isinstance(weight, Tensor)
    with torch.no_grad():
        if model.config.model_type == "gpt2":  # Conv1D [d_mlp, d_model]
            weight[neuron, :] = 0.0
        else:  # Linear [d_model, d_mlp]
            weight[:, neuron] = 0.0


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_attention_scores_are_computed_from_the_exact_attention_probabilities(model_type: str) -> None:
    model = tiny_hooked(model_type)
    tokens = random_tokens(4, 10)
    with torch.no_grad():
        attentions = model.hf(input_ids=tokens, output_attentions=True, use_cache=False).attentions
    patterns = attention_patterns(model, tokens)  # [layer, batch, head, q, k]
    assert torch.allclose(patterns, torch.stack(attentions), atol=1e-6)
    assert torch.allclose(patterns.sum(-1), torch.ones(patterns.shape[:-1]), atol=1e-6)
    report = attention_summary(model, tokens)
    n_pos = tokens.shape[1]
    offset = torch.arange(1, n_pos)
    # rows sum to 1, so each score is the attention mass on the pattern divided by the number of rows
    previous = patterns[..., offset, offset - 1].sum(-1).mean(1) / n_pos  # [layer, head]
    first = patterns[..., 0].sum(-1).mean(1) / n_pos
    assert torch.allclose(torch.tensor(report.metrics["scores"]["previous_token"]), previous, atol=1e-5)
    assert torch.allclose(torch.tensor(report.metrics["scores"]["first_token"]), first, atol=1e-5)
    assert report.png_bytes("head_scores").startswith(b"\x89PNG")


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_the_logit_lens_last_stage_is_the_models_own_loss(model_type: str) -> None:
    model = tiny_hooked(model_type)
    task = next_token_task(random_tokens(4, 10))
    report = logit_lens(model, task)
    assert report.metrics["stages"] == ["embed", "after L0", "after L1"]
    with torch.no_grad():
        own_loss = task.loss(model(task.tokens)).item()
    assert report.metrics["loss"][-1] == pytest.approx(own_loss, abs=1e-5)
    assert report.metrics["loss"][0] != pytest.approx(own_loss, abs=1e-3)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
@pytest.mark.parametrize("method", ["zero", "mean"])
def test_a_head_whose_output_weights_are_zero_has_no_effect(model_type: str, method: AblationMethod) -> None:
    model = tiny_hooked(model_type)
    zero_head_output(model, layer=1, head=2)
    report = head_ablation(model, next_token_task(random_tokens(4, 10)), method=method)
    by_name = {head["head"]: head for head in report.metrics["heads"]}
    assert by_name["L1H2"]["total_effect"] == pytest.approx(0.0, abs=1e-6)
    assert by_name["L1H2"]["direct_effect"] == pytest.approx(0.0, abs=1e-6)
    assert max(abs(head["total_effect"]) for head in report.metrics["heads"]) > 1e-4
    assert max(abs(head["direct_effect"]) for head in report.metrics["heads"]) > 1e-4


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_neuron_whose_output_weights_are_zero_has_no_effect(model_type: str) -> None:
    model = tiny_hooked(model_type)
    zero_neuron_output(model, layer=0, neuron=5)
    report = neuron_ablation(model, next_token_task(random_tokens(4, 10)), layers=[0])
    effects = report.metrics["total_effect"]["0"]
    assert len(effects) == model.config.d_mlp
    assert effects[5] == pytest.approx(0.0, abs=1e-6)
    assert max(abs(effect) for effect in effects) > 1e-5


def corrupted_pair(changed: int = 3) -> PatchingPair:
    clean = random_tokens(6, 8, seed=4)
    corrupted = clean.clone()
    corrupted[:, changed] = (clean[:, changed] + 5) % VOCAB
    answers = torch.arange(6) % VOCAB
    wrong = (answers + 7) % VOCAB
    return PatchingPair(clean, corrupted, answers, wrong, position=-1)


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_patching_restores_the_gap_only_where_the_prompts_differ(model_type: str) -> None:
    model = tiny_hooked(model_type)
    changed = 3
    report = patching_analysis(model, corrupted_pair(changed))
    others = [position for position in range(8) if position != changed]
    for key in ("resid_patching", "resid_attribution"):
        resid = torch.tensor(report.metrics[key])  # [layer, position]
        assert resid.shape == (model.config.n_layers, 8)
        assert resid[0, others].abs().max().item() < 1e-5, key  # identical embeddings: nothing to restore
        assert resid[:, :changed].abs().max().item() < 1e-5, key  # causal: earlier positions never differ
    # patching the one differing embedding turns the corrupted run into the clean one
    assert report.metrics["resid_patching"][0][changed] == pytest.approx(1.0, abs=1e-4)
    heads = torch.tensor(report.metrics["head_attribution"])
    assert heads.shape == (model.config.n_layers, model.config.n_heads)
    assert heads.abs().max().item() > 0.0  # gradients reached hook_z
    assert set(report.figures) == {"resid_patching", "head_patching", "attribution_scatter"}


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_a_probe_reads_the_current_tokens_identity_off_the_embedding(model_type: str) -> None:
    """Six distinct token embeddings in 16 dimensions are linearly separable under any labelling."""
    model = tiny_hooked(model_type)
    tokens = torch.randint(0, 6, (40, 4), generator=torch.Generator().manual_seed(2))
    labels = tokens[:, -1] % 2
    report = linear_probes(model, tokens, labels, generator=torch.Generator().manual_seed(0))
    assert len(report.metrics["accuracy"]) == model.config.n_layers + 1
    assert report.metrics["accuracy"][0] == 1.0
    assert report.metrics["control_accuracy"][0] < 1.0
