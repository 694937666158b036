"""What the platform records when a worker reports a failure through /internal/jobs/fail/, and
what it retries: a permanent failure keeps the exception's class and a public line of its
message (cleaned here again, whatever the worker sent) and the audit row names only the class;
a transient one goes back to the queue until the attempts run out; a lost worker (its lease
expired) is retried by the sweeper up to the same cap. The live worker that reports these is
tested in test_pipeline.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.analyses.services.dispatch import analysis_sweep, analysis_ticket
from interlock.analyses.services.requester import analysis_request_create
from interlock.audit.models import AuditEvent
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, signed_post, uploaded_checkpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(network, api_client_for, django_capture_on_commit_callbacks) -> tuple[AnalysisRequest, str]:
    """A request claimed by a worker over the internal API, and its ticket (nothing is sent to a queue)."""
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
    token = analysis_ticket(request)
    assert signed_post(Client(), "/internal/jobs/claim/", {"ticket": token}).status_code == 200
    request.refresh_from_db()
    return request, token


def _fail(token: str, **fields: Any) -> Any:
    return signed_post(Client(), "/internal/jobs/fail/", {"ticket": token, **fields})


def test_a_permanent_failure_records_the_class_and_a_public_line_and_audits_only_the_class(
    running, django_capture_on_commit_callbacks
) -> None:
    request, token = running
    message = "list index out of range in /srv/worker/runners/llc.py\nTraceback (most recent call last):"
    with django_capture_on_commit_callbacks(execute=True):
        answer = _fail(token, error_class="IndexError", message=message, permanent=True)
    assert answer.status_code == 200 and answer.json() == {"state": "failed"}
    request.refresh_from_db()
    assert (request.state, request.error_class, request.message) == (
        AnalysisState.FAILED,
        "IndexError",
        "list index out of range in <path>",
    )
    assert request.finished_at is not None and request.attempts == 1
    audited = AuditEvent.objects.get(event="ANALYSIS_FAILED", target_id=str(request.pk))
    assert audited.extra == {"permanent": True, "error_class": "IndexError"}  # the class, never the message


@pytest.mark.parametrize("error_class", ["Index Error", "A" * 81, 42, "<b>x</b>", "torch.OutOfMemoryError"])
def test_an_error_class_that_is_not_an_identifier_is_refused_and_nothing_is_recorded(
    running, error_class: object
) -> None:
    request, token = running
    answer = _fail(token, error_class=error_class, message="boom", permanent=True)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"
    request.refresh_from_db()
    assert (request.state, request.error_class) == (AnalysisState.RUNNING, "")
    assert not AuditEvent.objects.filter(event="ANALYSIS_FAILED").exists()


def test_a_failure_without_a_class_from_an_older_worker_is_still_recorded(running) -> None:
    request, token = running
    assert _fail(token, message="the checkpoint was refused", permanent=True).status_code == 200
    request.refresh_from_db()
    assert (request.state, request.error_class, request.message) == (
        AnalysisState.FAILED,
        "",
        "the checkpoint was refused",
    )


def test_a_transient_failure_goes_back_to_the_queue_without_a_class(
    running, django_capture_on_commit_callbacks
) -> None:
    request, token = running
    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        answer = _fail(
            token, error_class="TransientWorkerError", message="platform error 503", permanent=False
        )
    assert answer.json() == {"state": "queued"} and len(dispatched) == 1
    request.refresh_from_db()
    assert (request.state, request.error_class, request.finished_at) == (AnalysisState.QUEUED, "", None)


def test_a_transient_failure_on_the_last_attempt_fails_with_its_class(running, settings) -> None:
    request, token = running
    AnalysisRequest.objects.filter(pk=request.pk).update(attempts=settings.JOB_MAX_ATTEMPTS)
    answer = _fail(token, error_class="TransientWorkerError", message="platform error 503", permanent=False)
    assert answer.json() == {"state": "failed"}
    request.refresh_from_db()
    assert (request.error_class, request.message) == ("TransientWorkerError", "platform error 503")


def test_a_lost_worker_is_retried_by_the_sweeper_up_to_the_cap(
    running, settings, django_capture_on_commit_callbacks
) -> None:
    """No report at all (the worker died): the lease runs out and the sweeper re-sends the job
    until its attempts are spent, then fails it without an error class."""
    request, _ = running
    expired = timezone.now() - timedelta(seconds=1)
    AnalysisRequest.objects.filter(pk=request.pk).update(lease_expires_at=expired)
    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        assert analysis_sweep()["requeued"] == 1
    assert len(dispatched) == 1 and AnalysisRequest.objects.get(pk=request.pk).state == AnalysisState.QUEUED
    AnalysisRequest.objects.filter(pk=request.pk).update(
        state=AnalysisState.RUNNING, attempts=settings.JOB_MAX_ATTEMPTS, lease_expires_at=expired
    )
    with django_capture_on_commit_callbacks(execute=False) as dispatched:
        assert analysis_sweep()["requeued"] == 0
    request.refresh_from_db()
    assert not dispatched and request.state == AnalysisState.FAILED and request.error_class == ""
    assert request.message == f"the worker stopped answering {settings.JOB_MAX_ATTEMPTS} times"
