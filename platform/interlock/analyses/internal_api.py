"""The narrow internal job API that workers (which hold no database credentials) call.

Every call carries the worker credential (HMAC over method, path, timestamp and body) and
the signed job ticket; both are checked before anything else.
Not part of /api/v1/ and not in the OpenAPI schema: only workers use it.

Refusals, and why they are not all audited alike:

- A call whose *worker credential* does not verify comes from someone who is not a worker
  (or a worker with a stale credential): nothing about a job is known yet. Auditing each one
  let an anonymous caller grow the append-only, serialised audit chain without bound. Such
  calls are counted in `interlock_job_api_refusals_total{reason="bad_credential"}`; an audit
  row is written for the *first* one per client address per `JOB_API_REFUSAL_AUDIT_SECONDS`
  (an hour by default), so the chain still shows that, and from where (a salted HMAC of the
  address), someone knocked; past `JOB_API_BAD_CALLS_PER_MINUTE` (30) bad calls a minute an
  address is answered 429 with `Retry-After`. Calls that do verify are never limited, so a real
  worker behind the same address as a noisy one keeps working.
- A call with a valid worker credential whose *ticket* is refused (forged, expired, for another
  fleet, superseded) or whose claim is refused (replayed) is a worker doing something wrong:
  each one is audited, as before, and counted.

The client address here is the connection's own (`REMOTE_ADDR`): workers call the web tier
directly, never through nginx (which answers 404 for /internal/), so a forwarded-for header
on this path is the caller's invention and is ignored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from interlock.analyses import keys, selectors
from interlock.analyses.services import jobs
from interlock.artifacts.storage import artifact_storage
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import ApplicationError, error_json_response
from interlock.core.metrics import JOB_API_REFUSALS
from interlock.core.rate_limits import first_in_window, rate_limit_exceeded
from interlock_wire import JobTicket, TicketError, is_error_class, verify_request, verify_ticket

View = Callable[[HttpRequest, JobTicket, dict[str, Any]], HttpResponseBase]
# The audit row names the caller's address only as an HMAC under the secret key with this salt.
_ADDRESS_SALT = "interlock.analyses.internal_api.client-address"


def worker_call(view: View) -> Callable[[HttpRequest], HttpResponseBase]:
    @csrf_exempt
    @require_POST
    def wrapper(request: HttpRequest) -> HttpResponseBase:
        body = request.body
        try:
            timestamp = int(request.headers.get("X-Worker-Timestamp", ""))
        except ValueError:
            timestamp = 0
        signature = request.headers.get("X-Worker-Signature", "")
        if not verify_request(
            keys.worker_credential(), request.method or "POST", request.path, body, timestamp, signature
        ):
            return _unauthenticated(request)
        try:
            payload = json.loads(body)
            token = payload["ticket"].encode()
        except (ValueError, KeyError, AttributeError, TypeError):
            return error_json_response(400, "invalid", "The body must be JSON with a ticket.")
        try:
            ticket = verify_ticket(
                token,
                platform_public_key=keys.platform_signing_key().public_key(),
                fleet_id=settings.WORKER_FLEET_ID,
            )
        except TicketError as problem:
            JOB_API_REFUSALS.labels(f"ticket_{problem.reason}").inc()
            _refused(f"ticket {problem.reason}", request)
            return error_json_response(403, "job_refused", f"The ticket was refused: {problem.reason}.")
        try:
            return view(request, ticket, payload)
        except ApplicationError as problem:
            return error_json_response(problem.status, problem.code, problem.message)

    return wrapper


def _unauthenticated(request: HttpRequest) -> JsonResponse:
    """A call without a valid worker credential: counted, limited, audited once per window."""
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    JOB_API_REFUSALS.labels("bad_credential").inc()
    retry_after = rate_limit_exceeded(
        "job-api-bad-credential", address, limit=settings.JOB_API_BAD_CALLS_PER_MINUTE, seconds=60
    )
    if first_in_window(
        "job-api-bad-credential-audited", address, seconds=settings.JOB_API_REFUSAL_AUDIT_SECONDS
    ):
        _refused("bad worker credential", request, client=salted_hmac(_ADDRESS_SALT, address).hexdigest())
    if retry_after is not None:
        JOB_API_REFUSALS.labels("rate_limited").inc()
        response = error_json_response(
            429, "rate_limited", "Too many calls without a valid worker credential."
        )
        response["Retry-After"] = str(retry_after)
        return response
    return error_json_response(401, "not_authenticated", "The worker credential does not verify.")


def _refused(reason: str, request: HttpRequest, **extra: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=None,
            event=Event.JOB_REFUSED,
            extra={"reason": reason, "path": request.path, **extra},
            actor_label="internal job API",
        )


@worker_call
def claim_view(request: HttpRequest, ticket: JobTicket, payload: dict[str, Any]) -> HttpResponse:
    claim = jobs.job_claim(
        ticket=ticket, worker_host=str(payload.get("host", "")), device=str(payload.get("device", ""))
    )
    if claim.refused is not None:
        _refused(claim.refused, request)  # its own transaction: the refusal is on record
        return error_json_response(409, "conflict", f"The job cannot be claimed: {claim.refused}.")
    return JsonResponse({"request": str(claim.request.uuid), "attempt": claim.request.attempts})


@worker_call
def blob_view(request: HttpRequest, ticket: JobTicket, payload: dict[str, Any]) -> HttpResponseBase:
    artifact = selectors.job_blob(ticket_id=ticket.ticket_id, location=str(payload.get("location", "")))

    def chunks() -> Any:
        with artifact_storage().open(artifact.storage_key, "rb") as blob:
            while chunk := blob.read(1024 * 1024):
                yield chunk

    response = StreamingHttpResponse(chunks(), content_type="application/octet-stream")
    response["Content-Length"] = str(artifact.ciphertext_size)
    return response


@worker_call
def progress_view(request: HttpRequest, ticket: JobTicket, payload: dict[str, Any]) -> HttpResponse:
    stop = jobs.job_progress(
        ticket_id=ticket.ticket_id,
        progress=float(payload.get("progress", 0.0)),
        message=str(payload.get("message", "")),
    )
    return JsonResponse({"cancel": stop})


@worker_call
def result_view(request: HttpRequest, ticket: JobTicket, payload: dict[str, Any]) -> HttpResponse:
    try:
        sealed = base64.urlsafe_b64decode(str(payload["sealed_result"]))
    except (KeyError, ValueError):
        return error_json_response(400, "invalid", "sealed_result must be base64url.")
    jobs.job_result(ticket_id=ticket.ticket_id, sealed_result=sealed)
    return JsonResponse({"recorded": True})


@worker_call
def fail_view(request: HttpRequest, ticket: JobTicket, payload: dict[str, Any]) -> HttpResponse:
    error_class = payload.get("error_class", "")
    if not isinstance(error_class, str) or (error_class and not is_error_class(error_class)):
        return error_json_response(
            400, "invalid", "error_class must be an identifier of at most 80 characters."
        )
    job = jobs.job_fail(
        ticket_id=ticket.ticket_id,
        message=str(payload.get("message", "")),
        permanent=bool(payload.get("permanent", True)),
        error_class=error_class,
    )
    return JsonResponse({"state": job.state})
