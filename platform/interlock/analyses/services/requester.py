"""The requester's writes: an analysis request checked against the kind, the params, the dataset
and every input's approval before it is recorded (and dispatched once it commits), and a
cancellation of a job that has not finished."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import (
    InputMismatch,
    check_components,
    check_inputs,
    registry,
    restricts_weights,
    validate_params,
)
from analysis_workers.params import validate_params as validate_schema
from interlock.access import Action, can
from interlock.access.principal import Principal
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisInput, AnalysisRequest, AnalysisState
from interlock.analyses.selectors import analysis_series_inputs
from interlock.analyses.services.dispatch import analysis_dispatch
from interlock.analyses.services.uploaded_inputs import is_uploaded, uploaded_dataset_input
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.models import Checkpoint
from interlock.checkpoints.selectors import checkpoint_current_approval
from interlock.core.errors import ApplicationError, InvalidState, PolicyDenied


def _dataset(raw: object) -> dict[str, Any]:
    """A built-in dataset from the workers' registry, its params validated by the schema the
    registry publishes (`GET /api/v1/analysis-kinds/`), the same for every dataset."""
    raw = raw or {"name": "regression", "params": {}}
    known = sorted(dataset_registry())
    if not isinstance(raw, dict) or set(raw) - {"name", "params"} or raw.get("name") not in known:
        raise ApplicationError("Unknown dataset.", {"dataset": [f"name one of {', '.join(known)}"]})
    name = raw["name"]
    schema = dataset_registry()[name].params_schema
    try:
        params = validate_schema(schema, raw.get("params") or {})
    except ValueError as problem:
        raise ApplicationError("The dataset parameters are not valid.", {"dataset": [str(problem)]}) from None
    return {"name": name, "params": params}


def _refuse(actor: Principal, checkpoint: Checkpoint, reason: str, **extra: Any) -> None:
    """Refusals are audited in their own transaction: the act fails, its record stays."""
    with transaction.atomic():
        audit_record(
            actor=actor, event=Event.JOB_REFUSED, target=checkpoint, extra={"reason": reason, **extra}
        )


def _queue_for(device: str) -> str:
    """ "cpu" → the CPU workers' queue; "gpu" → the GPU workers' queue, if this deployment has one."""
    if device == "cpu":
        return str(settings.ANALYSIS_QUEUE)
    if device == "gpu":
        if not settings.ANALYSIS_GPU_QUEUE:
            raise ApplicationError("This deployment has no GPU workers.", {"device": ["use cpu"]})
        return str(settings.ANALYSIS_GPU_QUEUE)
    raise ApplicationError("Unknown device.", {"device": ["cpu or gpu"]})


def analysis_request_create(
    *,
    actor: Principal,
    checkpoint_uuid: object,
    kind: str,
    params: object,
    dataset: object = None,
    device: str = "cpu",
) -> AnalysisRequest:
    """Only registered kinds, on checkpoints whose current approval allows them, with valid params.
    A series kind runs on every checkpoint of the chosen one's series, and each needs its own
    current approval at the kind's level (and the same architecture)."""
    checkpoint = access_checkpoint_by_id(actor, checkpoint_uuid, action=Action.ANALYSE)
    analysis_kind = registry().get(kind)
    if analysis_kind is None:
        raise ApplicationError(
            "Unknown analysis kind.", {"kind": [f"one of {', '.join(sorted(registry()))}"]}
        )
    try:
        clean = validate_params(kind, params if params is not None else {})
    except ValueError as problem:
        raise ApplicationError("The analysis parameters are not valid.", {"params": [str(problem)]}) from None
    uploaded = None
    if is_uploaded(dataset):
        uploaded, clean_dataset = uploaded_dataset_input(
            actor=actor, raw=dataset, checkpoint=checkpoint, kind=kind
        )
    else:
        clean_dataset = _dataset(dataset)
    queue = _queue_for(device)
    try:
        if uploaded is None:  # an upload was checked against the kind and the model above
            check_inputs(
                kind,
                spec=checkpoint.spec,
                dataset=clean_dataset["name"],
                dataset_params=clean_dataset["params"],
            )
        # a weight-restricted LLC names components of this model (l0h1, 'l1 mlp', …), checked
        # here rather than failing on the worker (other kinds' `components` mean something else)
        if restricts_weights(kind):
            check_components(checkpoint.spec, clean.get("components"))
    except InputMismatch as problem:
        raise ApplicationError(
            "This analysis does not fit the checkpoint.", {problem.field: [str(problem)]}
        ) from None
    inputs = analysis_series_inputs(checkpoint) if analysis_kind.series else [checkpoint]
    approvals = []
    for item in inputs:
        if not can(actor, Action.ANALYSE, item):  # a grant on one checkpoint is not one on its series
            raise PolicyDenied(f"You may not analyse checkpoint '{item.name}' of this series.")
        approval = checkpoint_current_approval(item)
        if approval is None:
            _refuse(actor, item, "no current approval")
            raise PolicyDenied(
                f"Checkpoint '{item.name}' has no current approval "
                "(unapproved, expired, revoked, or the file changed)."
            )
        if analysis_kind.access_level > approval.access_level:
            _refuse(actor, item, "kind not allowed", kind=kind)
            raise PolicyDenied(
                f"The approval of '{item.name}' (AL{approval.access_level}) does not allow '{kind}'."
            )
        if item.spec != checkpoint.spec:
            raise ApplicationError(
                "The series mixes architectures.", {"checkpoint": [f"'{item.name}' has another spec"]}
            )
        approvals.append(approval)
    with transaction.atomic():
        request = AnalysisRequest.objects.create(
            requester=actor.person,
            checkpoint=checkpoint,
            approval_id=approvals[inputs.index(checkpoint)].pk if checkpoint in inputs else approvals[-1].pk,
            kind=kind,
            params=clean,
            dataset=clean_dataset,
            uploaded_dataset=uploaded,
            queue=queue,
            # the strictest input: every checkpoint and the uploaded dataset
            hazard_tier=max(
                [item.hazard_tier for item in inputs] + ([uploaded.hazard_tier] if uploaded else [])
            ),
        )
        AnalysisInput.objects.bulk_create(
            AnalysisInput(request=request, checkpoint=item, approval_id=approval.pk, position=index)
            for index, (item, approval) in enumerate(zip(inputs, approvals, strict=True))
        )
        audit_record(
            actor=actor,
            event=Event.ANALYSIS_REQUESTED,
            target=request,
            extra={
                "kind": kind,
                "params": clean,
                "inputs": [str(item.uuid) for item in inputs],
                "dataset": str(uploaded.uuid) if uploaded else clean_dataset["name"],
            },
        )
        transaction.on_commit(functools.partial(analysis_dispatch, request_id=request.pk))
    return request


def analysis_cancel(*, actor: Principal, analysis_uuid: object) -> AnalysisRequest:
    """The requester (or an admin of the checkpoint's organisation) stops a job that has not
    finished. A queued job never runs; a running one stops at its next progress report and
    its result, if one still arrives, is refused."""
    request = access_analysis_by_id(actor, analysis_uuid, action=Action.CANCEL)
    with transaction.atomic():
        locked = AnalysisRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
        if locked.state not in (AnalysisState.QUEUED, AnalysisState.RUNNING):
            raise InvalidState(f"This analysis has already {locked.state}.")
        locked.state = AnalysisState.CANCELLED
        locked.message = "cancelled"
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "message", "finished_at"])
        audit_record(actor=actor, event=Event.ANALYSIS_CANCELLED, target=locked)
    return locked
