"""The interpretability kinds on language models — the zoo's transformer, or a Hugging Face causal LM
through its hook layer (`zoo.hf_hooked`) — thin adapters from a job to `interp`."""

from __future__ import annotations

import torch

from analysis_workers.interp import (
    PatchingPair,
    grokking_progress,
    head_ablation,
    linear_probes,
    logit_lens,
    patching_analysis,
)
from analysis_workers.interp.attention import standard_attention_report
from analysis_workers.interp.readout import HookedModel
from analysis_workers.interp.report import AnalysisReport, series_positions
from analysis_workers.runners.inputs import JobInputs, token_task
from analysis_workers.zoo.hf_hooked import HookedCausalLM
from analysis_workers.zoo.transformer import Transformer


def _transformer(inputs: JobInputs) -> HookedModel:
    """The model with hook points: the zoo transformer, or a Hugging Face causal LM."""
    model = inputs.model
    if not isinstance(model, Transformer | HookedCausalLM):
        raise ValueError("this analysis runs on language-model checkpoints only")
    return model


def _zoo_transformer(inputs: JobInputs) -> Transformer:
    """Grokking's Fourier measures read the zoo transformer's own weight matrices."""
    model = inputs.model
    if not isinstance(model, Transformer):
        raise ValueError("this analysis runs on the zoo's transformer checkpoints only")
    return model


def run_attention(inputs: JobInputs) -> AnalysisReport:
    """Head scores on `max_prompts` repeated random sequences (the standard construction, seeded
    0 so reruns agree); the dataset's prompts only where the context is too short for it."""
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return standard_attention_report(
        _transformer(inputs),
        task.tokens,
        sequences=inputs.params["max_prompts"],
        generator=torch.Generator().manual_seed(0),
    )


def run_head_ablation(inputs: JobInputs) -> AnalysisReport:
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return head_ablation(_transformer(inputs), task, method=inputs.params["method"])


def run_logit_lens(inputs: JobInputs) -> AnalysisReport:
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return logit_lens(_transformer(inputs), task)


def run_grokking(inputs: JobInputs) -> AnalysisReport:
    model = _zoo_transformer(inputs)
    extras = inputs.dataset.extras
    # each checkpoint at its series position (the training step) when the series has them
    positions = series_positions(inputs.labels)
    steps = [round(x) for x in positions] if positions is not None else list(range(len(inputs.models)))
    checkpoints = [
        (step, series_model.state_dict()) for step, series_model in zip(steps, inputs.models, strict=True)
    ]
    inputs.progress(0.1)
    report = grokking_progress(
        model.config,
        checkpoints,
        p=int(inputs.dataset.metadata["p"]),
        train_indices=torch.as_tensor(extras["train_index"]),
        n_key_frequencies=inputs.params["n_key_frequencies"],
        step_label="training step (series position)"
        if positions is not None
        else "checkpoint (series order)",
    )
    report.metrics["labels"] = inputs.labels
    return report


def run_patching(inputs: JobInputs) -> AnalysisReport:
    """Clean (a, b) against corrupted (a + 1, b) on modular addition: which activations carry the answer."""
    dataset = inputs.dataset
    p = int(dataset.metadata["p"])
    clean = dataset.inputs[: inputs.params["max_prompts"]]
    corrupted = clean.clone()
    corrupted[:, 0] = (clean[:, 0] + 1) % p
    answers = (clean[:, 0] + clean[:, 1]) % p
    wrong = (corrupted[:, 0] + corrupted[:, 1]) % p
    inputs.progress(0.1)
    return patching_analysis(
        _transformer(inputs), PatchingPair(clean, corrupted, answers, wrong, position=-1)
    )


PROBE_FEATURES = {
    "answer_parity": lambda tokens, p: ((tokens[:, 0] + tokens[:, 1]) % p) % 2,
    "a_parity": lambda tokens, p: tokens[:, 0] % 2,
    "b_parity": lambda tokens, p: tokens[:, 1] % 2,
}


def run_probes(inputs: JobInputs) -> AnalysisReport:
    """A linear probe for a feature of the prompt at every layer, with a shuffled-label control."""
    dataset = inputs.dataset
    tokens = dataset.inputs[: inputs.params["max_prompts"]]
    labels = PROBE_FEATURES[inputs.params["feature"]](tokens, int(dataset.metadata["p"]))
    inputs.progress(0.1)
    report = linear_probes(
        _transformer(inputs), tokens, labels, generator=torch.Generator().manual_seed(inputs.params["seed"])
    )
    report.metrics["feature"] = inputs.params["feature"]
    return report
