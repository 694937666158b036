"""Fault injection against real processes (#10): a full disk during uploads, a worker whose clock
is skewed, a broker killed with jobs queued, PostgreSQL restarted during a burst of writes
(`test_postgres_restart.py`), and a worker killed mid-job (tests/interlock/analyses/test_pipeline.py).

After each fault: no lost or duplicated record, nothing partial stored or served, the audit chain
verifies. Each test prints one line — `fault <kind>: injected N, lost L, duplicated D, partial P,
recovery S s` — collected in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from interlock import embedded
from interlock.analyses.models import AnalysisRequest, AnalysisResult, AnalysisState
from interlock.analyses.services.dispatch import analysis_sweep
from interlock.analyses.services.requester import analysis_request_create
from interlock.artifacts.models import Artifact
from interlock.audit.models import AuditEvent
from interlock.audit.verification import verify_audit
from interlock.findings.services import finding_create
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, reset_connections, start_worker, uploaded_checkpoint, wait_until

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _private_queue(settings: Any) -> None:
    settings.ANALYSIS_QUEUE = f"cpu-fault-{uuid.uuid4().hex[:8]}"


def _report(kind: str, *, injected: int, lost: int, duplicated: int, partial: int, recovery: float) -> None:
    print(
        f"\nfault {kind}: injected {injected}, lost {lost}, duplicated {duplicated}, "
        f"partial {partial}, recovery {recovery:.1f} s"
    )


# --- a full disk during uploads ---------------------------------------------------------------


@contextmanager
def _small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """A size-limited tmpfs (root only: CI and the dev container run as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _stored_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db
def test_a_full_disk_during_uploads_keeps_nothing_partial_and_loses_nothing(
    network: Any, api_client_for: Any, settings: Any, tmp_path: Path
) -> None:
    with _small_filesystem(tmp_path / "blobs", "1m") as blobs:
        settings.STORAGES = {
            **settings.STORAGES,
            "artifacts": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(blobs)},
            },
        }
        author = network.person(clearance=1)
        finding = finding_create(
            actor=principal_for(author), title="Uploads", body="on a small disk", label="amber"
        )
        client = api_client_for(author)
        url = f"/api/v1/artifacts/?parent_type=finding&parent_id={finding.uuid}"
        kept = os.urandom(300_000)
        first = client.generic(
            "POST", url + "&filename=kept.bin", kept, content_type="application/octet-stream"
        )
        assert first.status_code == 201, first.content
        files_before, rows_before = _stored_files(blobs), Artifact.objects.count()
        uploads_before = AuditEvent.objects.filter(event="ARTIFACT_UPLOADED").count()

        started = time.monotonic()
        too_big = os.urandom(3 * MIB)
        raw = client.generic("POST", url, too_big, content_type="application/octet-stream")
        multipart = client.post(url, {"file": SimpleUploadedFile("big.bin", too_big)}, format="multipart")
        injected = 2
        for response in (raw, multipart):
            assert response.status_code == 507, response.content
            assert "ran out of storage space" in response.json()["error"]["message"]
        partial = len(_stored_files(blobs) - files_before) + (Artifact.objects.count() - rows_before)
        assert AuditEvent.objects.filter(event="ARTIFACT_UPLOADED").count() == uploads_before

        # what was stored before the disk filled is intact, and the space came back
        listed = client.get(url).json()["results"]
        assert [item["filename"] for item in listed] == ["kept.bin"]
        assert (
            b"".join(client.get(f"/api/v1/artifacts/{first.json()['id']}/content/").streaming_content) == kept
        )
        again = client.generic(
            "POST", url + "&filename=after.bin", kept, content_type="application/octet-stream"
        )
        assert again.status_code == 201, again.content
        recovery = time.monotonic() - started
        report = verify_audit()
        assert report.ok, report.problem
    _report(
        "disk full during upload", injected=injected, lost=0, duplicated=0, partial=partial, recovery=recovery
    )
    assert partial == 0


# --- a worker whose clock is wrong ------------------------------------------------------------


def _finish(request_ids: list[int], *, seconds: float = 150) -> float:
    """Run the sweeper like beat does until every request is terminal; returns the seconds taken."""
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        states = set(AnalysisRequest.objects.filter(pk__in=request_ids).values_list("state", flat=True))
        if states <= {AnalysisState.SUCCEEDED, AnalysisState.FAILED}:
            return time.monotonic() - started
        analysis_sweep()
        time.sleep(1.0)
    raise AssertionError(f"requests still not finished: {states}")


def _outcome(request_ids: list[int]) -> tuple[int, int]:
    """(lost, duplicated): requests without a successful single result, and extra results."""
    lost = duplicated = 0
    for pk in request_ids:
        results = AnalysisResult.objects.filter(request_id=pk).count()
        state = AnalysisRequest.objects.get(pk=pk).state
        lost += state != AnalysisState.SUCCEEDED or results == 0
        duplicated += max(0, results - 1)
    return lost, duplicated


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_a_skewed_clock_refuses_tickets_and_nothing_is_lost_once_fixed(
    live_server: Any, network: Any, api_client_for: Any, settings: Any, tmp_path: Path
) -> None:
    settings.JOB_LEASE_SECONDS = 4
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    # within the 60 s tolerance: the job runs
    worker = start_worker(live_server.url, prefix=("faketime", "-f", "+30s"))
    try:
        near = analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        )
        _finish([near.pk])
    finally:
        _stop(worker)
    assert _outcome([near.pk]) == (0, 0)

    # two hours ahead: every ticket looks expired to the worker; nothing is claimed or run
    log = tmp_path / "skewed-worker.log"
    worker = start_worker(live_server.url, prefix=("faketime", "-f", "+2h"), log=log)
    requests = [
        analysis_request_create(
            actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
        ).pk
        for _ in range(3)
    ]
    try:
        time.sleep(12)  # the worker receives and refuses each message; the sweeper re-sends them
        analysis_sweep()
        time.sleep(6)
        claimed = AnalysisRequest.objects.filter(pk__in=requests).exclude(state=AnalysisState.QUEUED).count()
        assert claimed == 0
        assert AnalysisRequest.objects.filter(pk__in=requests, attempts__gt=0).count() == 0
    finally:
        _stop(worker)
    assert "ticket has expired" in log.read_text(errors="replace"), "the skewed worker never saw a ticket"

    # the clock is fixed: the sweeper re-sends with fresh tickets and each job runs once
    worker = start_worker(live_server.url)
    try:
        recovery = _finish(requests)
    finally:
        _stop(worker)
    lost, duplicated = _outcome(requests)
    assert AnalysisRequest.objects.filter(pk__in=requests, attempts=1).count() == len(requests)
    report = verify_audit()
    assert report.ok, report.problem
    _report(
        "worker clock +2 h",
        injected=len(requests),
        lost=lost,
        duplicated=duplicated,
        partial=0,
        recovery=recovery,
    )
    assert (lost, duplicated) == (0, 0)


# --- the broker killed with jobs queued -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker_data", ["kept", "lost"])
def test_the_broker_killed_with_jobs_queued_loses_and_duplicates_nothing(
    live_server: Any,
    network: Any,
    api_client_for: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broker_data: str,
) -> None:
    from interlock.celery import app

    broker = embedded.ensure_redis(tmp_path)
    previous = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", broker.url)
    settings.CELERY_BROKER_URL = broker.url
    app.conf.broker_url = broker.url
    reset_connections(app)
    settings.JOB_LEASE_SECONDS = 5
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    worker = None
    try:
        requests = [
            analysis_request_create(
                actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
            ).pk
            for _ in range(4)
        ]
        assert AnalysisRequest.objects.filter(pk__in=requests, dispatched_at__isnull=False).count() == 4
        time.sleep(1.5)  # the append-only file is flushed every second
        pid = int((tmp_path / "redis" / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # no goodbye: only what reached the append-only file survives
        wait_until(lambda: not _listening(broker.port), 20)
        if broker_data == "lost":
            for name in ("appendonly.aof", "dump.rdb", "appendonlydir"):
                target = tmp_path / "redis" / name
                subprocess.run(["rm", "-rf", str(target)], check=True)
        restarted = embedded.ensure_redis(tmp_path)
        app.conf.broker_url = restarted.url
        monkeypatch.setenv("CELERY_BROKER_URL", restarted.url)
        settings.CELERY_BROKER_URL = restarted.url
        reset_connections(app)
        worker = start_worker(live_server.url, broker_url=restarted.url)
        recovery = _finish(requests)
    finally:
        if worker is not None:
            _stop(worker)
        embedded.stop_all(tmp_path)
        app.conf.broker_url = previous
        reset_connections(app)
    lost, duplicated = _outcome(requests)
    report = verify_audit()
    assert report.ok, report.problem
    _report(
        f"broker killed with jobs queued, data {broker_data}",
        injected=len(requests),
        lost=lost,
        duplicated=duplicated,
        partial=0,
        recovery=recovery,
    )
    assert (lost, duplicated) == (0, 0)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
