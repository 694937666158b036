"""An analysis on an uploaded dataset, run by the worker's own code in this process: the signed
ticket carries the dataset's blob, the worker fetches it through the internal job API (which serves
a job only its own inputs), checks it against the pinned hash, builds the dataset and returns the
result. A dataset blob swapped in storage is refused before anything is built."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.conf import settings
from django.test import Client

from analysis_workers import jobs
from interlock.analyses import keys
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.selectors import analysis_metrics
from interlock.analyses.services.dispatch import analysis_ticket
from interlock.artifacts.models import Artifact
from interlock.artifacts.storage import artifact_storage
from interlock_wire import sign_request
from tests.support.datasets import approved_checkpoint_for, random_tokens, token_file, uploaded_dataset

pytestmark = pytest.mark.django_db

FAST = {"num_chains": 2, "num_draws": 20, "num_burnin": 5, "step_size": 1e-4, "batch_size": 8}


class InProcessLink(jobs.PlatformLink):
    """The worker's signed calls, answered by the platform in this process (no server, no broker)."""

    def call(self, path: str, **fields: Any) -> httpx.Response:
        body = json.dumps({"ticket": self.token, **fields}).encode()
        now = int(time.time())
        answer = Client().post(
            path,
            body,
            content_type="application/json",
            HTTP_X_WORKER_TIMESTAMP=str(now),
            HTTP_X_WORKER_SIGNATURE=sign_request(self.config.credential, "POST", path, body, now),
        )
        streamed = getattr(answer, "streaming_content", None)  # a blob is streamed
        content = b"".join(streamed) if answer.streaming and streamed is not None else answer.content
        return httpx.Response(answer.status_code, content=content)


def worker_config() -> jobs.WorkerConfig:
    keys.worker_environment("http://testserver")  # makes the key files
    return jobs.WorkerConfig(
        platform_url="http://testserver",
        fleet_id=settings.WORKER_FLEET_ID,
        fleet_key=X25519PrivateKey.from_private_bytes(Path(settings.WORKER_FLEET_KEY_FILE).read_bytes()),
        credential=keys.worker_credential(),
        platform_signing_public=keys.platform_signing_key().public_key(),
        platform_result_public=keys.platform_result_key().public_key(),
    )


@pytest.fixture
def queued(network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    owner = network.person(network.org("Lab"), clearance=1)
    api = api_client_for(owner)
    steward = network.person(network.org("Stewards"), steward=True, clearance=3)
    checkpoint = approved_checkpoint_for(owner, steward, api)
    mask = random_tokens(24, 8, 2, seed=1) * 0 + 1
    mask[::3, 6:] = 0
    dataset = uploaded_dataset(api, token_file(random_tokens(24, 8, 16), mask), label="amber_strict")
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post(
            "/api/v1/analyses/",
            {
                "checkpoint": str(checkpoint.uuid),
                "kind": "llc",
                "params": FAST,
                "dataset": {"id": dataset["id"]},
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    analysis = AnalysisRequest.objects.get(uuid=created.json()["id"])
    return {"analysis": analysis, "dataset": dataset, "owner": owner, "api": api}


def test_the_worker_runs_an_analysis_on_the_uploaded_dataset(
    queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "PlatformLink", InProcessLink)
    assert jobs.run_job(analysis_ticket(queued["analysis"]), worker_config()) == "succeeded"
    analysis = queued["analysis"]
    analysis.refresh_from_db()
    assert analysis.state == "succeeded", analysis.message
    metrics = analysis_metrics(analysis)
    assert metrics is not None and metrics["init_loss"] > 0 and "llc_mean" in metrics


def test_a_dataset_blob_swapped_in_storage_is_refused_before_anything_is_built(
    queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another upload's ciphertext put where the dataset's was: its data key and identity differ,
    so the worker's decryption fails and the job fails for good with that reason."""
    other = uploaded_dataset(
        queued["api"], token_file(random_tokens(24, 8, 16, seed=9)), label="amber_strict"
    )
    storage = artifact_storage()
    mine = Artifact.objects.get(uuid=queued["dataset"]["artifact"])
    theirs = Artifact.objects.get(uuid=other["artifact"])
    with storage.open(theirs.storage_key, "rb") as source:
        swapped = source.read()
    storage.delete(mine.storage_key)
    with storage.open(mine.storage_key, "wb") as sink:
        sink.write(swapped)
    monkeypatch.setattr(jobs, "PlatformLink", InProcessLink)
    assert jobs.run_job(analysis_ticket(queued["analysis"]), worker_config()) == "failed"
    analysis = queued["analysis"]
    analysis.refresh_from_db()
    assert analysis.state == "failed" and analysis.message.startswith("the dataset failed authentication")
