"""An analysis request's uploaded dataset: `{"id": <uuid>, "params": {...}}` names one of the
requester's organisation's datasets. The requester must be allowed to analyse with it (the policy;
otherwise it answers like an id that does not exist), its file must be there, and it must fit the
kind and the model before the request is queued."""

from __future__ import annotations

from typing import Any, TypeGuard

from analysis_workers.datasets.uploaded import (
    JSONL_TEXT,
    KIND_STAND_IN,
    UPLOADED,
    DatasetFacts,
    check_fit,
    model_limits,
    validate_dataset_params,
)
from analysis_workers.kinds import check_kind_family, registry
from interlock.access import Action, Principal
from interlock.checkpoints.models import Checkpoint, CheckpointLayout
from interlock.core.errors import ApplicationError, InvalidState
from interlock.datasets.access import access_dataset_by_id
from interlock.datasets.models import DatasetState, UploadedDataset

TOKENIZER_FILE = "tokenizer.json"


def is_uploaded(raw: object) -> TypeGuard[dict[str, Any]]:
    """Does the request's `dataset` name an uploaded dataset (by id) rather than a built-in one?"""
    return isinstance(raw, dict) and "id" in raw


def uploaded_dataset_input(
    *, actor: Principal, raw: dict[str, Any], checkpoint: Checkpoint, kind: str
) -> tuple[UploadedDataset, dict[str, Any]]:
    """The dataset and the request's description of it; NotFound for a dataset the requester may
    not analyse with, ApplicationError naming what does not fit otherwise."""
    if set(raw) - {"id", "params"}:
        raise ApplicationError(
            "An uploaded dataset is {id, params}.", {"dataset": ["only 'id' and 'params'"]}
        )
    dataset = access_dataset_by_id(actor, raw["id"], action=Action.ANALYSE)
    if dataset.state != DatasetState.UPLOADED:
        raise InvalidState("The dataset's file has not been uploaded yet.")
    try:
        params = validate_dataset_params(dataset.format, raw.get("params"))
    except ValueError as problem:
        raise ApplicationError("The dataset parameters are not valid.", {"dataset": [str(problem)]}) from None
    takes = registry()[kind].datasets
    if KIND_STAND_IN not in takes:
        raise ApplicationError(
            "This analysis does not take an uploaded dataset.",
            {"dataset": [f"{kind} takes the dataset {' or '.join(takes)}"]},
        )
    try:
        check_kind_family(kind, spec=checkpoint.spec)
        vocab_size, context = model_limits(checkpoint.spec)
        check_fit(dataset.format, _facts(dataset), params, vocab_size=vocab_size, context=context)
        if dataset.format == JSONL_TEXT and not _has_tokenizer(checkpoint):
            raise ValueError(
                "JSON lines are tokenised with the checkpoint's own tokenizer.json, and this checkpoint has none"
            )
    except ValueError as problem:
        raise ApplicationError(
            "The dataset does not fit the checkpoint.", {"dataset": [str(problem)]}
        ) from None
    described = {"name": UPLOADED, "id": str(dataset.uuid), "format": dataset.format, "params": params}
    return dataset, described


def _has_tokenizer(checkpoint: Checkpoint) -> bool:
    return checkpoint.layout == CheckpointLayout.HF_FOLDER and any(
        entry.get("path") == TOKENIZER_FILE for entry in checkpoint.manifest
    )


def _facts(dataset: UploadedDataset) -> DatasetFacts:
    return DatasetFacts(
        rows=dataset.rows or 0,
        seq_len=dataset.seq_len,
        max_token_id=dataset.max_token_id,
        attention_mask=dataset.attention_mask,
    )
