"""Analysis requests: checked and recorded here, dispatched as signed tickets, claimed under a
lease in PostgreSQL, and finished by results the worker sealed to the platform.

The broker only rings the doorbell: a ticket id can be claimed once, a request is leased
with `SELECT … FOR UPDATE SKIP LOCKED`, deliveries are capped, and one result per request is
a unique constraint — so a redelivered or replayed message records nothing twice.
"""

from __future__ import annotations

import base64
import functools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError as DatabaseIntegrityError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import check_inputs, registry, validate_params
from analysis_workers.params import validate_params as validate_schema
from interlock.access import Action, can
from interlock.access.lookups import parse_uuid
from interlock.access.principal import Principal
from interlock.analyses import keys
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisInput, AnalysisRequest, AnalysisResult, AnalysisState
from interlock.artifacts.models import Artifact
from interlock.artifacts.parents import ArtifactParent
from interlock.artifacts.services import artifact_record
from interlock.artifacts.upload import EncryptingWriter
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.models import Checkpoint, CheckpointState
from interlock.checkpoints.services import checkpoint_current_approval
from interlock.core.errors import ApplicationError, Conflict, InvalidState, PolicyDenied
from interlock.core.metrics import record_job
from interlock.crypto.fields import open_text, seal_text
from interlock.crypto.keys import data_key_open
from interlock_wire import (
    IntegrityError,
    JobTicket,
    TicketBlob,
    analysis_result_object_id,
    artifact_object_id,
    job_blob_ad,
    open_sealed,
    result_ad,
    seal,
    sign_ticket,
)


class JobRefused(ApplicationError):
    code = "job_refused"
    status = 403


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


def _refuse(actor: Principal, checkpoint: Any, reason: str, **extra: Any) -> None:
    """Refusals are audited in their own transaction: the act fails, its record stays."""
    with transaction.atomic():
        audit_record(
            actor=actor, event=Event.JOB_REFUSED, target=checkpoint, extra={"reason": reason, **extra}
        )


def _series_inputs(checkpoint: Checkpoint) -> list[Checkpoint]:
    """The checkpoint's whole series in order (uploaded ones only); just itself if it has none."""
    if not checkpoint.series:
        return [checkpoint]
    return list(
        Checkpoint.objects.select_related("owner_org", "artifact")
        .filter(owner_org=checkpoint.owner_org, series=checkpoint.series, state=CheckpointState.UPLOADED)
        .order_by("position", "created_at")
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
    clean_dataset = _dataset(dataset)
    queue = _queue_for(device)
    try:
        check_inputs(kind, family=str(checkpoint.spec.get("family")), dataset=clean_dataset["name"])
    except ValueError as problem:
        raise ApplicationError(
            "This analysis does not fit the checkpoint.", {"kind": [str(problem)]}
        ) from None
    inputs = _series_inputs(checkpoint) if analysis_kind.series else [checkpoint]
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
            queue=queue,
            hazard_tier=max(item.hazard_tier for item in inputs),
        )
        AnalysisInput.objects.bulk_create(
            AnalysisInput(request=request, checkpoint=item, approval_id=approval.pk, position=index)
            for index, (item, approval) in enumerate(zip(inputs, approvals, strict=True))
        )
        audit_record(
            actor=actor,
            event=Event.ANALYSIS_REQUESTED,
            target=request,
            extra={"kind": kind, "params": clean, "inputs": [str(item.uuid) for item in inputs]},
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


def _blob_ad(ticket_id: str, artifact: Artifact) -> bytes:
    return job_blob_ad(ticket_id=ticket_id, location=str(artifact.uuid))


def analysis_ticket(request: AnalysisRequest) -> str:
    """A fresh signed ticket for one attempt: params, every input's blob, hash and sealed data key."""
    ticket_id = str(uuid.uuid4())
    blobs = []
    labels = []
    for item in request.inputs.select_related("checkpoint__artifact__key_version__organisation"):
        checkpoint = item.checkpoint
        artifact = checkpoint.artifact
        if artifact is None:
            raise InvalidState(f"Checkpoint '{checkpoint.name}' has no file.")
        data_key = data_key_open(
            key_version=artifact.key_version,
            wrapped=bytes(artifact.wrapped_data_key),
            object_id=artifact_object_id(artifact_uuid=artifact.uuid),
        )
        sealed = seal(keys.fleet_public_key(), data_key, _blob_ad(ticket_id, artifact))
        blobs.append(
            TicketBlob(
                location=str(artifact.uuid),
                sha256=checkpoint.sha256,
                size=artifact.size,
                sealed_data_key=base64.urlsafe_b64encode(sealed).decode(),
                associated_data=base64.urlsafe_b64encode(artifact.associated_data()).decode(),
            )
        )
        labels.append(checkpoint.name if checkpoint.position is None else f"{checkpoint.position}")
    now = time.time()
    ticket = JobTicket(
        ticket_id=ticket_id,
        request_id=str(request.uuid),
        kind=request.kind,
        params=request.params,
        blobs=tuple(blobs),
        fleet_id=settings.WORKER_FLEET_ID,
        issued_at=now,
        expires_at=now + settings.JOB_TICKET_SECONDS,
        extra={"spec": request.checkpoint.spec, "dataset": request.dataset, "labels": labels},
    )
    AnalysisRequest.objects.filter(pk=request.pk).update(ticket_id=ticket_id, dispatched_at=timezone.now())
    return sign_ticket(ticket, keys.platform_signing_key()).decode()


def analysis_dispatch(*, request_id: int) -> None:
    """Ring the doorbell: send the ticket to the worker queue (JSON only, the ticket is the message)."""
    from interlock.celery import app

    with transaction.atomic():
        request = (
            AnalysisRequest.objects.select_for_update(of=("self",))
            .select_related("checkpoint__artifact__key_version__organisation")
            .get(pk=request_id)
        )
        if request.state != AnalysisState.QUEUED:
            return
        token = analysis_ticket(request)
        queue = request.queue or settings.ANALYSIS_QUEUE
        audit_record(
            actor=None,
            event=Event.ANALYSIS_DISPATCHED,
            target=request,
            extra={"ticket": str(request.ticket_id)},
            actor_label="dispatcher",
        )
    app.send_task("analysis.run", args=[token], queue=queue)


def _by_ticket(ticket_id: str) -> AnalysisRequest:
    request = (
        AnalysisRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("checkpoint__artifact", "checkpoint__owner_org")
        .filter(ticket_id=ticket_id)
        .first()
    )
    if request is None:
        raise JobRefused("No claimable job for this ticket.")
    return request


def _requester_may_still_analyse(request: AnalysisRequest) -> bool:
    """The policy asked again at claim time, for every input: a suspension, a removed
    organisation or an analysis-access grant revoked or expired while the job waited stops it."""
    requester = Principal.on_behalf_of(request.requester)  # MFA guards sessions; a queued job has none
    return all(
        can(requester, Action.ANALYSE, item.checkpoint)
        for item in request.inputs.select_related("checkpoint__owner_org")
    )


@dataclass(frozen=True)
class Claim:
    request: AnalysisRequest
    refused: str | None = None  # why the worker must not run it (the request may have been failed)


@transaction.atomic
def job_claim(*, ticket: JobTicket, worker_host: str, device: str) -> Claim:
    """Lease the request for this ticket. A replayed or superseded ticket, a request out of tries,
    one whose approval ended or whose requester may no longer analyse an input (suspended,
    access grant revoked or expired) is refused; the last three are failed for good, in this
    transaction — revocation reaches every queued job, not only new requests."""
    request = _by_ticket(ticket.ticket_id)
    if str(request.uuid) != ticket.request_id:
        return Claim(request, "the ticket does not belong to this request")
    if request.state != AnalysisState.QUEUED:
        return Claim(request, "replayed claim")
    refusal = None
    if request.attempts >= settings.JOB_MAX_ATTEMPTS:
        refusal = f"gave up after {request.attempts} attempts"
    elif any(checkpoint_current_approval(item.checkpoint) is None for item in request.inputs.all()):
        refusal = "a checkpoint's approval ended before the job ran"
    elif not _requester_may_still_analyse(request):
        refusal = "the requester may no longer analyse this checkpoint"
    if refusal is not None:
        request.state = AnalysisState.FAILED
        request.message = refusal
        request.finished_at = timezone.now()
        request.save(update_fields=["state", "message", "finished_at"])
        audit_record(
            actor=None,
            event=Event.ANALYSIS_FAILED,
            target=request,
            extra={"reason": refusal},
            actor_label="dispatcher",
        )
        return Claim(request, refusal)
    request.state = AnalysisState.RUNNING
    request.attempts += 1
    request.lease_expires_at = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    request.started_at = request.started_at or timezone.now()
    request.worker_host = worker_host[:200]
    request.device = device[:40]
    request.save(
        update_fields=["state", "attempts", "lease_expires_at", "started_at", "worker_host", "device"]
    )
    audit_record(
        actor=None,
        event=Event.ANALYSIS_CLAIMED,
        target=request,
        extra={"attempt": request.attempts, "worker": worker_host[:100]},
        actor_label="worker",
    )
    return Claim(request)


@transaction.atomic
def job_progress(*, ticket_id: str, progress: float, message: str) -> bool:
    """Record progress and extend the lease; returns True when the job should stop (cancelled)."""
    request = _by_ticket(ticket_id)
    if request.state == AnalysisState.CANCELLED:
        return True
    if request.state != AnalysisState.RUNNING:
        raise Conflict("This job is not running.")
    request.progress = max(0.0, min(1.0, float(progress)))
    request.message = message[:500]
    request.lease_expires_at = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    request.save(update_fields=["progress", "message", "lease_expires_at"])
    return False


@transaction.atomic
def job_result(*, ticket_id: str, sealed_result: bytes) -> AnalysisResult:
    """Record the worker's sealed result once: metrics sealed under the owner org's key, each plot
    an encrypted artifact of the analysis (PNG checked by its signature and size)."""
    request = _by_ticket(ticket_id)
    if request.state != AnalysisState.RUNNING:
        raise Conflict("This job is not running.")
    try:
        payload = json.loads(
            open_sealed(keys.platform_result_key(), sealed_result, result_ad(ticket_id=ticket_id))
        )
    except (IntegrityError, ValueError):
        raise JobRefused("The result is not sealed to this platform for this ticket.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("metrics"), dict):
        raise JobRefused("The result has no metrics object.")
    plots = _decoded_plots(payload.get("plots") or {}, registry()[request.kind].plots)
    vectors = _decoded_plots(payload.get("plots_svg") or {}, registry()[request.kind].plots, svg=True)
    result = AnalysisResult(request=request)
    result.metrics_sealed = seal_text(
        org=request.checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        text=json.dumps({"metrics": payload["metrics"], "seconds": payload.get("seconds")}),
    )
    try:
        with transaction.atomic():
            result.save()
    except DatabaseIntegrityError:
        raise Conflict("This job already has a result.") from None
    for name, png in plots.items():
        _store_plot(request, name, png)
    for name, svg in vectors.items():
        _store_plot(request, name, svg, svg=True)
    request.state = AnalysisState.SUCCEEDED
    request.progress = 1.0
    request.message = f"finished: {len(plots)} plot(s)"
    request.finished_at = timezone.now()
    request.save(update_fields=["state", "progress", "message", "finished_at"])
    seconds = (request.finished_at - request.started_at).total_seconds() if request.started_at else None
    transaction.on_commit(functools.partial(record_job, request.kind, "succeeded", seconds))
    audit_record(
        actor=None,
        event=Event.ANALYSIS_SUCCEEDED,
        target=request,
        extra={"plots": sorted(plots)},
        actor_label="worker",
    )
    return result


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PLOT_BYTES = 4 * 1024 * 1024


def _decoded_plots(raw: object, allowed: tuple[str, ...], *, svg: bool = False) -> dict[str, bytes]:
    """Only the kind's registered plot names, each a PNG (or SVG) of bounded size; anything else
    refuses the result. SVGs are only ever served as downloads (attachment, CSP sandbox)."""
    if not isinstance(raw, dict) or len(raw) > len(allowed):
        raise JobRefused("The result's plots are not an object of the kind's plots.")
    plots = {}
    for name, encoded in raw.items():
        if name not in allowed or not isinstance(encoded, str):
            raise JobRefused("The result names a plot this kind does not draw.")
        try:
            png = base64.urlsafe_b64decode(encoded)
        except ValueError:
            raise JobRefused("A plot is not base64url.") from None
        looks_right = png.lstrip().startswith((b"<?xml", b"<svg")) if svg else png.startswith(PNG_SIGNATURE)
        if not looks_right or len(png) > MAX_PLOT_BYTES:
            raise JobRefused(f"A plot is not a {'SVG' if svg else 'PNG'} image of at most 4 MiB.")
        plots[name] = png
    return plots


def _store_plot(request: AnalysisRequest, name: str, data: bytes, *, svg: bool = False) -> None:
    """Encrypt the plot into artifact storage under the owner org's key, as a child of the analysis."""
    parent = ArtifactParent("analysis", str(request.uuid), request.checkpoint.owner_org, kind="plot")
    writer = EncryptingWriter(
        parent=parent,
        filename=f"{request.kind}-{name}.{'svg' if svg else 'png'}",
        media_type="image/svg+xml" if svg else "image/png",
    )
    try:
        writer.write(data)
        blob = writer.finish()
    except Exception:
        writer.abort()
        raise
    artifact_record(actor=Principal.on_behalf_of(request.requester), blob=blob)


@transaction.atomic
def job_fail(*, ticket_id: str, message: str, permanent: bool) -> AnalysisRequest:
    """A permanent failure is recorded with its readable message; a transient one goes back to
    the queue (with a new ticket) until the attempts run out."""
    request = _by_ticket(ticket_id)
    if request.state != AnalysisState.RUNNING:
        raise Conflict("This job is not running.")
    request.message = message[:500]
    if permanent or request.attempts >= settings.JOB_MAX_ATTEMPTS:
        request.state = AnalysisState.FAILED
        request.finished_at = timezone.now()
        transaction.on_commit(functools.partial(record_job, request.kind, "failed", None))
        audit_record(
            actor=None,
            event=Event.ANALYSIS_FAILED,
            target=request,
            extra={"permanent": permanent},
            actor_label="worker",
        )
    else:
        request.state = AnalysisState.QUEUED
        transaction.on_commit(lambda: analysis_dispatch(request_id=request.pk))
    request.save(update_fields=["state", "message", "finished_at"])
    return request


def analysis_metrics(request: AnalysisRequest) -> dict[str, Any] | None:
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


def job_blob(*, ticket_id: str, location: str) -> Artifact:
    """One (encrypted) input blob of a running job, for the worker to fetch; only the job's own inputs."""
    request = AnalysisRequest.objects.filter(ticket_id=ticket_id).first()
    if request is None or request.state != AnalysisState.RUNNING:
        raise InvalidState("No running job for this ticket.")
    item = (
        AnalysisInput.objects.select_related("checkpoint__artifact")
        .filter(request=request, checkpoint__artifact__uuid=parse_uuid(location))
        .first()
    )
    if item is None or item.checkpoint.artifact is None:
        raise InvalidState("That blob is not an input of this job.")
    return item.checkpoint.artifact


def analysis_sweep() -> dict[str, int]:
    """Recover jobs whose worker died (lease expired) or whose message was lost (queued, never
    claimed for a while): each goes back to the queue with a fresh ticket, until its attempts run out.
    Run by celery beat; safe to run concurrently (rows are locked and skipped)."""
    now = timezone.now()
    requeued = redispatched = 0
    with transaction.atomic():
        expired = list(
            AnalysisRequest.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                state=AnalysisState.RUNNING, lease_expires_at__lt=now
            )
        )
        for request in expired:
            if request.attempts >= settings.JOB_MAX_ATTEMPTS:
                request.state = AnalysisState.FAILED
                request.message = f"the worker stopped answering {request.attempts} times"
                request.finished_at = now
            else:
                request.state = AnalysisState.QUEUED
                request.message = "the worker stopped answering; retrying"
                requeued += 1
            request.save(update_fields=["state", "message", "finished_at"])
            if request.state == AnalysisState.QUEUED:
                transaction.on_commit(functools.partial(analysis_dispatch, request_id=request.pk))
    cutoff = now - timedelta(seconds=settings.JOB_LEASE_SECONDS)
    stale = AnalysisRequest.objects.filter(
        Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True, created_at__lt=cutoff),
        state=AnalysisState.QUEUED,
    ).values_list("pk", flat=True)
    for pk in stale:
        analysis_dispatch(request_id=pk)
        redispatched += 1
    return {"requeued": requeued, "redispatched": redispatched}
