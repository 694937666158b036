from __future__ import annotations

import json

import pytest
import torch

from analysis_workers.interp.patching import PatchingPair, activation_patching, patching_analysis
from analysis_workers.zoo.transformer import Transformer, TransformerConfig
from tests.analysis_workers.planted import V, induction_circuit, repeated_prompts


def induction_pair() -> PatchingPair:
    """Clean: BOS c1…c5 c1…c4 (next: c5). Corrupted: c5 in the first half replaced by w ∉ {c}."""
    clean = repeated_prompts(4)[:, :10]
    answers = clean[:, 5].clone()
    wrong = torch.tensor([next(t for t in range(1, V) if t not in row.tolist()) for row in clean])
    corrupted = clean.clone()
    corrupted[:, 5] = wrong
    return PatchingPair(clean, corrupted, answers, wrong)


def test_patching_localises_the_changed_token_and_the_induction_head() -> None:
    report = patching_analysis(induction_circuit(), induction_pair())
    metrics = report.metrics
    assert metrics["ld_clean"] > 5 and metrics["ld_corrupted"] < -5
    resid = torch.tensor(metrics["resid_patching"])  # [layer, pos]
    assert torch.allclose(resid[:, 5], torch.ones(2), atol=1e-3)  # the changed position restores everything
    others = torch.cat([resid[:, :5], resid[:, 6:]], dim=1)
    assert others.abs().max() < 1e-3
    heads = torch.tensor(metrics["head_patching"])
    assert heads[1, 0] == pytest.approx(1.0, abs=1e-3)  # the induction head carries the answer
    assert heads.flatten()[[0, 1, 3]].abs().max() < 1e-3
    assert metrics["top_heads"][0]["head"] == "L1H0"


def test_attribution_matches_exact_patching_where_the_path_is_linear() -> None:
    report = patching_analysis(induction_circuit(), induction_pair())
    exact = torch.tensor(report.metrics["head_patching"])
    approx = torch.tensor(report.metrics["head_attribution"])
    # The answer reaches the logits linearly through L1H0's values, so the gradient is exact there.
    assert approx[1, 0] == pytest.approx(exact[1, 0].item(), abs=1e-3)
    assert report.metrics["attribution_correlation"]["resid"] > 0.99


def test_attribution_misses_a_saturated_softmax() -> None:
    # In a model with a saturated attention pattern, a first-order estimate differs from the real patch.
    config = TransformerConfig(d_vocab=6, n_ctx=6, d_model=12, n_heads=2, d_head=4, d_mlp=16, n_layers=2)
    model = Transformer(config, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for block in model.blocks:
            block.attn.W_Q.mul_(12.0)  # sharp attention
    clean = torch.randint(0, 6, (8, 6), generator=torch.Generator().manual_seed(1))
    corrupted = clean.clone()
    corrupted[:, 2] = (corrupted[:, 2] + 3) % 6
    pair = PatchingPair(clean, corrupted, answers=clean[:, 0], wrong=corrupted[:, 2])
    report = patching_analysis(model, pair)
    exact = torch.tensor(report.metrics["resid_patching"])
    approx = torch.tensor(report.metrics["resid_attribution"])
    assert exact[0, 2] == pytest.approx(1.0, abs=1e-4)  # patching the only changed embedding restores it all
    assert not torch.allclose(exact, approx, atol=1e-2)


def test_patching_report_is_json_with_three_figures() -> None:
    report = patching_analysis(induction_circuit(), induction_pair())
    json.dumps(report.metrics)
    assert set(report.figures) == {"resid_patching", "head_patching", "attribution_scatter"}
    scatter = report.figures["attribution_scatter"].axes[0]
    assert len(scatter.collections) == 2  # residual cells and heads
    assert len(scatter.collections[0].get_offsets()) == 2 * 10


def test_identical_prompts_are_refused() -> None:
    pair = induction_pair()
    same = PatchingPair(pair.clean, pair.clean, pair.answers, pair.wrong)
    with pytest.raises(ValueError, match="nothing to patch"):
        activation_patching(induction_circuit(), same)


def test_malformed_pair_is_refused() -> None:
    pair = induction_pair()
    with pytest.raises(ValueError, match="same shape"):
        PatchingPair(pair.clean, pair.corrupted[:, :5], pair.answers, pair.wrong)
