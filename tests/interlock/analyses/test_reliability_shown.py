"""An unreliable λ̂ is marked so in the API (a top-level `reliability`) and on the analysis page (an
UNRELIABLE badge with each failed diagnostic and what to change), never shown as a plain number.

The planted bad runs are real: a real worker runs `llc` with a step size far too large; and the
`llc` runner's own metrics for w* away from a minimum are stored as a result."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import torch

from analysis_workers import datasets, zoo
from analysis_workers.kinds import validate_params
from analysis_workers.runners import llc
from analysis_workers.runners.inputs import JobInputs
from analysis_workers.specs import validate_spec
from interlock.analyses.models import AnalysisRequest, AnalysisResult
from interlock.analyses.services.dispatch import analysis_sweep
from interlock.crypto.fields import seal_text
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import PASSWORD
from tests.support.analyses import (
    FAST,
    SPEC,
    reset_connections,
    start_worker,
    uploaded_checkpoint,
    wait_until,
)


def _off_minimum_metrics() -> dict[str, Any]:
    """The `llc` runner on a model evaluated on another model's data: w* is not a minimum."""
    teacher = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    stranger = zoo.build(SPEC, generator=torch.Generator().manual_seed(1))
    data = datasets.build_for_model("regression", {"n": 256}, model=teacher, in_dim=3)
    params = validate_params("llc", {**FAST, "num_draws": 100})
    inputs = JobInputs(validate_spec(SPEC), [stranger], ["0"], data, params, lambda f: None)
    return llc.run(inputs).metrics


def _store(analysis: AnalysisRequest, metrics: dict[str, Any]) -> None:
    AnalysisRequest.objects.filter(pk=analysis.pk).update(state="succeeded", progress=1.0)
    result = AnalysisResult(request=analysis)
    result.metrics_sealed = seal_text(
        org=analysis.checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=analysis.uuid),
        text=json.dumps({"metrics": metrics, "seconds": 1.0}),
    )
    result.save()


def _request(client, checkpoint, params: dict[str, Any]) -> AnalysisRequest:  # type: ignore[no-untyped-def]
    created = client.post(
        "/api/v1/analyses/",
        {"checkpoint": str(checkpoint.uuid), "kind": "llc", "params": params},
        format="json",
    )
    assert created.status_code == 201, created.content
    return AnalysisRequest.objects.get(uuid=created.json()["id"])


@pytest.mark.django_db
def test_w_star_away_from_a_minimum_is_marked_unreliable_in_the_api_and_the_page(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        analysis = _request(api_client_for(owner), checkpoint, FAST)
    metrics = _off_minimum_metrics()
    _store(analysis, metrics)
    body = api_client_for(owner).get(f"/api/v1/analyses/{analysis.uuid}/").json()
    assert body["reliability"]["reliable"] is False
    gradient = next(r for r in body["reliability"]["reasons"] if r["diagnostic"] == "gradient")
    assert gradient["value"] > gradient["threshold"] and "train further" in gradient["advice"]
    owner.set_password(PASSWORD)
    owner.save()
    page = network.signed_in_client(owner).get(f"/analyses/{analysis.uuid}/").content.decode()
    assert "UNRELIABLE" in page and 'role="alert"' in page and "train further" in page
    shown = f"{metrics['llc_mean']:.3f}"
    assert f'<span class="unreliable-value">{shown}' in page  # the number only inside the marking


@pytest.mark.django_db
def test_a_result_without_a_verdict_is_unjudged_and_an_interpretability_result_has_none(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        older = _request(api_client_for(owner), checkpoint, FAST)
    _store(older, {"llc_mean": 4.2, "llc_std": 0.1, "diagnostics": {"r_hat": 1.3}})
    verdict = api_client_for(owner).get(f"/api/v1/analyses/{older.uuid}/").json()["reliability"]
    assert verdict["reliable"] is False and verdict["reasons"][0]["diagnostic"] == "unjudged"
    with django_capture_on_commit_callbacks(execute=False):
        other = _request(api_client_for(owner), checkpoint, FAST)
    _store(other, {"scores": {"induction": [[0.1]]}})
    assert api_client_for(owner).get(f"/api/v1/analyses/{other.uuid}/").json()["reliability"] is None


@pytest.mark.django_db(transaction=True)
def test_a_step_size_far_too_large_on_a_real_worker_is_an_unreliable_result(
    live_server, network, api_client_for
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    from interlock.celery import app

    reset_connections(app)
    worker = start_worker(live_server.url)
    try:
        wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)
        client = api_client_for(owner)
        analysis = _request(client, checkpoint, {**FAST, "step_size": 0.5})
        started = time.monotonic()
        while time.monotonic() < started + 120:
            state = client.get(f"/api/v1/analyses/{analysis.uuid}/").json()
            if state["state"] in ("succeeded", "failed"):
                break
            if time.monotonic() > started + 30:
                analysis_sweep()
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(30)
    assert state["state"] == "succeeded", state["message"]
    assert state["reliability"]["reliable"] is False
    assert [r["diagnostic"] for r in state["reliability"]["reasons"]] == ["divergences"]
    assert state["metrics"]["llc_mean"] is None and state["metrics"]["sampler"]["step_size"] == 0.5
    owner.set_password(PASSWORD)
    owner.save()
    page = network.signed_in_client(owner).get(f"/analyses/{analysis.uuid}/").content.decode()
    assert "UNRELIABLE" in page and "divergences" in page and "lower step_size" in page


@pytest.mark.django_db
def test_a_trajectory_page_gives_every_checkpoint_its_mcse_r_hat_and_verdict(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    with django_capture_on_commit_callbacks(execute=False):
        analysis = _request(api_client_for(owner), checkpoint, FAST)
    models = [zoo.build(SPEC, generator=torch.Generator().manual_seed(seed)) for seed in (0, 1)]
    data = datasets.build_for_model("regression", {"n": 256}, model=models[0], in_dim=3)
    params = validate_params("llc_trajectory", FAST)
    inputs = JobInputs(validate_spec(SPEC), models, ["0", "500"], data, params, lambda f: None)
    metrics = llc.run_trajectory(inputs).metrics
    _store(analysis, metrics)
    verdict = api_client_for(owner).get(f"/api/v1/analyses/{analysis.uuid}/").json()["reliability"]
    assert verdict["reliable"] is False and "500" in {reason["checkpoint"] for reason in verdict["reasons"]}
    owner.set_password(PASSWORD)
    owner.save()
    page = network.signed_in_client(owner).get(f"/analyses/{analysis.uuid}/").content.decode()
    table = page[page.index('class="llc-series"') :]
    assert "<th>λ̂ ± MCSE</th><th>R-hat</th>" in table and "<strong>unreliable</strong>: " in table
    off = metrics["checkpoints"][1]
    assert f"{off['llc_estimate']:.2f} ± {off['llc_mcse']:.2f} — unreliable" in table
