from __future__ import annotations

import json

import pytest
import torch

from analysis_workers.interp.attention import attention_summary, detection_patterns
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
    assert len(report.figures["patterns_prompt_0"].axes) == 4  # 2 layers × 2 heads
    assert len(report.figures["head_scores"].axes) == 5  # four kinds and a colour bar


def test_attention_summary_refuses_a_missing_heatmap_prompt() -> None:
    with pytest.raises(ValueError, match="heatmap prompt"):
        attention_summary(induction_circuit(), repeated_prompts(2), heatmap_prompts=(5,))
