"""`kinds.dataset_defaults_for`: the defaults a request form offers first fit the model — every
kind, family and dataset that may go together passes the platform's own input check with them —
and a model too small for a dataset still fails that check, with the reason."""

from __future__ import annotations

import copy

import pytest

from analysis_workers import zoo
from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import InputMismatch, check_inputs, dataset_defaults_for, registry, token_limits

TINY = {
    "family": "transformer",
    "config": {
        "d_vocab": 8,
        "n_ctx": 3,
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


def test_the_fitted_defaults_pass_the_input_check_for_every_pairing_that_can_fit() -> None:
    checked = 0
    for kind in registry().values():
        for family in kind.families:
            spec = zoo.example_spec(family)
            tokens = token_limits(spec) is not None
            for dataset in kind.datasets:
                if (dataset_registry()[dataset].takes == "tokens") != tokens:
                    continue
                check_inputs(
                    kind.name,
                    spec=spec,
                    dataset=dataset,
                    dataset_params=dataset_defaults_for(dataset, spec=spec),
                )
                checked += 1
    assert checked > 20


def test_a_small_transformer_gets_p_from_its_vocabulary_and_induction_within_its_context() -> None:
    modular = dataset_defaults_for("modular_addition", spec=TINY)
    induction = dataset_defaults_for("induction_sequences", spec=TINY)
    assert modular["p"] == 7 and modular["train_fraction"] == 0.3
    assert (induction["vocab_size"], induction["seq_len"]) == (8, 3)
    assert induction["min_period"] <= induction["max_period"] < induction["seq_len"] - 1
    # the published defaults would not fit: p = 113 needs 114 token ids
    with pytest.raises(InputMismatch, match="vocabulary has 8"):
        check_inputs("attention_patterns", spec=TINY, dataset="modular_addition", dataset_params={"p": 113})


def test_a_model_too_small_for_a_dataset_still_fails_the_check_with_the_fitted_defaults() -> None:
    spec = copy.deepcopy(TINY)
    spec["config"]["n_ctx"] = 2
    defaults = dataset_defaults_for("induction_sequences", spec=spec)
    with pytest.raises(InputMismatch, match="context holds 2"):
        check_inputs("attention_patterns", spec=spec, dataset="induction_sequences", dataset_params=defaults)


def test_vector_datasets_keep_their_published_defaults() -> None:
    published = {
        name: rule["default"] for name, rule in dataset_registry()["regression"].params_schema.items()
    }
    assert dataset_defaults_for("regression", spec=zoo.example_spec("mlp")) == published
