"""Objects of the analysis pipeline for the IDOR sweeps: an approved checkpoint of a tier, a
finished analysis with sealed metrics and a plot (no worker run)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import torch
from django.utils import timezone

from analysis_workers import zoo
from interlock.analyses.models import AnalysisRequest, AnalysisResult
from interlock.analyses.services.jobs import _store_plot
from interlock.analyses.services.requester import analysis_request_create
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from interlock.crypto.fields import seal_text
from interlock_wire import analysis_result_object_id
from tests.interlock.builders import principal_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


SPEC = {
    "family": "mlp",
    "config": {"in_dim": 3, "hidden": [4], "out_dim": 2, "activation": "tanh", "bias": True},
}


def approved_tiered_checkpoint(owner: Any, steward: Any, api_client_for: Any, name: str, tier: int) -> Any:
    """A checkpoint of `tier` uploaded by `owner` over HTTP and approved by `steward` (level 3)."""
    checkpoint = checkpoint_register(actor=principal_for(owner), name=name, spec=SPEC, hazard_tier=tier)
    weights = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(tier)), SPEC)
    uploaded = api_client_for(owner).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        weights,
        content_type="application/octet-stream",
    )
    assert uploaded.status_code == 201
    checkpoint.refresh_from_db()
    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint.uuid,
        access_level=3,
        expires_at=timezone.now() + timedelta(days=1),
        sha256=checkpoint.sha256,
    )
    return checkpoint


def finished_analysis(actor: Any, checkpoint: Any, capture: Any) -> AnalysisRequest:
    """A succeeded LLC analysis with sealed metrics and one plot, as a worker would leave it."""
    with capture(execute=False):
        request = analysis_request_create(
            actor=principal_for(actor), checkpoint_uuid=checkpoint.uuid, kind="llc", params={}
        )
    AnalysisRequest.objects.filter(pk=request.pk).update(state="succeeded")
    request.refresh_from_db()
    result = AnalysisResult(request=request)
    result.metrics_sealed = seal_text(
        org=checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        text=json.dumps({"metrics": {"llc_mean": 1.0}, "seconds": 1}),
    )
    result.save()
    _store_plot(request, "loss_trace", PNG)
    return request


_PER_REQUEST = re.compile(rb'(nonce=|value=|"X-CSRFToken": )"[A-Za-z0-9+/=_-]{20,}"')


def normalised_answer(status: int, content: bytes, location: str, object_id: str) -> tuple[int, bytes, str]:
    """An answer with the id it was asked about (and per-request nonces and CSRF tokens) blanked,
    so that the answer for a real object and for a random id compare equal exactly when the
    caller cannot tell them apart."""
    blank = object_id.encode()
    body = _PER_REQUEST.sub(rb'\1"-"', content.replace(blank, b"<id>"))
    return status, body, location.replace(object_id, "<id>")
