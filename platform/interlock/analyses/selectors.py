"""Reads about analyses: a result's metrics (decrypted), a running job's input blob, a series'
inputs. Reads never import writes: nothing here imports `interlock.analyses.services`."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.datasets.uploaded import (
    JSONL_TEXT,
    KIND_STAND_IN,
    PARAMS_SCHEMAS,
    DatasetFacts,
    check_fit,
    model_limits,
)
from analysis_workers.kinds import (
    InputMismatch,
    check_inputs,
    check_kind_family,
    dataset_defaults_for,
    registry,
)
from interlock.access import Action, Principal, can, visible
from interlock.access.lookups import parse_uuid
from interlock.analyses.models import AnalysisInput, AnalysisRequest, AnalysisResult, AnalysisState
from interlock.artifacts.models import Artifact
from interlock.checkpoints.models import Checkpoint, CheckpointFile, CheckpointLayout, CheckpointState
from interlock.core.errors import InvalidState
from interlock.crypto.fields import open_text
from interlock.datasets.models import DatasetState, UploadedDataset
from interlock.datasets.selectors import dataset_list
from interlock_wire import analysis_result_object_id


def analysis_list(
    *, principal: Principal, checkpoint: str | None = None, kind: str | None = None, state: str | None = None
) -> QuerySet[AnalysisRequest]:
    """The analyses the principal may see, newest first, narrowed by checkpoint id, kind and state
    (each already parsed: a UUID string, a kind name, an `AnalysisState` value)."""
    queryset = AnalysisRequest.objects.select_related("checkpoint")
    if checkpoint is not None:
        queryset = queryset.filter(checkpoint__uuid=checkpoint)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if state is not None:
        queryset = queryset.filter(state=state)
    return visible(principal, queryset).order_by("-created_at", "-pk")


def analysis_series_inputs(checkpoint: Checkpoint) -> list[Checkpoint]:
    """The checkpoint's whole series in order (uploaded ones only); just itself if it has none."""
    if not checkpoint.series:
        return [checkpoint]
    return list(
        Checkpoint.objects.select_related("owner_org", "artifact")
        .filter(owner_org=checkpoint.owner_org, series=checkpoint.series, state=CheckpointState.UPLOADED)
        .order_by("position", "created_at")
    )


def analysis_metrics(request: AnalysisRequest) -> dict[str, Any] | None:
    """The result's metrics, opened under the owner org's key (None until a result exists); the
    caller has already decided, through the policy, that the reader may see the analysis."""
    result = AnalysisResult.objects.filter(request=request).first()
    if result is None:
        return None
    text = open_text(
        org=request.checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        sealed=result.metrics_sealed,
    )
    stored = json.loads(text)
    return {**stored["metrics"], "seconds": stored.get("seconds")}


# A result that reports λ̂ but no verdict was recorded before the worker judged its estimates.
UNJUDGED = {
    "reliable": False,
    "reasons": [
        {
            "diagnostic": "unjudged",
            "value": None,
            "threshold": None,
            "message": "this result was computed before LLC estimates were judged for reliability",
            "advice": "run the analysis again to get its diagnostics judged",
        }
    ],
}


def analysis_reliability(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The verdict on a result's λ̂ (`{"reliable", "reasons": [{diagnostic, value, threshold,
    message, advice, checkpoint?}]}`, judged on the worker by `analysis_workers.llc.reliability`);
    None for a result without an LLC (interpretability kinds) or without metrics. A result with
    λ̂ but no verdict is unreliable: it is never shown as a plain number."""
    if metrics is None:
        return None
    verdict = metrics.get("reliability")
    if isinstance(verdict, dict):
        return verdict
    rows = metrics.get("checkpoints")
    series_llc = isinstance(rows, list) and any(isinstance(row, dict) and "llc" in row for row in rows)
    if "llc_mean" in metrics or "llc" in metrics or series_llc:
        return UNJUDGED
    return None


def job_blob(*, ticket_id: str, location: str) -> Artifact:
    """One (encrypted) input blob of a running job, for the worker to fetch; only the job's own inputs."""
    request = AnalysisRequest.objects.filter(ticket_id=ticket_id).first()
    if request is None or request.state != AnalysisState.RUNNING:
        raise InvalidState("No running job for this ticket.")
    wanted = parse_uuid(location)
    item = (
        AnalysisInput.objects.select_related("checkpoint__artifact")
        .filter(request=request, checkpoint__artifact__uuid=wanted)
        .first()
    )
    if item is not None and item.checkpoint.artifact is not None:
        return item.checkpoint.artifact
    dataset = request.uploaded_dataset
    if dataset is not None and dataset.artifact is not None and dataset.artifact.uuid == wanted:
        return dataset.artifact  # the job's uploaded dataset
    # a file of a Hugging Face folder checkpoint that is an input of this job
    folder_file = (
        CheckpointFile.objects.select_related("artifact")
        .filter(
            artifact__uuid=wanted,
            checkpoint__in=AnalysisInput.objects.filter(request=request).values("checkpoint"),
        )
        .first()
    )
    if folder_file is None:
        raise InvalidState("That blob is not an input of this job.")
    return folder_file.artifact


# --- what the request form offers --------------------------------------------------------------

TOKENIZER_FILE = "tokenizer.json"


def uploaded_dataset_check_fit(
    dataset: UploadedDataset, *, checkpoint: Checkpoint, kind: str, params: dict[str, Any]
) -> None:
    """ValueError saying what does not fit unless the uploaded dataset (with its validated
    `params`) fits the kind's architecture and the model's vocabulary and context, and a text
    dataset has the checkpoint's own tokenizer to be read with."""
    check_kind_family(kind, spec=checkpoint.spec)
    vocab_size, context = model_limits(checkpoint.spec)
    facts = DatasetFacts(
        rows=dataset.rows or 0,
        seq_len=dataset.seq_len,
        max_token_id=dataset.max_token_id,
        attention_mask=dataset.attention_mask,
    )
    check_fit(dataset.format, facts, params, vocab_size=vocab_size, context=context)
    has_tokenizer = checkpoint.layout == CheckpointLayout.HF_FOLDER and any(
        entry.get("path") == TOKENIZER_FILE for entry in checkpoint.manifest
    )
    if dataset.format == JSONL_TEXT and not has_tokenizer:
        raise ValueError(
            "JSON lines are tokenised with the checkpoint's own tokenizer.json, and this checkpoint has none"
        )


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset a request form may offer for one kind on one checkpoint: `key` is
    "builtin:<name>" or "uploaded:<uuid>"; `defaults` fit the model; `misfit` says why it
    cannot be used here (None when it can)."""

    key: str
    title: str
    description: str
    schema: dict[str, dict[str, Any]]
    defaults: dict[str, Any]
    misfit: str | None = None
    uploaded: UploadedDataset | None = None


def analysis_dataset_choices(
    *, principal: Principal, checkpoint: Checkpoint, kind: str
) -> list[DatasetChoice]:
    """The built-in datasets the kind takes, with defaults narrowed to the model and checked
    against it, then the uploaded datasets `principal` may analyse with (the policy decides), each
    checked with its default params. The fitting ones come first."""
    choices = [_builtin_choice(name, checkpoint=checkpoint, kind=kind) for name in registry()[kind].datasets]
    if KIND_STAND_IN in registry()[kind].datasets:
        uploaded = dataset_list(principal=principal).filter(state=DatasetState.UPLOADED)[:100]
        choices += [
            _uploaded_choice(dataset, checkpoint=checkpoint, kind=kind)
            for dataset in uploaded
            if can(principal, Action.ANALYSE, dataset)
        ]
    return sorted(choices, key=lambda choice: choice.misfit is not None)


def _builtin_choice(name: str, *, checkpoint: Checkpoint, kind: str) -> DatasetChoice:
    published = dataset_registry()[name]
    defaults = dataset_defaults_for(name, spec=checkpoint.spec)
    misfit = None
    try:
        check_inputs(kind, spec=checkpoint.spec, dataset=name, dataset_params=defaults)
    except InputMismatch as problem:
        misfit = str(problem)
    return DatasetChoice(
        key=f"builtin:{name}",
        title=published.title,
        description=published.description,
        schema=published.params_schema,
        defaults=defaults,
        misfit=misfit,
    )


def _uploaded_choice(dataset: UploadedDataset, *, checkpoint: Checkpoint, kind: str) -> DatasetChoice:
    schema = PARAMS_SCHEMAS[dataset.format]
    defaults = {name: spec["default"] for name, spec in schema.items()}
    if dataset.format == JSONL_TEXT:
        with contextlib.suppress(ValueError):  # a model without tokens: the fit check below says so
            defaults["seq_len"] = min(int(defaults["seq_len"]), model_limits(checkpoint.spec)[1])
    misfit = None
    try:
        uploaded_dataset_check_fit(dataset, checkpoint=checkpoint, kind=kind, params=defaults)
    except ValueError as problem:
        misfit = str(problem)
    return DatasetChoice(
        key=f"uploaded:{dataset.uuid}",
        title=f"{dataset.name} (your organisation's upload, {dataset.get_format_display()})",
        description=f"{dataset.rows or 0} rows"
        + (f" of {dataset.seq_len} tokens" if dataset.seq_len else ""),
        schema=schema,
        defaults=defaults,
        misfit=misfit,
        uploaded=dataset,
    )


def analysis_list_for_checkpoint(
    *, principal: Principal, checkpoint: Checkpoint
) -> QuerySet[AnalysisRequest]:
    """The analyses run on the checkpoint (as one input or part of a series) that `principal` may
    see, newest first."""
    on_it = AnalysisInput.objects.filter(checkpoint=checkpoint).values("request_id")
    queryset = AnalysisRequest.objects.filter(pk__in=on_it).select_related("requester")
    return visible(principal, queryset).order_by("-created_at")


def analysis_queue_position(request: AnalysisRequest) -> int | None:
    """1 + how many queued jobs on the same queue were requested before this one (None unless
    it is queued). Only a count of jobs ahead, never whose or what they are: the one fact about
    other people's jobs that a person waiting needs."""
    if request.state != AnalysisState.QUEUED:
        return None
    ahead = AnalysisRequest.objects.filter(
        state=AnalysisState.QUEUED, queue=request.queue, created_at__lt=request.created_at
    )
    return ahead.count() + 1
