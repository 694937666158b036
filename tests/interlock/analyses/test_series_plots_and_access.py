"""Series kinds, plots as encrypted artifacts, cancelling, and analysis access for other organisations.

The end-to-end test runs a real worker process on the configured broker against a live platform:
a transformer checkpoint series is uploaded, approved, analysed (LLC trajectory and attention
patterns on modular addition), and its plots are served only to the result audience.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from analysis_workers import zoo
from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.analyses.services.dispatch import analysis_sweep
from interlock.analyses.services.jobs import _decoded_plots
from interlock.analyses.services.requester import analysis_cancel, analysis_request_create
from interlock.artifacts.models import Artifact
from interlock.audit.models import AuditEvent
from interlock.checkpoints.models import AnalysisAccessGrant
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from interlock.core.errors import ApplicationError, NotFound, PolicyDenied
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.analyses import reset_connections, start_worker, wait_until

P = 7
SPEC = {
    "family": "transformer",
    "config": {
        "d_vocab": P + 1,
        "n_ctx": 3,
        "d_model": 16,
        "n_heads": 2,
        "d_head": 8,
        "d_mlp": 32,
        "n_layers": 1,
        "act_fn": "relu",
        "normalization": None,
        "attn_only": False,
    },
}
DATASET = {"name": "modular_addition", "params": {"p": P, "train_fraction": 0.5, "seed": 0}}
FAST = {"num_chains": 2, "num_draws": 30, "num_burnin": 5, "step_size": 1e-5, "batch_size": 16}


def _upload(network, api_client_for, owner, steward, *, position: int, level: int = 3, approve: bool = True):
    checkpoint = checkpoint_register(
        actor=principal_for(owner), name=f"step {position}", spec=SPEC, series="modadd", position=position
    )
    model = zoo.build(SPEC, generator=torch.Generator().manual_seed(position))
    response = api_client_for(owner).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        zoo.save_checkpoint(model, SPEC),
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    checkpoint.refresh_from_db()
    if approve:
        checkpoint_approve(
            actor=principal_for(steward),
            checkpoint_uuid=checkpoint.uuid,
            access_level=level,
            expires_at=timezone.now() + timedelta(days=1),
            sha256=checkpoint.sha256,
        )
    return checkpoint


def _lab(network, api_client_for, *, approve_all: bool = True):
    org = network.org()
    owner = network.person(org, clearance=1, password=PASSWORD)
    steward = network.person(steward=True)
    series = [
        _upload(network, api_client_for, owner, steward, position=index, approve=approve_all or index < 2)
        for index in range(3)
    ]
    return org, owner, steward, series


@pytest.mark.django_db(transaction=True)
def test_series_and_attention_kinds_run_on_a_real_worker_and_plots_reach_only_the_audience(
    live_server, network, api_client_for, settings
) -> None:
    org, owner, _steward, series = _lab(network, api_client_for)
    from interlock.celery import app

    reset_connections(app)
    worker = start_worker(live_server.url)
    try:
        wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)
        client = api_client_for(owner)
        ids = []
        for kind, params in (("llc_trajectory", FAST), ("attention_patterns", {"max_prompts": 16})):
            created = client.post(
                "/api/v1/analyses/",
                {"checkpoint": str(series[-1].uuid), "kind": kind, "params": params, "dataset": DATASET},
                format="json",
            )
            assert created.status_code == 201, created.content
            ids.append(created.json()["id"])
        assert created.json()["inputs"] == [str(series[-1].uuid)]
        trajectory = AnalysisRequest.objects.get(uuid=ids[0])
        assert [item.checkpoint_id for item in trajectory.inputs.all()] == [c.pk for c in series]
        started = time.monotonic()
        while time.monotonic() < started + 180:
            states = [client.get(f"/api/v1/analyses/{i}/").json() for i in ids]
            if all(s["state"] in ("succeeded", "failed") for s in states):
                break
            if time.monotonic() > started + 30:
                analysis_sweep()
            time.sleep(0.5)
        assert [s["state"] for s in states] == ["succeeded", "succeeded"], [s["message"] for s in states]
        rows = states[0]["metrics"]["checkpoints"]
        assert [row["checkpoint"] for row in rows] == ["0", "1", "2"]
        assert all((row["llc"] is None) == row["flagged"] for row in rows)
        assert set(states[1]["metrics"]["scores"]) >= {"previous_token", "induction"}
        plots = {p["name"]: p["id"] for s in states for p in s["plots"]}
        assert "llc_trajectory-llc_trajectory.svg" in plots  # vector copies for papers, download only
        assert {"llc_trajectory-llc_trajectory.png", "attention_patterns-head_scores.png"} <= set(plots)
        plot_id = plots["llc_trajectory-llc_trajectory.png"]
        artifact = Artifact.objects.get(uuid=plot_id)
        assert artifact.media_type == "image/png" and artifact.parent_type == "analysis"
        assert artifact.owner_org_id == org.pk
        page = network.signed_in_client(owner)
        image = page.get(f"/analyses/{ids[0]}/plots/{plot_id}.png")
        body = b"".join(image.streaming_content)
        assert (
            image.status_code == 200 and body.startswith(b"\x89PNG") and image["Content-Type"] == "image/png"
        )
        assert f"/analyses/{ids[0]}/plots/{plot_id}.png".encode() in page.get(f"/analyses/{ids[0]}/").content
        # the same plot through the generic artifact API: visible exactly when the analysis is
        assert client.get(f"/api/v1/artifacts/{plot_id}/").status_code == 200
        for stranger in (
            network.person(clearance=3, password=PASSWORD),
            network.person(steward=True, password=PASSWORD),
        ):
            other = network.signed_in_client(stranger)
            assert other.get(f"/analyses/{ids[0]}/plots/{plot_id}.png").status_code == 404
            assert other.get(f"/analyses/{ids[0]}/").status_code == 404
            assert api_client_for(stranger).get(f"/api/v1/artifacts/{plot_id}/").status_code == 404
        # a plot id under another analysis is not found there
        assert page.get(f"/analyses/{ids[1]}/plots/{plot_id}.png").status_code == 404
        assert AuditEvent.objects.filter(event="ARTIFACT_DOWNLOADED", target_id=str(artifact.pk)).exists()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


@pytest.mark.django_db
def test_a_series_kind_needs_every_checkpoint_approved_and_a_fitting_dataset(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    _, owner, _, series = _lab(network, api_client_for, approve_all=False)
    with pytest.raises(PolicyDenied, match="step 2"):
        analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc_trajectory",
            params=FAST,
            dataset=DATASET,
        )
    with pytest.raises(ApplicationError, match="does not fit"):
        analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="grokking_progress",
            params={},
            dataset={"name": "induction_sequences", "params": {}},
        )
    with pytest.raises(ApplicationError, match="dataset parameters"):
        analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc",
            params=FAST,
            dataset={"name": "modular_addition", "params": {"p": 1}},
        )
    # a weight-restricted LLC on a head the model does not have is refused before it is queued
    # (mutant: without the requester's component check it was queued and failed on the worker)
    with pytest.raises(ApplicationError, match="does not fit") as refused:
        analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc",
            params={**FAST, "components": "l0h1, l7 mlp"},
            dataset=DATASET,
        )
    assert "l7 mlp" in str(refused.value.extra) and "layers" in str(refused.value.extra)
    assert not AnalysisRequest.objects.exists()


@pytest.mark.django_db
def test_cancel_by_the_requester_only_and_never_twice(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    org, owner, _, series = _lab(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc",
            params=FAST,
            dataset=DATASET,
        )
    colleague = network.person(org, clearance=1, password=PASSWORD)
    with pytest.raises(PolicyDenied):
        analysis_cancel(actor=principal_for(colleague), analysis_uuid=request.uuid)
    stranger = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    assert stranger.post(f"/analyses/{request.uuid}/cancel/").status_code == 404
    assert (
        api_client_for(owner).post(f"/api/v1/analyses/{request.uuid}/cancel/").json()["state"] == "cancelled"
    )
    again = api_client_for(owner).post(f"/api/v1/analyses/{request.uuid}/cancel/")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]["message"]
    page = network.signed_in_client(owner)
    assert page.post(f"/analyses/{request.uuid}/cancel/").status_code == 302
    request.refresh_from_db()
    assert request.state == AnalysisState.CANCELLED
    assert AuditEvent.objects.filter(event="ANALYSIS_CANCELLED").count() == 1


@pytest.mark.django_db
def test_another_organisation_analyses_only_after_the_owner_admin_approves(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    org, owner, _, series = _lab(network, api_client_for)
    admin = network.person(org, role="org_admin", clearance=1)
    outsider = network.person(clearance=3)
    target = series[0]
    with pytest.raises(NotFound):
        analysis_request_create(
            actor=principal_for(outsider),
            checkpoint_uuid=target.uuid,
            kind="llc",
            params=FAST,
            dataset=DATASET,
        )
    asks = api_client_for(outsider)
    reason = {"reason": "We want to compare its LLC curve with ours."}
    real = asks.post("/api/v1/analysis-access/", {"checkpoint": str(target.uuid), **reason}, format="json")
    fake = asks.post(
        "/api/v1/analysis-access/",
        {"checkpoint": "3f0c9a1e-0000-4000-8000-000000000000", **reason},
        format="json",
    )
    assert real.status_code == fake.status_code == 202 and real.json() == fake.json()  # no existence oracle
    assert AnalysisAccessGrant.objects.count() == 1
    assert (
        api_client_for(owner).get("/api/v1/analysis-access/").json()["results"] == []
    )  # members do not decide
    pending = api_client_for(admin).get("/api/v1/analysis-access/").json()["results"]
    assert [p["checkpoint"] for p in pending] == [str(target.uuid)]
    decide = f"/api/v1/analysis-access/{pending[0]['id']}/decide/"
    assert asks.post(decide, {"approve": True}, format="json").status_code == 404  # not the grantee's call
    decided = api_client_for(admin).post(decide, {"approve": True, "days": 7}, format="json")
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    with django_capture_on_commit_callbacks(execute=False):
        created = asks.post(
            "/api/v1/analyses/",
            {"checkpoint": str(target.uuid), "kind": "llc", "params": FAST, "dataset": DATASET},
            format="json",
        )
    assert created.status_code == 201, created.content
    assert asks.get(f"/api/v1/analyses/{created.json()['id']}/").status_code == 200
    # analysis access never includes the weights
    weights = Artifact.objects.get(parent_type="checkpoint", parent_id=target.uuid)
    assert asks.get(f"/api/v1/artifacts/{weights.uuid}/content/").status_code == 404
    # other checkpoints of the series stay invisible, a series kind over them is refused,
    # and the grant ends with its expiry
    assert asks.get(f"/api/v1/checkpoints/{series[1].uuid}/").status_code == 404
    series_kind = {
        "checkpoint": str(target.uuid),
        "kind": "llc_trajectory",
        "params": FAST,
        "dataset": DATASET,
    }
    refused = asks.post("/api/v1/analyses/", series_kind, format="json")
    assert refused.status_code == 403 and "step 1" in refused.json()["error"]["message"]
    AnalysisAccessGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        analysis_request_create(
            actor=principal_for(outsider),
            checkpoint_uuid=target.uuid,
            kind="llc",
            params=FAST,
            dataset=DATASET,
        )
    assert {"ANALYSIS_ACCESS_REQUESTED", "ANALYSIS_ACCESS_DECIDED"} <= set(
        AuditEvent.objects.values_list("event", flat=True)
    )


def test_a_result_may_carry_only_the_kinds_own_png_plots() -> None:
    import base64

    png = base64.urlsafe_b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 10).decode()
    assert set(_decoded_plots({"loss_trace": png}, ("loss_trace",))) == {"loss_trace"}
    for bad in (
        {"other": png},
        {"loss_trace": base64.urlsafe_b64encode(b"<svg onload=alert(1)>").decode()},
        {"loss_trace": 5},
        ["loss_trace"],
    ):
        with pytest.raises(ApplicationError):
            _decoded_plots(bad, ("loss_trace",))


@pytest.mark.django_db(transaction=True)
def test_gpu_requests_go_to_the_gpu_queue_only_where_the_deployment_has_one(
    network, api_client_for, settings
) -> None:
    import uuid

    import redis

    _, owner, _, series = _lab(network, api_client_for)
    body = {
        "checkpoint": str(series[0].uuid),
        "kind": "llc",
        "params": FAST,
        "dataset": DATASET,
        "device": "gpu",
    }
    settings.ANALYSIS_GPU_QUEUE = ""
    refused = api_client_for(owner).post("/api/v1/analyses/", body, format="json")
    assert refused.status_code == 400 and "no GPU workers" in refused.json()["error"]["message"]
    settings.ANALYSIS_GPU_QUEUE = f"gpu-test-{uuid.uuid4().hex[:8]}"
    from interlock.celery import app

    reset_connections(app)
    created = api_client_for(owner).post("/api/v1/analyses/", body, format="json")
    assert created.status_code == 201 and created.json()["queue"] == settings.ANALYSIS_GPU_QUEUE
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        wait_until(
            lambda: broker.llen(settings.ANALYSIS_GPU_QUEUE) == 1, 10
        )  # the ticket waits for a GPU worker
    finally:
        broker.delete(settings.ANALYSIS_GPU_QUEUE)


@pytest.mark.django_db
def test_results_go_wider_only_after_two_stewards_of_other_organisations_approve(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    from interlock.analyses.models import AnalysisResult
    from interlock.crypto.fields import seal_text

    org, owner, _steward, series = _lab(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc",
            params=FAST,
            dataset=DATASET,
        )
    AnalysisRequest.objects.filter(pk=request.pk).update(state="succeeded")
    result = AnalysisResult(request=request)
    result.metrics_sealed = seal_text(
        org=org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        text='{"metrics": {"llc_mean": 1.0}, "seconds": 1}',
    )
    result.save()
    outsider = network.person(clearance=1)
    path = f"/api/v1/analyses/{request.uuid}/"
    assert api_client_for(outsider).get(path).status_code == 404
    asked = api_client_for(owner).post(
        f"{path}releases/",
        {"target": "network", "reason": "Others should compare their curves."},
        format="json",
    )
    assert asked.status_code == 201
    vote = f"/api/v1/analysis-releases/{asked.json()['id']}/vote/"
    body = {"approve": True, "rationale": "Only a curve, no recipe."}
    same_org_steward = network.person(org, steward=True)
    assert api_client_for(same_org_steward).post(vote, body, format="json").status_code == 403
    assert api_client_for(outsider).post(vote, body, format="json").status_code == 404  # not a steward
    first = network.person(steward=True)
    assert api_client_for(first).get(path).status_code == 200  # reviewing stewards see it
    assert api_client_for(first).post(vote, body, format="json").json()["state"] == "pending"
    assert api_client_for(first).post(vote, body, format="json").status_code == 409  # one vote each
    assert api_client_for(outsider).get(path).status_code == 404  # one approval is not enough
    second = network.person(steward=True)
    assert api_client_for(second).post(vote, body, format="json").json()["state"] == "approved"
    assert api_client_for(outsider).get(path).json()["metrics"]["llc_mean"] == 1.0
    uncleared = network.person(clearance=0)
    AnalysisRequest.objects.filter(pk=request.pk).update(hazard_tier=1)
    assert api_client_for(uncleared).get(path).status_code == 404  # a release never lowers the tier
    assert {"ANALYSIS_RELEASE_REQUESTED", "ANALYSIS_RELEASE_VOTED", "ANALYSIS_RELEASE_DECIDED"} <= set(
        AuditEvent.objects.values_list("event", flat=True)
    )


@pytest.mark.django_db
def test_two_stewards_of_one_other_organisation_cannot_release_results_alone(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    """The two approvals must come from two organisations. Mutants: the same-organisation refusal
    removed and approvals counted by person (as before) → the second steward of the same
    organisation approves the release, red; only the refusal removed → that vote is accepted (200),
    red."""
    from interlock.analyses.models import AnalysisResult, OutputRelease
    from interlock.crypto.fields import seal_text

    org, owner, _steward, series = _lab(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        request = analysis_request_create(
            actor=principal_for(owner),
            checkpoint_uuid=series[0].uuid,
            kind="llc",
            params=FAST,
            dataset=DATASET,
        )
    AnalysisRequest.objects.filter(pk=request.pk).update(state="succeeded")
    result = AnalysisResult(request=request)
    result.metrics_sealed = seal_text(
        org=org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        text='{"metrics": {"llc_mean": 1.0}, "seconds": 1}',
    )
    result.save()
    path = f"/api/v1/analyses/{request.uuid}/"
    asked = api_client_for(owner).post(
        f"{path}releases/",
        {"target": "network", "reason": "Others should compare their curves."},
        format="json",
    )
    assert asked.status_code == 201
    vote = f"/api/v1/analysis-releases/{asked.json()['id']}/vote/"
    body = {"approve": True, "rationale": "Only a curve, no recipe."}
    other_org = network.org()
    first = network.person(other_org, steward=True)
    colleague = network.person(other_org, steward=True)
    assert api_client_for(first).post(vote, body, format="json").json()["state"] == "pending"
    refused = api_client_for(colleague).post(vote, body, format="json")
    assert refused.status_code == 403, refused.content
    assert "another organisation" in refused.json()["error"]["message"]
    assert OutputRelease.objects.get().state == "pending"
    outsider = network.person(clearance=1)
    assert api_client_for(outsider).get(path).status_code == 404  # still not released
    third_org_steward = network.person(steward=True)
    assert api_client_for(third_org_steward).post(vote, body, format="json").json()["state"] == "approved"
    assert api_client_for(outsider).get(path).status_code == 200
