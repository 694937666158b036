"""The interpretability kinds on the zoo's transformer: thin adapters from a job to `interp`."""

from __future__ import annotations

import torch

from analysis_workers.interp import attention_summary, grokking_progress, head_ablation, logit_lens
from analysis_workers.interp.report import AnalysisReport
from analysis_workers.runners.inputs import JobInputs, token_task
from analysis_workers.zoo.transformer import Transformer


def _transformer(inputs: JobInputs) -> Transformer:
    model = inputs.model
    if not isinstance(model, Transformer):
        raise ValueError("this analysis runs on transformer checkpoints only")
    return model


def run_attention(inputs: JobInputs) -> AnalysisReport:
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return attention_summary(_transformer(inputs), task.tokens)


def run_head_ablation(inputs: JobInputs) -> AnalysisReport:
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return head_ablation(_transformer(inputs), task, method=inputs.params["method"])


def run_logit_lens(inputs: JobInputs) -> AnalysisReport:
    task = token_task(inputs.dataset, inputs.params["max_prompts"])
    inputs.progress(0.1)
    return logit_lens(_transformer(inputs), task)


def run_grokking(inputs: JobInputs) -> AnalysisReport:
    model = _transformer(inputs)
    extras = inputs.dataset.extras
    checkpoints = [(index, series_model.state_dict()) for index, series_model in enumerate(inputs.models)]
    inputs.progress(0.1)
    report = grokking_progress(
        model.config,
        checkpoints,
        p=int(inputs.dataset.metadata["p"]),
        train_indices=torch.as_tensor(extras["train_index"]),
        n_key_frequencies=inputs.params["n_key_frequencies"],
    )
    report.metrics["labels"] = inputs.labels
    return report
