"""Every registered analysis kind runs through its runner and returns exactly its registered plots.

This is the contract the platform relies on: the result may carry only the kind's plot names, and
the metrics must be JSON. Small models and budgets; correctness is tested per analysis elsewhere.
"""

from __future__ import annotations

import json

import pytest
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


def _inputs(kind_name: str, family: str) -> JobInputs:
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
        validate_spec(spec), models, [str(i) for i in range(count)], dataset, params, lambda f: None
    )


# every kind on every family it lists (deep_linear shares the mlp path: vector-input models)
CASES = sorted(
    (kind.name, family) for kind in registry().values() for family in kind.families if family != "deep_linear"
)


@pytest.mark.parametrize(("kind_name", "family"), CASES)
def test_the_runner_returns_json_metrics_and_exactly_its_registered_plots(
    kind_name: str, family: str
) -> None:
    import importlib

    kind = registry()[kind_name]
    module, function = kind.runner.split(":")
    report = getattr(importlib.import_module(module), function)(_inputs(kind_name, family))
    assert set(report.figures) == set(kind.plots)
    json.dumps(report.metrics, allow_nan=False)
    for name in kind.plots:
        figure = report.figures[name]
        axes = figure.get_axes()
        assert axes, f"{name} has no axes"
        # something is drawn: lines, images (heatmaps) or scatter collections, on labelled axes
        drawn = sum(len(ax.lines) + len(ax.images) + len(ax.collections) + len(ax.patches) for ax in axes)
        assert drawn >= 1, f"{name} draws nothing"
        assert any(ax.get_title() or ax.get_xlabel() or ax.get_ylabel() for ax in axes), (
            f"{name} is unlabelled"
        )
        assert report.png_bytes(name).startswith(b"\x89PNG")
        assert b"<svg" in report.svg_bytes(name)[:400]
