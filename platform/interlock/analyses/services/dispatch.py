"""Dispatch: a fresh signed job ticket for each attempt, sent to the worker queue (the ticket is
the message, JSON only), and the sweep that sends again what was lost or left running by a
worker that died. The broker only rings the doorbell; the lease lives in PostgreSQL."""

from __future__ import annotations

import base64
import functools
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interlock.analyses import keys
from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.artifacts.models import Artifact
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.checkpoints.models import CheckpointLayout
from interlock.core.errors import InvalidState
from interlock.crypto.keys import data_key_open
from interlock.datasets.models import UploadedDataset
from interlock_wire import JobTicket, TicketBlob, artifact_object_id, job_blob_ad, seal, sign_ticket


def _blob_ad(ticket_id: str, artifact: Artifact) -> bytes:
    return job_blob_ad(ticket_id=ticket_id, location=str(artifact.uuid))


def _ticket_blob(ticket_id: str, artifact: Artifact, sha256: str) -> TicketBlob:
    """One encrypted file of an input: where it is, its hash, its data key sealed to the fleet."""
    data_key = data_key_open(
        key_version=artifact.key_version,
        wrapped=bytes(artifact.wrapped_data_key),
        object_id=artifact_object_id(artifact_uuid=artifact.uuid),
    )
    sealed = seal(keys.fleet_public_key(), data_key, _blob_ad(ticket_id, artifact))
    return TicketBlob(
        location=str(artifact.uuid),
        sha256=sha256,
        size=artifact.size,
        sealed_data_key=base64.urlsafe_b64encode(sealed).decode(),
        associated_data=base64.urlsafe_b64encode(artifact.associated_data()).decode(),
    )


def analysis_ticket(request: AnalysisRequest) -> str:
    """A fresh signed ticket for one attempt: params, every input's blob(s), hash and sealed data key.

    A single-file checkpoint is one blob pinned by its own hash. A Hugging Face folder is one blob
    per file, each pinned by its manifest hash, and `extra["inputs"]` tells the worker which blobs
    form which folder under which names, with the manifest hash the approval binds (the worker
    recomputes it from the files before it loads anything). An uploaded dataset is one more blob,
    pinned by its own hash, and `extra["dataset"]` names it by location (`_uploaded_dataset`)."""
    ticket_id = str(uuid.uuid4())
    blobs: list[TicketBlob] = []
    labels = []
    inputs: list[dict[str, object]] = []
    for item in request.inputs.select_related("checkpoint__artifact__key_version__organisation"):
        checkpoint = item.checkpoint
        labels.append(checkpoint.name if checkpoint.position is None else f"{checkpoint.position}")
        if checkpoint.layout == CheckpointLayout.HF_FOLDER:
            declared = {str(entry["path"]): str(entry["sha256"]) for entry in checkpoint.manifest}
            files = list(checkpoint.files.select_related("artifact__key_version__organisation"))
            if not checkpoint.sha256 or {f.path for f in files} != set(declared):
                raise InvalidState(f"Checkpoint '{checkpoint.name}' is missing files.")
            folder = {}
            for file in files:
                blobs.append(_ticket_blob(ticket_id, file.artifact, declared[file.path]))
                folder[file.path] = str(file.artifact.uuid)
            inputs.append({"layout": "hf_folder", "sha256": checkpoint.sha256, "files": folder})
            continue
        artifact = checkpoint.artifact
        if artifact is None:
            raise InvalidState(f"Checkpoint '{checkpoint.name}' has no file.")
        blobs.append(_ticket_blob(ticket_id, artifact, checkpoint.sha256))
        inputs.append({"layout": "file", "sha256": checkpoint.sha256, "files": {"": str(artifact.uuid)}})
    dataset = request.dataset
    if request.uploaded_dataset_id is not None:
        blob, dataset = _uploaded_dataset(ticket_id, request, request.uploaded_dataset_id)
        blobs.append(blob)
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
        extra={
            "spec": request.checkpoint.spec,
            "dataset": dataset,
            "labels": labels,
            "inputs": inputs,
        },
    )
    AnalysisRequest.objects.filter(pk=request.pk).update(ticket_id=ticket_id, dispatched_at=timezone.now())
    return sign_ticket(ticket, keys.platform_signing_key()).decode()


def _uploaded_dataset(
    ticket_id: str, request: AnalysisRequest, dataset_pk: int
) -> tuple[TicketBlob, dict[str, object]]:
    """The dataset's blob and the ticket's description of it: {"name": "uploaded", "id", "format",
    "location", "sha256", "params"} (the worker finds the blob by `location`)."""
    uploaded = UploadedDataset.objects.select_related("artifact__key_version__organisation").get(
        pk=dataset_pk
    )
    if uploaded.artifact is None or not uploaded.sha256:
        raise InvalidState(f"Dataset '{uploaded.name}' has no file.")
    described = {
        **request.dataset,
        "format": uploaded.format,
        "location": str(uploaded.artifact.uuid),
        "sha256": uploaded.sha256,
    }
    return _ticket_blob(ticket_id, uploaded.artifact, uploaded.sha256), described


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
