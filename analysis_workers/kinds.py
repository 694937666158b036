"""The one registry of analysis kinds: name, access level, params schema, runner, plots, and
what each kind runs on (architecture families, built-in datasets, one checkpoint or a series).

Importable without torch: the platform's request form, API and dispatcher read this registry,
and the worker resolves `runner` ("module:function") lazily. Only kinds listed here ever run;
nobody submits code. Access levels (DESIGN.md): AL1 black-box metrics, AL2 activations and
attributions, AL3 weight-level (e.g. the LLC). An approval at level n allows every kind whose
level is ≤ n.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis_workers.datasets.registry import registry as dataset_registry
from analysis_workers.params import check_schema
from analysis_workers.params import validate_params as validate_schema
from analysis_workers.sampler_config import SamplerConfig
from analysis_workers.specs import validate_spec

SEED = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0, "description": "random seed"}


def sgld_schema(defaults: SamplerConfig) -> dict[str, dict[str, Any]]:
    """The SGLD params a kind publishes: the platform's limits here, the defaults read from
    `defaults` (a `SamplerConfig`, so there is one set of numbers for notebooks and the platform)."""
    return {
        "num_chains": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": defaults.num_chains,
            "description": "chains",
        },
        "num_draws": {
            "type": "integer",
            "minimum": 10,
            "maximum": 20000,
            "default": defaults.num_draws,
            "description": "draws",
        },
        "num_burnin": {
            "type": "integer",
            "minimum": 0,
            "maximum": 20000,
            "default": defaults.num_burnin,
            "description": "steps discarded before the draws",
        },
        "step_size": {
            "type": "number",
            "minimum": 1e-8,
            "maximum": 1.0,
            "default": defaults.step_size,
            "description": "ε",
        },
        "localization": {
            "type": "number",
            "minimum": 0.0,
            "maximum": 1e6,
            "default": defaults.localization,
            "description": "γ, the pull towards w*",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65536,
            "default": defaults.batch_size,
            "description": "minibatch rows",
        },
        "seed": {**SEED, "default": defaults.seed},
    }


SGLD_SCHEMA = sgld_schema(SamplerConfig())
# The restricted LLC (Wang et al. 2024): which weights move, which rows of the dataset count.
RESTRICTION_SCHEMA: dict[str, dict[str, Any]] = {
    "components": {
        "type": "string",
        "default": None,
        "description": "weight-restricted LLC: sample only these weights, comma-separated in devinterp's "
        "grammar (l0h1, l0g0 for a grouped-query KV group, l0 attn, l0 mlp, embed, pos_embed, unembed); "
        "empty for every weight",
    },
    "data_rows": {
        "type": "integer",
        "minimum": 2,
        "maximum": 10_000_000,
        "default": None,
        "description": "data-restricted LLC: use only the first this many rows of the dataset "
        "(posterior and L_n(w*) alike); empty for every row",
    },
}
_COMPONENT = re.compile(
    r"^(?:l(?P<layer>\d{1,4})(?:(?P<unit>[hg])(?P<index>\d{1,4})| (?P<block>attn|mlp))|embed|pos_embed|unembed)$"
)
# essential_dynamics samples at every checkpoint of a series: shorter chains by default
SERIES_SGLD_SCHEMA = sgld_schema(SamplerConfig(num_draws=100))

TOKEN_DATASETS = ("modular_addition", "induction_sequences")


def _prompts(*, default: int, maximum: int, minimum: int = 1, description: str = "prompts") -> dict[str, Any]:
    """The schema of how many prompts (rows of the dataset) an interpretability kind reads."""
    return {
        "type": "integer",
        "minimum": minimum,
        "maximum": maximum,
        "default": default,
        "description": description,
    }


@dataclass(frozen=True)
class AnalysisKind:
    """What may run. `series` kinds take every approved checkpoint of the chosen one's series, in order."""

    name: str
    title: str
    access_level: int
    params_schema: dict[str, dict[str, Any]]
    runner: str
    families: tuple[str, ...]
    datasets: tuple[str, ...]
    series: bool = False
    plots: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "access_level": self.access_level,
            "params_schema": self.params_schema,
            "families": list(self.families),
            "datasets": list(self.datasets),
            "series": self.series,
            "plots": list(self.plots),
        }


_KINDS = (
    AnalysisKind(
        name="llc",
        title="Local learning coefficient (SGLD)",
        description="λ̂ at the checkpoint with R-hat, ESS, MCSE and the loss trace; optionally restricted "
        "to some weights (a head, a layer's attention or MLP, …) or to the first rows of the dataset",
        access_level=3,
        params_schema={**SGLD_SCHEMA, **RESTRICTION_SCHEMA},
        runner="analysis_workers.runners.llc:run",
        families=("deep_linear", "mlp", "transformer", "hf_causal_lm"),
        datasets=("regression", *TOKEN_DATASETS),
        plots=("loss_trace",),
    ),
    AnalysisKind(
        name="llc_trajectory",
        title="LLC over a checkpoint series",
        description="λ̂ at each checkpoint of the series with the loss overlaid; checkpoints away from a "
        "local minimum are flagged, not given a value",
        access_level=3,
        params_schema=SGLD_SCHEMA,
        runner="analysis_workers.runners.llc:run_trajectory",
        families=("deep_linear", "mlp", "transformer", "hf_causal_lm"),
        datasets=("regression", *TOKEN_DATASETS),
        series=True,
        plots=("llc_trajectory",),
    ),
    AnalysisKind(
        name="attention_patterns",
        title="Attention heads: previous-token, induction, duplicate-token and first-token scores",
        access_level=2,
        params_schema={
            "max_prompts": _prompts(default=256, maximum=4096, minimum=1, description="prompts scored")
        },
        runner="analysis_workers.runners.interp:run_attention",
        families=("transformer", "hf_causal_lm"),
        datasets=TOKEN_DATASETS,
        plots=("head_scores", "patterns_prompt_0"),
    ),
    AnalysisKind(
        name="head_ablation",
        title="Head ablation: direct and total effect, self-repair",
        access_level=2,
        params_schema={
            "method": {
                "type": "string",
                "enum": ["zero", "mean"],
                "default": "mean",
                "description": "replace a head's output by zeros or by its mean",
            },
            "max_prompts": _prompts(default=512, maximum=4096, minimum=1, description="prompts evaluated"),
        },
        runner="analysis_workers.runners.interp:run_head_ablation",
        families=("transformer", "hf_causal_lm"),
        datasets=TOKEN_DATASETS,
        plots=("head_ablation", "self_repair_scatter"),
    ),
    AnalysisKind(
        name="logit_lens",
        title="Logit lens: loss and rank of the correct token at every layer",
        access_level=2,
        params_schema={
            "max_prompts": _prompts(default=512, maximum=4096, minimum=1, description="prompts evaluated")
        },
        runner="analysis_workers.runners.interp:run_logit_lens",
        families=("transformer", "hf_causal_lm"),
        datasets=TOKEN_DATASETS,
        plots=("logit_lens",),
    ),
    AnalysisKind(
        name="activation_patching",
        title="Activation and attribution patching on clean/corrupted pairs",
        description="clean (a, b) against corrupted (a + 1, b): the share of the logit difference each "
        "residual position and head restores, and the gradient approximation against it",
        access_level=2,
        params_schema={
            "max_prompts": _prompts(default=128, maximum=1024, minimum=1, description="prompt pairs")
        },
        runner="analysis_workers.runners.interp:run_patching",
        families=("transformer", "hf_causal_lm"),
        datasets=("modular_addition",),
        plots=("resid_patching", "head_patching", "attribution_scatter"),
    ),
    AnalysisKind(
        name="linear_probes",
        title="Linear probes on the residual stream at every layer",
        access_level=2,
        params_schema={
            "feature": {
                "type": "string",
                "enum": ["answer_parity", "a_parity", "b_parity"],
                "default": "answer_parity",
                "description": "the labelled feature probed for",
            },
            "max_prompts": _prompts(
                default=2000, maximum=100_000, minimum=20, description="prompts (70% fit, 30% held out)"
            ),
            "seed": SEED,
        },
        runner="analysis_workers.runners.interp:run_probes",
        families=("transformer", "hf_causal_lm"),
        datasets=("modular_addition",),
        plots=("probes",),
    ),
    AnalysisKind(
        name="essential_dynamics",
        title="Essential dynamics: PCA of the outputs across the series, with loss and LLC",
        description="turning points of the trajectory are marked as candidate stage boundaries",
        access_level=3,
        params_schema={
            "components": {
                "type": "integer",
                "minimum": 2,
                "maximum": 10,
                "default": 3,
                "description": "principal components kept",
            },
            "probe_size": {
                "type": "integer",
                "minimum": 8,
                "maximum": 4096,
                "default": 256,
                "description": "inputs whose outputs are compared",
            },
            **SERIES_SGLD_SCHEMA,
        },
        runner="analysis_workers.runners.devo:run",
        families=("deep_linear", "mlp", "transformer", "hf_causal_lm"),
        datasets=("regression", *TOKEN_DATASETS),
        series=True,
        plots=("trajectory", "overlay"),
    ),
    AnalysisKind(
        name="grokking_progress",
        title="Grokking progress measures (Fourier key frequencies, restricted/excluded loss)",
        access_level=3,
        params_schema={
            "n_key_frequencies": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "default": 5,
                "description": "key frequencies kept",
            }
        },
        runner="analysis_workers.runners.interp:run_grokking",
        families=("transformer",),
        datasets=("modular_addition",),
        series=True,
        plots=("progress_measures", "embedding_fourier"),
    ),
)

for _kind in _KINDS:
    check_schema(_kind.params_schema)


def registry() -> dict[str, AnalysisKind]:
    return {kind.name: kind for kind in _KINDS}


def allowed_kinds(access_level: int) -> list[str]:
    return sorted(kind.name for kind in _KINDS if kind.access_level <= access_level)


def validate_params(kind_name: str, params: object) -> dict[str, Any]:
    """Params with defaults filled in; ValueError naming the field otherwise."""
    kind = registry().get(kind_name)
    if kind is None:
        raise ValueError(f"unknown analysis kind {kind_name!r}; known: {', '.join(sorted(registry()))}")
    return validate_schema(kind.params_schema, params)


class InputMismatch(ValueError):
    """A request whose kind or dataset does not fit the checkpoint; `field` names which input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def token_limits(spec: object) -> tuple[int, int] | None:
    """(vocabulary size, context length) of a language-model spec; None for other families.

    Read from the validated config, so the platform checks a request against the model without
    torch: the zoo transformer's `d_vocab`/`n_ctx`, or a Hugging Face config's vocabulary and
    positions (`analysis_workers.specs.hf`)."""
    validated = validate_spec(spec)
    if validated.family.name == "transformer":
        return int(validated.config.d_vocab), int(validated.config.n_ctx)
    if validated.family.name == "hf_causal_lm":
        architecture = validated.config.architecture
        return int(architecture.d_vocab), int(architecture.n_ctx)
    return None


def components_of(text: str | None) -> list[str]:
    """The component names of a comma-separated `components` param (empty for none)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def restricts_weights(kind_name: str) -> bool:
    """Whether the kind takes the weight-restricted LLC's `components` (devinterp's grammar);
    essential dynamics' `components`, for one, is a number of principal components."""
    return registry()[kind_name].params_schema.get("components") == RESTRICTION_SCHEMA["components"]


def check_components(spec: object, text: str | None) -> None:
    """InputMismatch on `params` unless every named component exists in this model: the grammar,
    a layer below n_layers, a head below n_heads, a KV group only on grouped-query models (below
    n_kv_heads), learned positions only where the model has them. Torch-free (the worker resolves
    the names to exact weight masks, `analysis_workers.llc.restriction.component_masks`)."""
    names = components_of(text)
    if not names:
        return
    validated = validate_spec(spec)
    family = validated.family.name
    if family == "transformer":
        layers, heads, groups = validated.config.n_layers, validated.config.n_heads, 0
        learned_positions = True
    elif family == "hf_causal_lm":
        arch = validated.config.architecture
        layers, heads = arch.n_layers, arch.n_heads
        groups = arch.n_kv_heads if arch.model_type in ("llama", "qwen2", "mistral") else 0
        learned_positions = arch.model_type == "gpt2"
    else:
        raise InputMismatch("params", f"components name transformer weights; a {family} model has none")
    for name in names:
        found = _COMPONENT.match(name)
        if found is None:
            raise InputMismatch(
                "params",
                f"component {name[:40]!r} is not in the grammar l0h1, l0g0, 'l0 attn', 'l0 mlp', "
                "embed, pos_embed, unembed",
            )
        if name == "pos_embed" and not learned_positions:
            raise InputMismatch("params", "this model has no learned position embedding (pos_embed)")
        if found["layer"] is None:
            continue
        if int(found["layer"]) >= layers:
            raise InputMismatch(
                "params", f"component {name!r}: the model has {layers} layers (l0…l{layers - 1})"
            )
        unit, index = found["unit"], int(found["index"] or 0)
        if unit == "h" and index >= heads:
            raise InputMismatch(
                "params", f"component {name!r}: each layer has {heads} heads (h0…h{heads - 1})"
            )
        if unit == "g" and not groups:
            raise InputMismatch(
                "params", f"component {name!r}: KV groups exist only on llama, qwen2 and mistral"
            )
        if unit == "g" and index >= groups:
            raise InputMismatch("params", f"component {name!r}: each layer has {groups} KV groups")


def check_kind_family(kind_name: str, *, spec: object) -> str:
    """The spec's family, if the kind runs on it; InputMismatch on the kind otherwise."""
    kind = registry()[kind_name]
    family = validate_spec(spec).family.name
    if family not in kind.families:
        raise InputMismatch(
            "kind", f"{kind_name} runs on {', '.join(kind.families)} checkpoints, not {family}"
        )
    return family


def check_inputs(kind_name: str, *, spec: object, dataset: str, dataset_params: Mapping[str, Any]) -> None:
    """InputMismatch naming the input and the mismatch unless the kind runs on this architecture and the dataset
    fits the model: regression data for models with a vector input, token data for language
    models whose vocabulary holds every token id and whose context holds every sequence
    (modular addition's p + 1 tokens [a, b, =], or the induction sequences' vocabulary and length)."""
    kind = registry()[kind_name]
    family = validate_spec(spec).family.name
    if family not in kind.families:
        raise InputMismatch(
            "kind", f"{kind_name} runs on {', '.join(kind.families)} checkpoints, not {family}"
        )
    if dataset not in kind.datasets:
        raise InputMismatch(
            "dataset", f"{kind_name} takes the dataset {' or '.join(kind.datasets)}, not {dataset}"
        )
    limits = token_limits(spec)
    if dataset_registry()[dataset].takes == "vectors":
        if limits is not None:
            raise InputMismatch(
                "dataset", f"{dataset} data needs a model with a vector input, not a {family} language model"
            )
        return
    if limits is None:
        raise InputMismatch("dataset", f"{dataset} is token data; a {family} model takes vectors")
    vocab, context = limits
    if dataset == "modular_addition":
        tokens, length = int(dataset_params["p"]) + 1, 3
        what = f"modular addition with p = {dataset_params['p']} uses {tokens} token ids (0…p, '=' = p)"
    elif dataset == "induction_sequences":
        tokens, length = int(dataset_params["vocab_size"]), int(dataset_params["seq_len"])
        what = f"the induction sequences use {tokens} token ids"
    else:
        return
    if tokens > vocab:
        raise InputMismatch("dataset", f"{what}, but the model's vocabulary has {vocab}")
    if length > context:
        raise InputMismatch(
            "dataset", f"the sequences are {length} tokens long, but the model's context holds {context}"
        )


def dataset_defaults_for(dataset: str, *, spec: object) -> dict[str, Any]:
    """The built-in dataset's published defaults, narrowed so that they fit the model where the
    published ones would not — what a request form offers first. Modular addition on a zoo
    transformer takes p = d_vocab − 1 (the zoo's modular-addition models keep the last id for
    '='); on another language model p stays at its default unless the vocabulary is smaller.
    The induction sequences keep their vocabulary and length within the model's vocabulary and
    context, and their periods within those. The result still goes through `check_inputs`: a
    model too small for a dataset gets defaults that fail it, with the reason why."""
    schema = dataset_registry()[dataset].params_schema
    defaults: dict[str, Any] = {
        name: spec_["default"] for name, spec_ in schema.items() if "default" in spec_
    }
    limits = token_limits(spec) if dataset_registry()[dataset].takes == "tokens" else None
    if limits is None:
        return defaults
    vocab, context = limits
    if dataset == "modular_addition":
        family = validate_spec(spec).family.name
        p = vocab - 1 if family == "transformer" else min(int(defaults["p"]), vocab - 1)
        defaults["p"] = _clamp(p, schema["p"])
    elif dataset == "induction_sequences":
        defaults["vocab_size"] = _clamp(min(int(defaults["vocab_size"]), vocab), schema["vocab_size"])
        defaults["seq_len"] = _clamp(min(int(defaults["seq_len"]), context), schema["seq_len"])
        longest = min(int(defaults["max_period"]), defaults["vocab_size"], defaults["seq_len"] - 2)
        defaults["max_period"] = _clamp(longest, schema["max_period"])
        defaults["min_period"] = _clamp(
            min(int(defaults["min_period"]), defaults["max_period"]), schema["min_period"]
        )
    return defaults


def _clamp(value: int, param: Mapping[str, Any]) -> int:
    return int(max(param.get("minimum", value), min(param.get("maximum", value), value)))
