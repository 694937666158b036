from __future__ import annotations

import json

import pytest
import torch
from matplotlib.collections import PathCollection

from analysis_workers.interp.ablation import head_ablation, neuron_ablation
from analysis_workers.interp.task import last_position_task, next_token_task
from analysis_workers.zoo.transformer import Transformer, TransformerConfig
from tests.analysis_workers.planted import (
    backup_circuit,
    first_token_prompts,
    induction_circuit,
    repeated_prompts,
)


def backup_task() -> object:
    tokens, answers = first_token_prompts()
    return last_position_task(tokens, answers)


def test_zero_ablating_a_head_with_a_backup_shows_self_repair() -> None:
    tokens, answers = first_token_prompts()
    report = head_ablation(backup_circuit(with_backup=True), last_position_task(tokens, answers))
    primary = report.metrics["heads"][0]
    assert primary["head"] == "L0H0"
    assert primary["direct_effect"] > 1.0  # its direct path carries the answer
    assert primary["total_effect"] < 0.05 * primary["direct_effect"]  # the backup head restores it
    assert primary["self_repair"] > 0.95 * primary["direct_effect"]
    backup = report.metrics["heads"][1]
    assert abs(backup["total_effect"]) < 1e-3 and abs(backup["direct_effect"]) < 1e-3  # idle when L0H0 works


def test_self_repair_is_reported_only_where_a_later_component_can_repair() -> None:
    tokens, answers = first_token_prompts()
    report = head_ablation(backup_circuit(with_backup=True), last_position_task(tokens, answers))
    primary, last = report.metrics["heads"]
    assert primary["self_repair_kind"] == "downstream" and primary["self_repair"] is not None
    # the last layer of an attention-only model without normalisation: nothing after it
    assert last["self_repair_kind"] == "none" and last["self_repair"] is None
    assert report.metrics["self_repair"][1] == [None] and report.metrics["self_repair_kind"] == [
        "downstream",
        "none",
    ]


def test_without_the_backup_head_there_is_no_self_repair() -> None:
    tokens, answers = first_token_prompts()
    report = head_ablation(backup_circuit(with_backup=False), last_position_task(tokens, answers))
    primary = report.metrics["heads"][0]
    assert primary["total_effect"] == pytest.approx(primary["direct_effect"], abs=1e-4)
    assert abs(primary["self_repair"]) < 1e-4


def test_previous_token_head_acts_through_the_induction_head_not_directly() -> None:
    prompts = repeated_prompts(16)
    mask = torch.zeros_like(prompts, dtype=torch.bool)
    mask[:, 6:] = True  # positions whose next token is a repeat
    report = head_ablation(induction_circuit(), next_token_task(prompts, mask))
    by_name = {head["head"]: head for head in report.metrics["heads"]}
    assert report.metrics["clean_loss"] < 0.01
    assert by_name["L0H0"]["direct_effect"] == pytest.approx(0.0, abs=1e-4)
    assert by_name["L0H0"]["total_effect"] > 1.0  # an indirect effect: self-repair is negative
    assert by_name["L0H0"]["self_repair"] < -1.0
    assert by_name["L1H0"]["direct_effect"] == pytest.approx(by_name["L1H0"]["total_effect"], rel=1e-4)
    assert by_name["L1H1"]["total_effect"] == pytest.approx(0.0, abs=1e-4)


def test_mean_ablation_keeps_the_flag_so_the_backup_stays_idle() -> None:
    tokens, answers = first_token_prompts()
    report = head_ablation(backup_circuit(), last_position_task(tokens, answers), method="mean")
    primary = report.metrics["heads"][0]
    # The batch-mean output still raises the flag, so the backup does not step in.
    assert primary["total_effect"] == pytest.approx(primary["direct_effect"], rel=1e-3)


def test_head_ablation_report_is_json_and_has_its_figures() -> None:
    tokens, answers = first_token_prompts()
    report = head_ablation(backup_circuit(), last_position_task(tokens, answers))
    json.dumps(report.metrics)
    assert len(report.figures["head_ablation"].axes) == 6  # three heatmaps and their colour bars
    scatter = report.figures["self_repair_scatter"].axes[0]
    points = [c for c in scatter.collections if isinstance(c, PathCollection)]  # the band is a polygon
    assert sum(len(c.get_offsets()) for c in points) == 2
    assert scatter.get_title().startswith("1 head(s) compensated by later components: L0H0")
    assert report.png_bytes("self_repair_scatter").startswith(b"\x89PNG")


def test_unknown_ablation_method_is_refused() -> None:
    tokens, answers = first_token_prompts()
    with pytest.raises(ValueError, match="ablation method"):
        head_ablation(backup_circuit(), last_position_task(tokens, answers), method="resample")  # type: ignore[arg-type]


def test_neuron_ablation_finds_the_only_neuron_that_matters() -> None:
    config = TransformerConfig(
        d_vocab=4, n_ctx=2, d_model=4, n_heads=1, d_head=1, d_mlp=3, n_layers=1, normalization=None
    )
    model = Transformer(config, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.embed.W_E[:] = torch.eye(4)
        mlp = model.blocks[0].mlp
        mlp.W_in[:, 1] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # neuron 1 fires on token 0 only
        mlp.b_in[:] = torch.tensor([0.5, 0.0, 0.5])  # neurons 0 and 2 fire on everything, write nothing
        mlp.W_out[1] = torch.tensor([0.0, 0.0, 8.0, 0.0])
        model.unembed.W_U[:] = torch.eye(4)
    tokens = torch.tensor([[0, 0], [0, 0]])
    task = last_position_task(tokens, torch.tensor([2, 2]))
    report = neuron_ablation(model, task)
    effects = report.metrics["total_effect"]["0"]
    assert effects[1] > 1.5 and abs(effects[0]) < 1e-6 and abs(effects[2]) < 1e-6
    assert report.metrics["top_neurons"][0]["neuron"] == 1
    assert len(report.figures["neuron_ablation"].axes[0].patches) == 3  # one bar per neuron


def test_neuron_ablation_refuses_attention_only_models() -> None:
    with pytest.raises(ValueError, match="no MLP"):
        neuron_ablation(induction_circuit(), next_token_task(repeated_prompts(2)))
