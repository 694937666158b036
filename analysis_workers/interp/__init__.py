"""Mechanistic-interpretability analyses on `analysis_workers.zoo.transformer.Transformer` (pure PyTorch)
and on Hugging Face causal LMs wrapped by `analysis_workers.zoo.hf_hooked.wrap_causal_lm` (same hook
names; `interp.readout.HookedModel`). `grokking_progress` is for the zoo transformer only.

Each analysis returns an `AnalysisReport`: JSON-serialisable metrics and named
matplotlib figures (Agg canvas, outside pyplot). Hooks live only inside the model's
`hooks()` context manager; evaluation runs under `torch.inference_mode()`.
"""

from __future__ import annotations

from analysis_workers.interp.ablation import head_ablation, neuron_ablation
from analysis_workers.interp.attention import attention_summary, detection_patterns, head_scores
from analysis_workers.interp.grokking import grokking_progress
from analysis_workers.interp.logit_lens import logit_lens
from analysis_workers.interp.patching import (
    PatchingPair,
    activation_patching,
    attribution_patching,
    patching_analysis,
)
from analysis_workers.interp.probes import linear_probes
from analysis_workers.interp.report import AnalysisReport
from analysis_workers.interp.task import TokenTask, last_position_task, next_token_task

__all__ = [
    "AnalysisReport",
    "PatchingPair",
    "TokenTask",
    "activation_patching",
    "attention_summary",
    "attribution_patching",
    "detection_patterns",
    "grokking_progress",
    "head_ablation",
    "head_scores",
    "last_position_task",
    "linear_probes",
    "logit_lens",
    "neuron_ablation",
    "next_token_task",
    "patching_analysis",
]
