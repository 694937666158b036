"""The analyses pages: request from the page, the live status partial, invisible to outsiders."""

from __future__ import annotations

import pytest

from interlock.analyses.models import AnalysisRequest, AnalysisResult
from interlock.crypto.fields import seal_text
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import PASSWORD
from tests.support.analyses import uploaded_checkpoint

pytestmark = pytest.mark.django_db


def test_request_follow_and_read_results_in_the_pages(
    network, api_client_for, django_capture_on_commit_callbacks
) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    owner.set_password(PASSWORD)
    owner.save()
    client = network.signed_in_client(owner)
    page = client.get("/analyses/")
    assert page.status_code == 200 and checkpoint.name.encode() in page.content and b"AL3" in page.content
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/analyses/request/",
            {"checkpoint": str(checkpoint.uuid), "kind": "llc", "params": '{"num_draws": 100}'},
        )
    assert response.status_code == 302
    analysis = AnalysisRequest.objects.get()
    status = client.get(f"/analyses/{analysis.uuid}/status/")
    assert b'hx-trigger="every 2s"' in status.content and b"Queued" in status.content
    AnalysisRequest.objects.filter(pk=analysis.pk).update(state="succeeded", progress=1.0)
    result = AnalysisResult(request=analysis)
    result.metrics_sealed = seal_text(
        org=checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=analysis.uuid),
        text=(
            '{"metrics": {"llc_mean": 4.2, "llc_std": 0.1, "llc_per_chain": [4.1, 4.3], "init_loss": 0.01,'
            ' "diagnostics": {"r_hat": 1.0, "ess": 300, "nbeta": 50}}, "seconds": 1.5}'
        ),
    )
    result.save()
    done = client.get(f"/analyses/{analysis.uuid}/")
    assert b"4.200" in done.content and b"every 2s" not in done.content
    bad = client.post(
        "/analyses/request/", {"checkpoint": str(checkpoint.uuid), "kind": "llc", "params": "not json"}
    )
    assert bad.status_code == 302 and AnalysisRequest.objects.count() == 1
    outsider = network.signed_in_client(network.person(clearance=3, password=PASSWORD))
    assert outsider.get(f"/analyses/{analysis.uuid}/").status_code == 404
    assert outsider.get(f"/analyses/{analysis.uuid}/status/").status_code == 404
