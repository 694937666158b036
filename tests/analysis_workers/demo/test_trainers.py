from __future__ import annotations

from functools import partial

import pytest
import torch

from analysis_workers.demo import (
    DeepLinearConfig,
    InductionConfig,
    ModularAdditionConfig,
    repeated_sequences,
    set_worker_threads,
    train_deep_linear,
    train_induction,
    train_modular_addition,
)
from analysis_workers.interp.grokking import grokking_progress


def test_modular_addition_is_deterministic_from_the_seed_and_records_checkpoints() -> None:
    config = ModularAdditionConfig(p=11, steps=20, eval_every=5, checkpoint_every=10, d_model=16, d_mlp=32)
    a, b = train_modular_addition(config), train_modular_addition(config)
    assert a.history == b.history
    assert [step for step, _ in a.checkpoints] == [0, 10, 20]
    assert all(torch.equal(a.checkpoints[-1][1][k], v) for k, v in b.model.state_dict().items())
    assert a.history["step"] == [0, 5, 10, 15, 20]
    assert a.history["train_loss"][-1] < a.history["train_loss"][0]
    assert len(a.data.train_indices) == round(0.5 * 121)
    assert set(a.data.train_indices.tolist()).isdisjoint(a.data.test_indices.tolist())
    other = train_modular_addition(ModularAdditionConfig(**{**config.__dict__, "seed": 9}))
    assert other.history != a.history


def test_default_modular_addition_model_has_about_56k_parameters() -> None:
    assert ModularAdditionConfig().transformer_config().parameter_count() == 56_886


@pytest.mark.parametrize(
    "change", [{"p": 2}, {"train_fraction": 1.0}, {"d_model": 30, "n_heads": 4}, {"lr": 0.0}]
)
def test_modular_addition_config_is_validated(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ModularAdditionConfig(**change)  # type: ignore[arg-type]


def test_repeated_sequences_repeat_with_their_period_after_a_random_start() -> None:
    tokens, predictable = repeated_sequences(
        64, d_vocab=32, n_ctx=24, min_period=4, max_period=10, generator=torch.Generator().manual_seed(0)
    )
    for row, mask in zip(tokens, predictable, strict=True):
        first = int(mask.nonzero()[0])  # first position whose next token is a repeat
        period = next(k for k in range(4, 11) if all(row[t + 1] == row[t + 1 - k] for t in range(first, 23)))
        assert mask[first:-1].all() and not mask[:first].any()
        assert row[first] == row[first - period]  # the current token was seen one period earlier
    assert len({int(m.nonzero()[0]) for m in predictable}) > 5  # starts and periods vary


def test_a_prefix_rule_makes_the_prefix_follow_it_and_leaves_the_repeats_as_they_were() -> None:
    rule = torch.randperm(32, generator=torch.Generator().manual_seed(5))  # ρ
    language = partial(repeated_sequences, d_vocab=32, n_ctx=24, min_period=4, max_period=10)
    plain, plain_mask = language(64, generator=torch.Generator().manual_seed(0))
    ruled, ruled_mask = language(64, generator=torch.Generator().manual_seed(0), prefix_rule=rule)
    assert torch.equal(plain_mask, ruled_mask)
    for row, plain_row, mask in zip(ruled, plain, ruled_mask, strict=True):
        first = int(mask.nonzero()[0])
        period = next(k for k in range(4, 11) if all(row[t + 1] == row[t + 1 - k] for t in range(first, 23)))
        start = first - period  # the block starts here; the prefix is everything before
        assert torch.equal(row[start:], plain_row[start:])
        assert torch.equal(row[:2], plain_row[:2])
        assert all(row[t] == rule[row[t - 2]] for t in range(2, start))
    with pytest.raises(ValueError, match="prefix_rule"):
        language(4, generator=torch.Generator(), prefix_rule=rule[:10])


def test_induction_trainer_is_deterministic_and_lowers_the_loss() -> None:
    config = InductionConfig(steps=30, eval_every=10, checkpoint_every=10, d_model=16, n_heads=2)
    a, b = train_induction(config), train_induction(config)
    assert a.history == b.history
    assert a.model.config.attn_only and a.model.config.n_layers == 2
    assert a.history["test_loss"][-1] < a.history["test_loss"][0]


def test_deep_linear_student_learns_the_teacher() -> None:
    run = train_deep_linear(DeepLinearConfig(steps=400))
    assert run.history["loss"][-1] < 0.1 * run.history["loss"][0]
    assert list(run.checkpoints[0][1]) == ["0.weight", "1.weight"]
    again = train_deep_linear(DeepLinearConfig(steps=400))
    assert again.history == run.history


def test_set_worker_threads_refuses_nonsense_and_sets_torch_threads() -> None:
    before = torch.get_num_threads()
    try:
        set_worker_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        set_worker_threads(0)


@pytest.mark.slow
def test_modular_addition_groks_and_the_progress_measures_see_it() -> None:
    run = train_modular_addition()
    history = run.history
    memorised = next(
        s for s, acc in zip(history["step"], history["train_accuracy"], strict=True) if acc > 0.99
    )
    generalised = next(
        s for s, acc in zip(history["step"], history["test_accuracy"], strict=True) if acc > 0.95
    )
    assert memorised <= 200
    assert generalised >= memorised + 300  # train accuracy long before test accuracy
    assert generalised <= 1000
    test_at_memorisation = history["test_accuracy"][history["step"].index(memorised)]
    assert test_at_memorisation < 0.6

    report = grokking_progress(
        run.model.config, run.checkpoints, p=run.config.p, train_indices=run.data.train_indices
    )
    metrics = report.metrics
    steps = metrics["step"]
    at_memorised = min(range(len(steps)), key=lambda i: abs(steps[i] - memorised))
    # The key frequencies take over the embedding; weight decay shrinks the weights after memorisation.
    assert metrics["key_frequency_share"][-1] > metrics["key_frequency_share"][0] + 0.3
    assert metrics["weight_norm"][-1] < metrics["weight_norm"][at_memorised]
    # Restricted loss (key frequencies only) ends low; excluded loss rises above the train loss.
    assert metrics["restricted_loss"][-1] < 1.0
    assert metrics["excluded_loss"][-1] > 10 * metrics["train_loss"][-1]
    assert len(report.figures["progress_measures"].axes) == 3  # losses, share, and the norm's twin axis
