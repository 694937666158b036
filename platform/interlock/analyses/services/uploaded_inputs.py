"""An analysis request's uploaded dataset: `{"id": <uuid>, "params": {...}}` names one of the
requester's organisation's datasets. The requester must be allowed to analyse with it (the policy;
otherwise it answers like an id that does not exist), its file must be there, and it must fit the
kind and the model before the request is queued."""

from __future__ import annotations

from typing import Any, TypeGuard

from analysis_workers.datasets.uploaded import KIND_STAND_IN, UPLOADED, validate_dataset_params
from analysis_workers.kinds import registry
from interlock.access import Action, Principal
from interlock.analyses.selectors import uploaded_dataset_check_fit
from interlock.checkpoints.models import Checkpoint
from interlock.core.errors import ApplicationError, InvalidState
from interlock.datasets.access import access_dataset_by_id
from interlock.datasets.models import DatasetState, UploadedDataset


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
        uploaded_dataset_check_fit(dataset, checkpoint=checkpoint, kind=kind, params=params)
    except ValueError as problem:
        raise ApplicationError(
            "The dataset does not fit the checkpoint.", {"dataset": [str(problem)]}
        ) from None
    described = {"name": UPLOADED, "id": str(dataset.uuid), "format": dataset.format, "params": params}
    return dataset, described
