"""Small inputs for every registered (kind, family): the models, datasets and budgets the
every-kind tests run each runner on (tiny, so the whole registry runs in a minute)."""

from __future__ import annotations

import torch

from analysis_workers import datasets, zoo
from analysis_workers.kinds import registry, validate_params
from analysis_workers.runners.inputs import JobInputs
from analysis_workers.specs import validate_spec

TRANSFORMER = {
    "family": "transformer",
    "config": {
        "d_vocab": 8, "n_ctx": 3, "d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32,
        "n_layers": 1, "act_fn": "relu", "normalization": None, "attn_only": False,
    },
}  # fmt: skip
INDUCTION = {
    "family": "transformer",
    "config": {
        "d_vocab": 16, "n_ctx": 24, "d_model": 16, "n_heads": 2, "d_head": 8, "d_mlp": 32,
        "n_layers": 2, "act_fn": "relu", "normalization": "LN", "attn_only": False,
    },
}  # fmt: skip
MLP = {
    "family": "mlp",
    "config": {"in_dim": 3, "hidden": [8], "out_dim": 2, "activation": "tanh", "bias": True},
}
# a tiny GPT-2 whose vocabulary and context fit both token datasets below
HF_GPT2 = {
    "family": "hf_causal_lm",
    "config": {
        "model_type": "gpt2", "vocab_size": 16, "n_positions": 24, "n_embd": 16, "n_layer": 2,
        "n_head": 2, "bos_token_id": 0, "eos_token_id": 0,
    },
}  # fmt: skip
SMALL_SGLD = {"num_chains": 2, "num_draws": 10, "num_burnin": 2, "step_size": 1e-5, "batch_size": 16}


def kind_inputs(kind_name: str, family: str, labels: list[str] | None = None) -> JobInputs:
    """The kind's runner inputs on a tiny model of `family` and a dataset the kind takes; a series
    kind gets three checkpoints, labelled by `labels` (their positions "0", "1", "2" by default)."""
    kind = registry()[kind_name]
    if family in ("mlp", "deep_linear"):
        spec = MLP
    elif "modular_addition" in kind.datasets:
        spec = TRANSFORMER if family == "transformer" else HF_GPT2
        dataset = datasets.build("modular_addition", {"p": 7, "train_fraction": 0.5, "seed": 0})
    else:
        spec = INDUCTION if family == "transformer" else HF_GPT2
        dataset = datasets.build(
            "induction_sequences",
            {"n": 32, "vocab_size": 16, "seq_len": 24, "min_period": 3, "max_period": 6},
        )
    count = 3 if kind.series else 1
    models = [zoo.build(spec, generator=torch.Generator().manual_seed(seed)) for seed in range(count)]
    if spec is MLP:
        dataset = datasets.build_for_model("regression", {"n": 64}, model=models[-1], in_dim=3)
    schema = kind.params_schema
    params = validate_params(kind_name, {k: v for k, v in SMALL_SGLD.items() if k in schema})
    if "max_prompts" in schema:
        params["max_prompts"] = max(schema["max_prompts"]["minimum"], 16)
    if "n_key_frequencies" in schema:
        params["n_key_frequencies"] = 2
    if "probe_size" in schema:
        params["probe_size"] = 16
    return JobInputs(
        validate_spec(spec), models, labels or [str(i) for i in range(count)], dataset, params, lambda f: None
    )


# every kind on every family it lists (deep_linear shares the mlp path: vector-input models)
CASES = sorted(
    (kind.name, family) for kind in registry().values() for family in kind.families if family != "deep_linear"
)
