"""The worker's side of an uploaded dataset: a token-id file validated before any tensor exists
(the zoo's header validator on a same-width stand-in, integer dtypes only, the checkpoint rules
untouched), JSON lines tokenised with the checkpoint's own tokenizer.json, and the loss and token
task that count the real next tokens only."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from analysis_workers import zoo
from analysis_workers.datasets import Dataset
from analysis_workers.datasets.uploaded import IGNORE_INDEX, DatasetFileError, inspect_token_ids
from analysis_workers.datasets.uploaded_build import build_uploaded, jsonl_text_dataset, token_file_dataset
from analysis_workers.runners.inputs import loss_fn_for, token_task

VOCAB, CONTEXT = 16, 8
SPEC = {
    "family": "transformer",
    "config": {
        "d_vocab": VOCAB,
        "n_ctx": CONTEXT,
        "d_model": 16,
        "n_heads": 2,
        "d_head": 8,
        "d_mlp": 32,
        "n_layers": 1,
        "act_fn": "relu",
        "normalization": None,
        "attn_only": False,
    },
}
PARAMS = {"max_rows": 100}


def _file(ids: torch.Tensor, mask: torch.Tensor | None = None) -> bytes:
    tensors = {"input_ids": ids} if mask is None else {"input_ids": ids, "attention_mask": mask}
    return save(tensors)


def _raw(header: dict[str, object] | str, data: bytes) -> bytes:
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def _tokens(rows: int = 4, seq_len: int = CONTEXT, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, VOCAB, (rows, seq_len), generator=torch.Generator().manual_seed(seed))


def _dataset(data: bytes) -> Dataset:
    return token_file_dataset(data, PARAMS, vocab_size=VOCAB, context=CONTEXT)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint16])
def test_a_token_file_becomes_next_token_prediction_with_padding_ignored(dtype: torch.dtype) -> None:
    tokens = _tokens()
    mask = torch.ones_like(tokens)
    mask[1, 5:] = 0
    dataset = _dataset(_file(tokens.to(dtype), mask.to(dtype)))
    assert torch.equal(dataset.inputs, tokens[:, :-1]) and dataset.inputs.dtype == torch.int64
    assert torch.equal(dataset.targets[0], tokens[0, 1:])
    assert dataset.targets[1, 4:].tolist() == [IGNORE_INDEX] * 3  # targets of padding positions
    assert torch.equal(dataset.targets[1, :4], tokens[1, 1:5])
    assert dataset.extras["target_mask"].sum() == 4 * 7 - 3


def test_the_platform_and_the_worker_read_the_same_facts_from_a_file() -> None:
    tokens = _tokens(rows=3)
    facts = inspect_token_ids([_file(tokens)[i : i + 7] for i in range(0, len(_file(tokens)), 7)])
    assert (facts.rows, facts.seq_len, facts.max_token_id, facts.attention_mask) == (
        3,
        CONTEXT,
        int(tokens.max()),
        False,
    )


ID_BYTES = torch.zeros(2, 4, dtype=torch.int64).numpy().tobytes()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_file(torch.zeros(2, 4)), "token ids are integers"),
        (_file(torch.zeros(2, 4, dtype=torch.int8)), "dtype"),
        (save({"weights": torch.zeros(2, 4, dtype=torch.int64)}), "input_ids"),
        (_file(torch.zeros(2, 4, 1, dtype=torch.int64)), "(N, T)"),
        (
            _file(torch.zeros(2, 4, dtype=torch.int64), torch.ones(2, 3, dtype=torch.int64)),
            "shape of input_ids",
        ),
        (_file(torch.full((2, 4), VOCAB, dtype=torch.int64)), "vocabulary of 16"),
        (_file(-torch.ones(2, 4, dtype=torch.int64)), "token id -1"),
        (_file(torch.zeros(2, CONTEXT + 1, dtype=torch.int64)), "context is 8"),
        (_file(torch.zeros(2, 4, dtype=torch.int64), torch.tensor([[1, 0, 1, 1], [1, 1, 1, 1]])), "right"),
        (_file(torch.zeros(2, 4, dtype=torch.int64), torch.tensor([[1, 2, 1, 1], [1, 1, 1, 1]])), "0 and 1"),
        (_file(torch.zeros(2, 4, dtype=torch.int64), torch.tensor([[1, 0, 0, 0], [1, 1, 1, 1]])), "2 real"),
        (b"\x80\x04\x95pickle", "pickle"),
        (struct.pack("<Q", 10**12) + b"{}", "header too large"),
        (
            _raw(
                '{"input_ids": {"dtype": "I64", "shape": [2, 4], "data_offsets": [0, 64]}, "input_ids": '
                '{"dtype": "I64", "shape": [2, 4], "data_offsets": [0, 64]}}',
                ID_BYTES,
            ),
            "twice",
        ),
        (
            _raw({"input_ids": {"dtype": "I64", "shape": [2, 4], "data_offsets": [0, 64]}}, ID_BYTES + b"x"),
            "trailing bytes",
        ),
        (
            _raw({"input_ids": {"dtype": "I64", "shape": [2, 4], "data_offsets": [0, 64]}}, ID_BYTES[:-8]),
            "outside the file",
        ),
    ],
)
def test_a_token_file_is_refused_before_any_tensor_exists_with_one_readable_line(
    data: bytes, reason: str
) -> None:
    with pytest.raises(ValueError) as refused:
        _dataset(data)
    message = str(refused.value)
    assert reason in message and "\n" not in message, message


def test_checkpoint_validation_still_refuses_integer_tensors() -> None:
    """The stand-in is the dataset's alone: the zoo's own validator never takes an integer dtype."""
    with pytest.raises(zoo.CheckpointError, match="dtype 'I64'"):
        zoo.validate_safetensors_header(_file(_tokens()))


def _tokenizer_folder(tmp_path: Path) -> Path:
    vocabulary = {
        "[PAD]": 0,
        "[UNK]": 1,
        **{word: i + 2 for i, word in enumerate(["the", "cat", "sat", "on", "a", "mat"])},
    }
    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    return tmp_path


def test_json_lines_are_tokenised_with_the_checkpoints_tokenizer_truncated_and_padded(tmp_path: Path) -> None:
    lines = b'{"text": "the cat sat on the mat"}\n{"text": "a cat"}\n{"text": "mat"}\n{"text": "the dog"}\n'
    dataset = jsonl_text_dataset(
        lines,
        {"max_rows": 100, "seq_len": 4},
        tokenizer_file=_tokenizer_folder(tmp_path) / "tokenizer.json",
        vocab_size=VOCAB,
        context=CONTEXT,
    )
    # "the cat sat on the mat" → the cat sat on (truncated); "a cat" padded; "mat" alone is left out
    assert dataset.extras["tokens"].tolist() == [[2, 3, 4, 5], [6, 3, 0, 0], [2, 1, 0, 0]]
    assert dataset.extras["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]
    assert dataset.targets[1].tolist() == [3, IGNORE_INDEX, IGNORE_INDEX]
    assert dataset.metadata["skipped_short_lines"] == 1


def test_text_whose_tokens_exceed_the_models_vocabulary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileError, match="vocabulary of 4 ids"):
        jsonl_text_dataset(
            b'{"text": "the mat"}\n',
            {"max_rows": 10, "seq_len": 4},
            tokenizer_file=_tokenizer_folder(tmp_path) / "tokenizer.json",
            vocab_size=4,
            context=CONTEXT,
        )


def test_text_needs_the_checkpoint_folder_to_hold_a_tokenizer(tmp_path: Path) -> None:
    description = {"name": "uploaded", "format": "jsonl_text", "params": {"seq_len": 4}}
    with pytest.raises(DatasetFileError, match=r"tokenizer\.json"):
        build_uploaded(description, b'{"text": "a"}\n', spec=SPEC, folder=tmp_path)
    with pytest.raises(DatasetFileError, match=r"tokenizer\.json"):
        build_uploaded(description, b'{"text": "a"}\n', spec=SPEC, folder=None)


def _padded_dataset(garbage: int) -> Dataset:
    tokens = _tokens(rows=6)
    mask = torch.ones_like(tokens)
    mask[::2, 5:] = 0
    tokens[::2, 5:] = garbage  # what sits under the padding must not matter
    return _dataset(_file(tokens, mask))


def test_the_loss_and_the_token_task_count_the_real_next_tokens_only() -> None:
    model = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    losses, tasks = [], []
    for garbage in (0, VOCAB - 1):
        dataset = _padded_dataset(garbage)
        with torch.inference_mode():
            logits = model(dataset.inputs)
        losses.append(float(loss_fn_for(dataset)(logits, dataset.targets)))
        task = token_task(dataset, max_prompts=6)
        assert torch.equal(task.mask, dataset.extras["target_mask"])
        tasks.append(float(task.loss(logits[:, : task.tokens.shape[1]])))
        real = dataset.extras["target_mask"]
        by_hand = torch.nn.functional.cross_entropy(logits[real], dataset.targets[real])
        assert losses[-1] == pytest.approx(float(by_hand), rel=1e-6)
    # padding positions see only earlier tokens (causal, padded on the right): only their logits
    # change with what sits under the padding, and those are not counted
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert tasks[0] == pytest.approx(tasks[1], rel=1e-6) == pytest.approx(losses[0], rel=1e-6)


def test_mutant_loss_counting_padding_changes_with_what_sits_under_it() -> None:
    model = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    unmasked = []
    for garbage in (0, VOCAB - 1):
        dataset = _padded_dataset(garbage)
        targets = dataset.extras["tokens"][:, 1:]  # the mutant: padding's targets counted
        with torch.inference_mode():
            logits = model(dataset.inputs)
        unmasked.append(
            float(torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)))
        )
    assert abs(unmasked[0] - unmasked[1]) > 1e-4  # the real loss agrees to 1e-6 (test above)


def test_the_llc_runs_on_an_uploaded_dataset() -> None:
    from analysis_workers.kinds import validate_params
    from analysis_workers.runners.inputs import JobInputs
    from analysis_workers.runners.llc import run

    model = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    dataset = build_uploaded(
        {"name": "uploaded", "format": "token_ids", "params": {}},
        _file(_tokens(rows=32)),
        spec=SPEC,
        folder=None,
    )
    params = validate_params("llc", {"num_chains": 2, "num_draws": 20, "num_burnin": 5, "batch_size": 8})
    report = run(JobInputs(zoo.validate_spec(SPEC), [model], ["m"], dataset, params, lambda fraction: None))
    assert torch.isfinite(torch.tensor(report.metrics["llc_mean"]))
