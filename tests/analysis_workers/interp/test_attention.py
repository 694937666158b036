from __future__ import annotations

import json

import pytest
import torch

from analysis_workers.interp.attention import (
    attention_summary,
    detection_patterns,
    repeated_random_tokens,
    standard_attention_report,
)
from tests.analysis_workers.planted import induction_circuit, repeated_prompts


def test_detection_patterns_mark_the_expected_keys() -> None:
    tokens = torch.tensor([[7, 1, 2, 1, 2]])
    patterns = detection_patterns(tokens)
    assert patterns["previous_token"][0, 3].tolist() == [0, 0, 1, 0, 0]
    assert patterns["duplicate_token"][0, 3].tolist() == [0, 1, 0, 0, 0]  # earlier 1, not itself
    assert patterns["induction"][0, 3].tolist() == [0, 0, 1, 0, 0]  # the token after the earlier 1
    assert patterns["induction"][0, 4].tolist() == [0, 0, 0, 1, 0]
    assert patterns["first_token"][0, 4].tolist() == [1, 0, 0, 0, 0]
    assert patterns["induction"][0, 1].sum() == 0  # no earlier copy of token 1 yet


def test_planted_heads_are_found_and_the_others_score_low() -> None:
    report = attention_summary(induction_circuit(), repeated_prompts(16))
    scores = report.metrics["scores"]
    assert scores["previous_token"][0][0] > 0.85
    assert scores["induction"][1][0] > 0.4  # half the rows have no earlier copy to attend to
    for kind, (layer, head) in {"previous_token": (0, 0), "induction": (1, 0)}.items():
        others = [
            s for i, row in enumerate(scores[kind]) for j, s in enumerate(row) if (i, j) != (layer, head)
        ]
        assert max(others) < 0.5 * scores[kind][layer][head]


def test_attention_summary_figures_and_json() -> None:
    prompts = repeated_prompts(4)
    report = attention_summary(induction_circuit(), prompts, heatmap_prompts=(0, 2))
    json.dumps(report.metrics)
    assert set(report.figures) == {"head_scores", "patterns_prompt_0", "patterns_prompt_2"}
    assert len(report.figures["patterns_prompt_0"].axes) == 5  # 2 layers × 2 heads and a colour bar
    assert len(report.figures["head_scores"].axes) == 5  # four kinds and a colour bar


def test_attention_summary_refuses_a_missing_heatmap_prompt() -> None:
    with pytest.raises(ValueError, match="heatmap prompt"):
        attention_summary(induction_circuit(), repeated_prompts(2), heatmap_prompts=(5,))


def test_the_standard_construction_finds_each_planted_head_on_the_second_half() -> None:
    model = induction_circuit()  # d_vocab 8, n_ctx 12: halves of min(50, 5, 7) = 5 tokens
    report = standard_attention_report(model, repeated_prompts(2), sequences=64, generator=torch.Generator())
    assert report.metrics["construction"]["half_length"] == 5 and report.metrics["seq_len"] == 11
    scores = report.metrics["scores"]
    # counted only where the earlier copy exists, the planted heads score close to 1
    assert scores["induction"][1][0] > 0.95 and scores["previous_token"][0][0] > 0.95
    assert scores["duplicate_token"][0][1] > 0.95
    assert max(scores["induction"][0] + [scores["induction"][1][1]]) < 0.2
    assert report.metrics["top_heads"]["induction"][0]["head"] == "L1H0"
    pattern = report.figures["patterns_prompt_0"].axes[0]  # token ids label both axes
    assert pattern.get_xticklabels()[0].get_text() == "0" and pattern.get_xlabel() == "key token"
    assert len(pattern.get_yticklabels()) == 11


def test_repeated_random_tokens_repeat_a_half_of_distinct_tokens() -> None:
    tokens = repeated_random_tokens(batch=3, half_length=6, vocab_size=10, generator=torch.Generator())
    assert tokens.shape == (3, 13) and (tokens[:, 0] == 0).all()
    assert torch.equal(tokens[:, 1:7], tokens[:, 7:]) and all(
        len(set(row[1:7].tolist())) == 6 for row in tokens
    )
    with pytest.raises(ValueError, match="half_length"):
        repeated_random_tokens(batch=1, half_length=10, vocab_size=10, generator=torch.Generator())


def test_a_context_too_short_for_the_construction_measures_no_induction() -> None:
    from analysis_workers.zoo.transformer import Transformer, TransformerConfig

    config = TransformerConfig(
        d_vocab=8, n_ctx=3, d_model=8, n_heads=1, d_head=8, d_mlp=0, n_layers=1, attn_only=True
    )
    model = Transformer(config, generator=torch.Generator().manual_seed(0))
    report = standard_attention_report(
        model, torch.tensor([[1, 2, 7]]), sequences=8, generator=torch.Generator()
    )
    assert (
        report.metrics["scores"]["induction"] is None and report.metrics["scores"]["duplicate_token"] is None
    )
    assert (
        report.metrics["construction"]["name"] == "dataset prompts"
        and "induction" not in report.metrics["top_heads"]
    )
    assert report.metrics["scores"]["previous_token"] is not None
