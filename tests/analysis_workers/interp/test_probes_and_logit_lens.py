from __future__ import annotations

import json

import pytest
import torch

from analysis_workers.interp.logit_lens import logit_lens
from analysis_workers.interp.probes import linear_probes
from analysis_workers.interp.task import next_token_task
from tests.analysis_workers.planted import (
    feature_circuit,
    feature_prompts,
    induction_circuit,
    repeated_prompts,
)


def test_planted_feature_is_found_where_it_was_written_and_not_with_shuffled_labels() -> None:
    tokens, parity = feature_prompts(300)
    report = linear_probes(feature_circuit(), tokens, parity, generator=torch.Generator().manual_seed(0))
    metrics = report.metrics
    assert metrics["stages"] == ["embed", "after L0", "after L1"]
    assert metrics["accuracy"][0] < metrics["chance"] + 0.15  # not in the embedding of the last token
    assert metrics["accuracy"][1] > 0.97  # written by block 0
    assert metrics["accuracy"][2] > 0.97  # and still there after block 1
    assert max(metrics["control_accuracy"]) < metrics["chance"] + 0.15
    assert metrics["selectivity"][1] > 0.3
    json.dumps(metrics)
    axes = report.figures["probes"].axes[0]
    assert len(axes.lines) == 3  # probe, control, chance


def test_probe_split_is_deterministic_from_the_generator() -> None:
    tokens, parity = feature_prompts(120)
    a = linear_probes(feature_circuit(), tokens, parity, generator=torch.Generator().manual_seed(5)).metrics
    b = linear_probes(feature_circuit(), tokens, parity, generator=torch.Generator().manual_seed(5)).metrics
    assert a == b


def test_probe_refuses_mismatched_labels() -> None:
    tokens, parity = feature_prompts(20)
    with pytest.raises(ValueError, match="labels"):
        linear_probes(feature_circuit(), tokens, parity[:5], generator=torch.Generator())


def test_logit_lens_sees_the_answer_only_after_the_induction_layer() -> None:
    prompts = repeated_prompts(16)
    mask = torch.zeros_like(prompts, dtype=torch.bool)
    mask[:, 6:] = True
    report = logit_lens(induction_circuit(), next_token_task(prompts, mask))
    metrics = report.metrics
    assert metrics["stages"] == ["embed", "after L0", "after L1"]
    # Nothing reaches the answer subspace before layer 1: a flat read-out, the worst rank.
    assert metrics["mean_rank"][0] == pytest.approx(7.0) and metrics["mean_rank"][1] == pytest.approx(7.0)
    assert metrics["accuracy"][2] == 1.0 and metrics["mean_rank"][2] == 0.0
    assert metrics["loss"][2] < 0.01 < metrics["loss"][0]
    assert len(report.figures["logit_lens"].axes) == 2
    assert len(report.figures["logit_lens"].axes[0].lines) == 1
