"""Real analysis workers and approved checkpoints for the pipeline, fault, page and browser tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import torch
from django.utils import timezone

from analysis_workers import zoo
from interlock.analyses import keys
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from interlock_wire import sign_request
from tests.interlock.builders import principal_for

ROOT = Path(__file__).resolve().parents[2]


SPEC = {
    "family": "mlp",
    "config": {"in_dim": 3, "hidden": [8], "out_dim": 2, "activation": "tanh", "bias": True},
}


FAST = {
    "num_chains": 2,
    "num_draws": 60,
    "num_burnin": 10,
    "step_size": 1e-4,
    "localization": 100.0,
    "batch_size": 64,
}


def uploaded_checkpoint(network, api_client_for, *, level: int = 3, approve: bool = True):
    """A checkpoint of a fresh organisation, its file uploaded over HTTP by its owner and (unless
    `approve=False`) approved by a steward of another organisation at `level`; (owner, checkpoint)."""
    org = network.org()
    owner = network.person(org, clearance=1)
    checkpoint = checkpoint_register(actor=principal_for(owner), name="mlp", spec=SPEC)
    blob = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)
    response = api_client_for(owner).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        blob,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    checkpoint.refresh_from_db()
    if approve:
        steward = network.person(steward=True)
        checkpoint_approve(
            actor=principal_for(steward),
            checkpoint_uuid=checkpoint.uuid,
            access_level=level,
            expires_at=timezone.now() + timedelta(days=1),
            sha256=checkpoint.sha256,
        )
    return owner, checkpoint


def reset_connections(app) -> None:  # type: ignore[no-untyped-def]
    """Drop Celery's pooled broker connections (a test that restarts the broker needs fresh ones)."""
    app._pool = None
    app.amqp._producer_pool = None


def worker_env(live_url: str, broker_url: str | None = None, preload: Path | None = None) -> dict[str, str]:
    """The environment of a real analysis worker process talking to `live_url`; `preload` is a
    folder put first on its PYTHONPATH (a test's `sitecustomize.py` that injects a fault)."""
    overrides = {"CELERY_BROKER_URL": broker_url} if broker_url else {}
    path = [*([str(preload)] if preload else []), str(ROOT), str(ROOT / "platform")]
    return {
        **os.environ,
        **keys.worker_environment(live_url),
        **overrides,
        "PYTHONPATH": os.pathsep.join(path),
    }


def start_worker(
    live_url: str,
    broker_url: str | None = None,
    prefix: tuple[str, ...] = (),
    log: Path | None = None,
    preload: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A real analysis worker process; `prefix` wraps it (the fault tests skew its clock),
    `preload` goes first on its PYTHONPATH (the failure tests break a runner in it)."""
    from django.conf import settings as current

    return subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "celery",
            "-A",
            "analysis_workers.tasks",
            "worker",
            "-Q",
            current.ANALYSIS_QUEUE,
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env(live_url, broker_url, preload),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log else subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_until(predicate, seconds: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it holds; an AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def signed_post(client, path: str, body: dict, credential: bytes | None = None):
    """POST `body` to the internal job API signed with the worker credential (or `credential`)."""
    raw = json.dumps(body).encode()
    now = int(time.time())
    signature = sign_request(credential or keys.worker_credential(), "POST", path, raw, now)
    return client.post(
        path,
        raw,
        content_type="application/json",
        HTTP_X_WORKER_TIMESTAMP=str(now),
        HTTP_X_WORKER_SIGNATURE=signature,
    )
