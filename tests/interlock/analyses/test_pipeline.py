"""The analysis pipeline end to end: a real worker process on the real broker, talking to a live
platform through the internal job API; and every refusal before any tensor is loaded."""

from __future__ import annotations

import base64
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from interlock.analyses.models import AnalysisRequest, AnalysisResult, AnalysisState
from interlock.analyses.selectors import analysis_metrics
from interlock.analyses.services.dispatch import analysis_sweep, analysis_ticket
from interlock.analyses.services.requester import analysis_request_create
from interlock.audit.models import AuditEvent
from interlock.checkpoints.models import Checkpoint, CheckpointApproval
from interlock.core.errors import PolicyDenied
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.analyses import (
    FAST,
    reset_connections,
    signed_post,
    start_worker,
    uploaded_checkpoint,
    wait_until,
)


def _rabbitmq_or_skip() -> str:
    """RabbitMQ runs in CI (and production); a machine without one skips — which CI refuses."""
    import socket

    url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 5672)) != 0:
            pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    return url


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["configured", "rabbitmq"])
def test_upload_approve_request_progress_result_end_to_end(
    live_server, network, api_client_for, settings, broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    broker_url = settings.CELERY_BROKER_URL if broker == "configured" else _rabbitmq_or_skip()
    from interlock.celery import app

    previous = app.conf.broker_url
    # Celery reads CELERY_BROKER_URL from the environment before its own settings
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    app.conf.broker_url = broker_url
    reset_connections(app)  # the next send opens a connection to this broker
    settings.JOB_LEASE_SECONDS = 10
    worker = start_worker(live_server.url, broker_url=broker_url)
    try:
        wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)  # the worker is consuming
        client = api_client_for(owner)
        created = client.post(
            "/api/v1/analyses/",
            {"checkpoint": str(checkpoint.uuid), "kind": "llc", "params": FAST},
            format="json",
        )
        assert created.status_code == 201, created.content
        started = time.monotonic()
        swept = False
        while time.monotonic() < started + 120:
            state = client.get(f"/api/v1/analyses/{created.json()['id']}/").json()
            if state["state"] in ("succeeded", "failed"):
                break
            if state["state"] == "queued" and not swept and time.monotonic() > started + 15:
                analysis_sweep()  # what beat does for a message the broker lost
                swept = True
            time.sleep(0.3)
        assert state["state"] == "succeeded", state
        assert state["metrics"]["llc_mean"] == pytest.approx(
            state["metrics"]["llc_mean"]
        )  # a finite number came back
        assert (
            "r_hat" in state["metrics"]["diagnostics"] and state["attempts"] == 1 and state["device"] == "cpu"
        )
        assert AnalysisResult.objects.count() == 1
        outsider = api_client_for(network.person(clearance=3))
        assert outsider.get(f"/api/v1/analyses/{created.json()['id']}/").status_code == 404
        events = set(AuditEvent.objects.values_list("event", flat=True))
        assert {
            "ANALYSIS_REQUESTED",
            "ANALYSIS_DISPATCHED",
            "ANALYSIS_CLAIMED",
            "ANALYSIS_SUCCEEDED",
        } <= events
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        app.conf.broker_url = previous
        reset_connections(app)


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["unapproved", "revoked", "expired", "kind_not_allowed", "file_changed"])
def test_requests_are_refused_without_a_current_approval_for_the_kind(
    network, api_client_for, case: str
) -> None:
    owner, checkpoint = uploaded_checkpoint(
        network, api_client_for, level=1 if case == "kind_not_allowed" else 3, approve=case != "unapproved"
    )
    if case == "revoked":
        CheckpointApproval.objects.update(revoked_at=timezone.now())
    if case == "expired":
        CheckpointApproval.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    if case == "file_changed":
        Checkpoint.objects.filter(pk=checkpoint.pk).update(sha256="e" * 64)
    with pytest.raises(PolicyDenied):
        analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
    assert not AnalysisRequest.objects.exists()
    assert AuditEvent.objects.filter(event="JOB_REFUSED").exists()


@pytest.mark.django_db
def test_forged_replayed_and_unauthenticated_claims_are_refused(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.test import Client

    from interlock_wire import JobTicket, sign_ticket

    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
    token = analysis_ticket(request)
    client = Client()
    assert (
        signed_post(client, "/internal/jobs/claim/", {"ticket": token}, credential=b"wrong").status_code
        == 401
    )
    forged = sign_ticket(
        JobTicket.from_payload(base64.urlsafe_b64decode(token.split(".")[1] + "==")),
        Ed25519PrivateKey.generate(),
    ).decode()
    assert signed_post(client, "/internal/jobs/claim/", {"ticket": forged}).status_code == 403
    assert signed_post(client, "/internal/jobs/claim/", {"ticket": token}).status_code == 200
    replay = signed_post(client, "/internal/jobs/claim/", {"ticket": token})
    assert replay.status_code == 409
    stale = analysis_ticket(request)  # a newer ticket supersedes the old one
    assert (
        signed_post(client, "/internal/jobs/progress/", {"ticket": token, "progress": 0.5}).status_code == 403
    )
    assert (
        signed_post(client, "/internal/jobs/progress/", {"ticket": stale, "progress": 0.5}).status_code == 200
    )
    reasons = [
        e["reason"] for e in AuditEvent.objects.filter(event="JOB_REFUSED").values_list("extra", flat=True)
    ]
    assert (
        "bad worker credential" in reasons
        and "ticket bad_signature" in reasons
        and "replayed claim" in reasons
    )
    assert uuid.UUID(str(request.uuid))
    assert connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _private_queue(settings) -> None:  # type: ignore[no-untyped-def]
    """Each test's worker listens on its own queue, so nothing left in a shared broker interferes."""
    settings.ANALYSIS_QUEUE = f"cpu-test-{uuid.uuid4().hex[:8]}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leads_to_exactly_one_result(
    live_server, network, api_client_for, settings
) -> None:
    settings.JOB_LEASE_SECONDS = 3
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    slow = {**FAST, "num_draws": 20000, "num_burnin": 0}
    worker = start_worker(live_server.url)
    try:
        request = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=slow
        )
        wait_until(lambda: AnalysisRequest.objects.get(pk=request.pk).progress > 0.01)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool child, mid-job
        killed_at = time.monotonic()
        worker.wait(timeout=30)
        AnalysisRequest.objects.filter(pk=request.pk).update(
            params={**slow, "num_draws": 200}
        )  # finish quickly now
        wait_until(lambda: AnalysisRequest.objects.get(pk=request.pk).lease_expires_at < timezone.now(), 30)
        assert analysis_sweep()["requeued"] == 1
        worker = start_worker(live_server.url)
        wait_until(lambda: AnalysisRequest.objects.get(pk=request.pk).state in ("succeeded", "failed"))
        final = AnalysisRequest.objects.get(pk=request.pk)
        assert final.state == AnalysisState.SUCCEEDED and final.attempts == 2
        assert AnalysisResult.objects.filter(request=final).count() == 1
        assert analysis_metrics(final)["llc_mean"] is not None
        # the recovery includes the 3 s lease running out, as the beat sweeper would see it
        print(
            f"\nfault worker SIGKILL mid-job: injected 1, lost 0, duplicated "
            f"{AnalysisResult.objects.filter(request=final).count() - 1}, partial 0, "
            f"recovery {time.monotonic() - killed_at:.1f} s"
        )
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)


# What the worker of the two tests below imports first (its sitecustomize.py): the LLC runner
# with a bug for seed 13, an IndexError raised from real indexing, and for seed 14 a job that
# leaves its process broken for every later job (as a soft time limit that cuts an import in
# half does) before it runs as shipped; every other seed runs as shipped.
FAULTY_RUNNER = """
import analysis_workers.runners.llc as llc

shipped = llc.run
broken = []


def run(inputs):
    if broken:
        raise RuntimeError("this process was left broken by an interrupted job")
    if inputs.params["seed"] == 13:
        return inputs.labels[len(inputs.labels)]
    if inputs.params["seed"] == 14:
        broken.append(True)
    return shipped(inputs)


llc.run = run
"""


def _faulty_runner(tmp_path: Path) -> Path:
    """A folder with FAULTY_RUNNER as its sitecustomize.py, to put first on a worker's PYTHONPATH."""
    preload = tmp_path / "preload"
    preload.mkdir()
    (preload / "sitecustomize.py").write_text(FAULTY_RUNNER)
    return preload


@pytest.mark.django_db(transaction=True)
def test_a_job_past_the_time_limit_fails_for_good_and_the_worker_goes_on(
    live_server, network, api_client_for, monkeypatch, tmp_path
) -> None:
    """SECURITY.md: the compute process runs with time limits. A job that overruns the soft
    limit is failed permanently (no retries that would overrun again), and the same worker
    then runs the next job — in a fresh pool process: the interrupted one may be broken (the
    overrunning job here breaks it on purpose, as a limit that cuts an import in half does)."""
    monkeypatch.setenv("WORKER_SOFT_TIME_LIMIT", "8")
    monkeypatch.setenv("WORKER_TIME_LIMIT", "30")
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    log = tmp_path / "worker.log"
    worker = start_worker(live_server.url, log=log, preload=_faulty_runner(tmp_path))
    try:
        endless = analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=checkpoint.uuid,
            kind="llc",
            params={**FAST, "num_draws": 20000, "num_burnin": 0, "seed": 14},
        )
        wait_until(lambda: AnalysisRequest.objects.get(pk=endless.pk).state == AnalysisState.FAILED, 90)
        failed = AnalysisRequest.objects.get(pk=endless.pk)
        assert failed.attempts == 1 and "time limit of 8 s" in failed.message
        assert failed.error_class == "SoftTimeLimitExceeded"  # reported by the task, not the job's boundary
        assert not AnalysisResult.objects.filter(request=failed).exists()
        quick = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
        finished = (AnalysisState.SUCCEEDED, AnalysisState.FAILED)
        wait_until(lambda: AnalysisRequest.objects.get(pk=quick.pk).state in finished, 90)
        done = AnalysisRequest.objects.get(pk=quick.pk)
        assert done.state == AnalysisState.SUCCEEDED, f"{done.message} {log.read_text()[-2000:]}"
        assert done.attempts == 1  # handed back unstarted by the interrupted process, claimed once
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_runner_raises_fails_for_good_at_once_and_the_worker_goes_on(
    live_server, network, api_client_for, tmp_path
) -> None:
    """An unexpected exception in a runner fails the job on its first attempt, within seconds,
    with the exception's class and its message on record and in the API and the page; it is not
    left to run out its lease three times and end as "stopped answering" (JOB_LEASE_SECONDS is
    the default 120 s here, so a job left to the sweeper would time this test out)."""
    preload = _faulty_runner(tmp_path)
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    owner.set_password(PASSWORD)
    owner.save()
    log = tmp_path / "worker.log"
    worker = start_worker(live_server.url, log=log, preload=preload)
    try:
        buggy = analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=checkpoint.uuid,
            kind="llc",
            params={**FAST, "seed": 13},
        )
        requested = time.monotonic()
        wait_until(lambda: AnalysisRequest.objects.get(pk=buggy.pk).state == AnalysisState.FAILED, 60)
        waited = time.monotonic() - requested
        failed = AnalysisRequest.objects.get(pk=buggy.pk)
        assert failed.started_at is not None and failed.finished_at is not None
        running = (failed.finished_at - failed.started_at).total_seconds()
        assert running < 10, f"{running:.1f} s from the claim to the failure"
        assert failed.attempts == 1, failed.attempts
        assert (failed.error_class, failed.message) == ("IndexError", "list index out of range")
        assert analysis_sweep() == {"requeued": 0, "redispatched": 0}
        shown = api_client_for(owner).get(f"/api/v1/analyses/{failed.uuid}/").json()
        assert (shown["state"], shown["error_class"], shown["message"], shown["attempts"]) == (
            "failed",
            "IndexError",
            "list index out of range",
            1,
        )
        page = network.signed_in_client(owner).get(f"/analyses/{failed.uuid}/")
        shown = 'Failed: <code class="error-class">IndexError</code> — list index out of range'
        assert shown in page.content.decode()
        audited = AuditEvent.objects.get(event="ANALYSIS_FAILED", target_id=str(failed.pk))
        assert audited.extra == {"permanent": True, "error_class": "IndexError"}
        assert "Traceback" in log.read_text() and "IndexError" in log.read_text()  # for the operators
        quick = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
        finished = (AnalysisState.SUCCEEDED, AnalysisState.FAILED)
        wait_until(lambda: AnalysisRequest.objects.get(pk=quick.pk).state in finished, 90)
        done = AnalysisRequest.objects.get(pk=quick.pk)
        assert done.state == AnalysisState.SUCCEEDED and done.error_class == "", done.message
        print(
            f"\nfault runner raises IndexError: injected 1, lost 0, duplicated 0, partial 0, "
            f"failed for good after {running:.1f} s running ({waited:.1f} s from the request), attempts 1"
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
