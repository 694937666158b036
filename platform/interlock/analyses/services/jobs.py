"""The worker job protocol, as the internal job API calls it: a worker claims its job under a
lease, reports progress (and learns of a cancellation), posts the result it sealed to the
platform, or reports a failure. A replayed or superseded ticket records nothing twice: the
request row is leased with `SELECT … FOR UPDATE SKIP LOCKED` and one result per request is a
unique constraint."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError as DatabaseIntegrityError
from django.db import transaction
from django.utils import timezone

from analysis_workers.kinds import registry
from interlock.access import Action, can
from interlock.access.principal import Principal
from interlock.analyses import keys
from interlock.analyses.models import AnalysisRequest, AnalysisResult, AnalysisState
from interlock.analyses.services.dispatch import analysis_dispatch
from interlock.artifacts.parents import ArtifactParent
from interlock.artifacts.services import artifact_record
from interlock.artifacts.upload import EncryptingWriter
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.checkpoints.selectors import checkpoint_current_approval
from interlock.core.errors import ApplicationError, Conflict
from interlock.core.metrics import record_job
from interlock.crypto.fields import seal_text
from interlock_wire import (
    IntegrityError,
    JobTicket,
    analysis_result_object_id,
    open_sealed,
    public_message,
    result_ad,
)


class JobRefused(ApplicationError):
    """A worker's call the platform will not act on (no claimable job, a result not sealed to it
    or not shaped like the kind's): answered 403, nothing recorded."""

    code = "job_refused"
    status = 403


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
    """The policy asked again at claim time, for every input (an uploaded dataset included): a
    suspension, a removed organisation or an analysis-access grant revoked or expired while the
    job waited stops it."""
    requester = Principal.on_behalf_of(request.requester)  # MFA guards sessions; a queued job has none
    dataset = request.uploaded_dataset
    if dataset is not None and not can(requester, Action.ANALYSE, dataset):
        return False  # they left its organisation, or their clearance fell below its tier
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
        refusal = "the requester may no longer analyse this checkpoint or dataset"
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
def job_fail(*, ticket_id: str, message: str, permanent: bool, error_class: str = "") -> AnalysisRequest:
    """A permanent failure is recorded with its exception's class and the public line of its
    message; a transient one goes back to the queue (with a new ticket) until the attempts run
    out. The message is cleaned here again (`public_message`), whatever the worker sent; the
    audit row names the class, never the message."""
    request = _by_ticket(ticket_id)
    if request.state != AnalysisState.RUNNING:
        raise Conflict("This job is not running.")
    request.message = public_message(message)
    if permanent or request.attempts >= settings.JOB_MAX_ATTEMPTS:
        request.state = AnalysisState.FAILED
        request.error_class = error_class
        request.finished_at = timezone.now()
        transaction.on_commit(functools.partial(record_job, request.kind, "failed", None))
        audit_record(
            actor=None,
            event=Event.ANALYSIS_FAILED,
            target=request,
            extra={"permanent": permanent, "error_class": error_class},
            actor_label="worker",
        )
    else:
        request.state = AnalysisState.QUEUED
        transaction.on_commit(lambda: analysis_dispatch(request_id=request.pk))
    request.save(update_fields=["state", "message", "error_class", "finished_at"])
    return request
