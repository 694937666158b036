from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: these tests never reach the hub

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, PreTrainedModel

from analysis_workers.demo.hf_induction import (
    END_OF_TEXT,
    HISTORY_KEYS,
    HFInductionConfig,
    HFInductionRun,
    main,
    new_model,
    train_hf_induction,
    write_run,
)
from interlock_wire.manifest import refusal_for_name

SMALL = HFInductionConfig(steps=40, eval_every=20, checkpoint_every=20, n_held_out=32, n_score_prompts=16)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The model's operations are tiny: one thread runs them fastest, more wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFInductionRun, Path]:
    run = train_hf_induction(SMALL)
    out = tmp_path_factory.mktemp("hf-series")
    write_run(run, out)
    return run, out


def _logits(model: PreTrainedModel, tokens: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(tokens).logits


def _load(folder: Path) -> PreTrainedModel:
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    return model.eval()


def test_every_step_folder_loads_offline_and_gives_the_logits_of_training(
    small_series: tuple[HFInductionRun, Path],
) -> None:
    run, out = small_series
    assert sorted(p.name for p in out.glob("step-*")) == ["step-00000", "step-00020", "step-00040"]
    reference = new_model(SMALL, generator=torch.Generator().manual_seed(0))
    tokens = run.held_out[:8]
    for step, state in run.checkpoints:
        folder = out / f"step-{step:05d}"
        names = {p.name for p in folder.iterdir()}
        assert names == {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"}
        assert all(refusal_for_name(name) is None for name in names)  # what upload-hf accepts
        loaded = _load(folder)
        reference.load_state_dict(state)
        torch.testing.assert_close(_logits(loaded, tokens), _logits(reference, tokens), rtol=0, atol=1e-5)
    torch.testing.assert_close(_logits(_load(out / "step-00040"), tokens), _logits(run.model, tokens))
    config = json.loads((out / "step-00000" / "config.json").read_text())
    assert config["model_type"] == "gpt2" and config["vocab_size"] == SMALL.n_tokens + 1
    assert config["bos_token_id"] == config["eos_token_id"] == SMALL.n_tokens  # inside the vocabulary
    assert (config["n_layer"], config["n_head"], config["n_embd"], config["n_positions"]) == (2, 4, 64, 32)


def test_dataset_file_holds_the_held_out_token_ids_inside_the_vocabulary(
    small_series: tuple[HFInductionRun, Path],
) -> None:
    run, out = small_series
    tensors = load_file(str(out / "dataset.safetensors"))
    assert list(tensors) == ["input_ids"]
    ids = tensors["input_ids"]
    assert ids.dtype == torch.int64 and ids.shape == (SMALL.n_held_out, SMALL.n_ctx)
    assert int(ids.min()) >= 0 and int(ids.max()) < SMALL.n_tokens  # never the <|endoftext|> id
    assert torch.equal(ids, run.held_out)
    # The prefix follows x_{t+1} = ρ(x_{t−1}) wherever three prefix tokens fit before the block.
    follows_rule = run.prefix_rule[ids[:, :-2]] == ids[:, 2:]  # [n, n_ctx − 2]
    assert follows_rule[:, 0].float().mean() > 0.5  # most rows start with a prefix
    assert sorted(run.prefix_rule.tolist()) == list(range(SMALL.n_tokens))


def test_tokenizer_json_maps_the_words_to_their_ids_and_refuses_unknown_words(
    small_series: tuple[HFInductionRun, Path],
) -> None:
    _, out = small_series
    tokenizer = Tokenizer.from_file(str(out / "step-00020" / "tokenizer.json"))
    assert tokenizer.encode("t3 t5").ids == [3, 5]
    assert tokenizer.encode(f"t31 {END_OF_TEXT}").ids == [31, SMALL.n_tokens]
    assert tokenizer.decode([3, 5]) == "t3 t5"
    assert (out / "tokenizer.json").read_bytes() == (out / "step-00020" / "tokenizer.json").read_bytes()
    with pytest.raises(Exception, match="UNK"):
        tokenizer.encode("t3 t99")


def test_history_has_one_row_per_evaluated_step_with_the_best_heads(
    small_series: tuple[HFInductionRun, Path],
) -> None:
    run, out = small_series
    history = json.loads((out / "history.json").read_text())
    assert history == run.history and tuple(history) == HISTORY_KEYS
    assert history["step"] == [0, 20, 40]
    assert all(len(values) == 3 for values in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    for key in ("induction_head", "repeat_head", "platform_induction_head"):
        assert all(label[0] == "L" and "H" in label for label in history[key])
    for key in ("induction_score", "repeat_score", "platform_induction_score"):
        assert all(0.0 <= score <= 1.0 for score in history[key])


def test_training_is_deterministic_and_leaves_the_global_generator_alone() -> None:
    config = replace(SMALL, steps=6, eval_every=3, checkpoint_every=3)
    before = torch.random.get_rng_state()
    a, b = train_hf_induction(config), train_hf_induction(config)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert a.history == b.history and torch.equal(a.held_out, b.held_out)
    assert all(torch.equal(v, b.checkpoints[-1][1][k]) for k, v in a.checkpoints[-1][1].items())
    assert train_hf_induction(replace(config, seed=1)).history != a.history


@pytest.mark.parametrize(
    "change",
    [
        {"min_period": 1},
        {"max_period": 17},  # two repeats no longer fit 32 positions
        {"n_tokens": 12},  # the repeated prompt needs n_ctx // 2 distinct tokens
        {"d_model": 66},  # not a multiple of 4 heads
        {"n_score_prompts": 300},
        {"lr": 0.0},
        {"steps": 0},
    ],
)
def test_config_is_validated(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HFInductionConfig(**change)  # type: ignore[arg-type]


def test_rerun_with_the_same_arguments_reuses_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "series"
    assert main(["--out", str(out), "--steps", "4", "--every", "2"]) == 0
    assert json.loads((out / "done.json").read_text()) == {"steps": 4, "every": 2, "seed": 0}
    weights = out / "step-00004" / "model.safetensors"
    written = weights.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["--out", str(out), "--steps", "4", "--every", "2"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert weights.stat().st_mtime_ns == written
    assert main(["--out", str(out), "--steps", "3", "--every", "3"]) == 0  # other arguments: trained again
    assert sorted(p.name for p in out.glob("step-*")) == ["step-00000", "step-00003"]  # no stale steps
    assert main(["--out", str(out), "--steps", "3", "--every", "0"]) == 2


def _repeat_scores(model: PreTrainedModel, *, length: int, generator: torch.Generator) -> torch.Tensor:
    """The textbook score, written out here independently: `length` distinct random tokens
    repeated twice; each head's mean attention from the second half to the position right
    after the earlier copy. [layer, head]."""
    block = torch.rand(64, 32, generator=generator).argsort(dim=1)[:, :length]
    tokens = torch.cat([block, block], dim=1)
    with torch.inference_mode():
        attentions = model(tokens, output_attentions=True).attentions  # layer × [batch, head, q, k]
    queries = torch.arange(length, 2 * length)
    return torch.stack([a[:, :, queries, queries - length + 1].mean(dim=(0, 2)) for a in attentions])


@pytest.mark.slow
def test_default_training_grows_an_induction_head_that_the_saved_model_keeps(tmp_path: Path) -> None:
    out = tmp_path / "series"
    assert main(["--out", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())
    # Measured (seed 0): best head 0.09 / 0.04 at step 0, L1H0 at 0.92 / 0.92 after 2400 steps.
    assert history["induction_score"][0] < 0.2 and history["repeat_score"][0] < 0.2
    assert history["induction_score"][-1] > 0.7 and history["repeat_score"][-1] > 0.7
    assert history["induction_head"][-1] == history["repeat_head"][-1]
    assert history["induction_head"][-1].startswith("L1")
    assert history["induction_accuracy"][-1] > 0.95

    generator = torch.Generator().manual_seed(12345)
    first = _repeat_scores(_load(out / "step-00000"), length=12, generator=generator)
    last = _repeat_scores(_load(out / "step-02400"), length=12, generator=generator)
    assert first.max() < 0.2
    assert last[1].max() > 0.7  # a layer-1 head attends to the token after the earlier copy
    assert last[0].max() < 0.3  # and no layer-0 head does: it is not a positional coincidence
