"""The restricted LLC as a request: the `llc` kind's `components` (devinterp's grammar) and
`data_rows` params are checked against the model without torch before anything is queued, and the
runner samples only those weights on only those rows."""

from __future__ import annotations

import pytest
import torch

from analysis_workers import datasets, zoo
from analysis_workers.kinds import InputMismatch, check_components, validate_params
from analysis_workers.runners.inputs import JobInputs
from analysis_workers.runners.llc import run
from analysis_workers.specs import validate_spec

GPT2 = {
    "family": "hf_causal_lm",
    "config": {
        "model_type": "gpt2",
        "vocab_size": 16,
        "n_positions": 24,
        "n_embd": 16,
        "n_layer": 2,
        "n_head": 2,
    },
}
LLAMA = {
    "family": "hf_causal_lm",
    "config": {
        "model_type": "llama", "vocab_size": 16, "max_position_embeddings": 24, "hidden_size": 16,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 32,
    },
}  # fmt: skip
MLP = {"family": "mlp", "config": {"in_dim": 3, "hidden": [8], "out_dim": 2}}


@pytest.mark.parametrize(
    ("spec", "components"),
    [
        (GPT2, "l0h1, l1 attn, l1 mlp, embed, pos_embed, unembed"),
        (LLAMA, "l1g1,l0h3, l0 mlp, embed, unembed"),
        (zoo.example_spec("transformer"), "l0h3, l0 attn, pos_embed"),
    ],
)
def test_components_that_exist_in_the_model_are_accepted(spec: dict, components: str) -> None:
    check_components(spec, components)


@pytest.mark.parametrize(
    ("spec", "components", "reason"),
    [
        (GPT2, "l2h0", "the model has 2 layers"),
        (GPT2, "l0h2", "each layer has 2 heads"),
        (GPT2, "l0g0", "KV groups exist only on llama"),
        (LLAMA, "l0g2", "each layer has 2 KV groups"),
        (LLAMA, "pos_embed", "no learned position embedding"),
        (GPT2, "layer0.head1", "not in the grammar"),
        (MLP, "l0h0", "a mlp model has none"),
    ],
)
def test_components_the_model_lacks_are_refused_with_the_reason(
    spec: dict, components: str, reason: str
) -> None:
    with pytest.raises(InputMismatch, match=reason) as refused:
        check_components(spec, components)
    assert refused.value.field == "params"


def test_the_runner_samples_only_the_named_weights_on_the_first_rows() -> None:
    model = zoo.build(LLAMA, generator=torch.Generator().manual_seed(0))
    dataset = datasets.build(
        "induction_sequences", {"n": 40, "vocab_size": 16, "seq_len": 12, "min_period": 3, "max_period": 5}
    )
    params = validate_params(
        "llc",
        {
            "num_chains": 2,
            "num_draws": 12,
            "num_burnin": 0,
            "batch_size": 8,
            "components": "l1g1",
            "data_rows": 24,
        },
    )
    report = run(JobInputs(validate_spec(LLAMA), [model], ["0"], dataset, params, lambda f: None))
    assert report.metrics["restricted_to"] == {"components": ["l1g1"], "data_rows": 24}
    assert report.metrics["llc_mean"] == pytest.approx(report.metrics["llc_mean"])  # finite
    too_many = validate_params("llc", {**params, "data_rows": 41})
    with pytest.raises(ValueError, match="the dataset has 40 rows"):
        run(JobInputs(validate_spec(LLAMA), [model], ["0"], dataset, too_many, lambda f: None))
