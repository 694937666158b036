"""Reads about analyses: a result's metrics (decrypted), a running job's input blob, a series'
inputs. Reads never import writes: nothing here imports `interlock.analyses.services`."""

from __future__ import annotations

import json
from typing import Any

from interlock.access.lookups import parse_uuid
from interlock.analyses.models import AnalysisInput, AnalysisRequest, AnalysisResult, AnalysisState
from interlock.artifacts.models import Artifact
from interlock.checkpoints.models import Checkpoint, CheckpointFile, CheckpointState
from interlock.core.errors import InvalidState
from interlock.crypto.fields import open_text
from interlock_wire import analysis_result_object_id


def analysis_series_inputs(checkpoint: Checkpoint) -> list[Checkpoint]:
    """The checkpoint's whole series in order (uploaded ones only); just itself if it has none."""
    if not checkpoint.series:
        return [checkpoint]
    return list(
        Checkpoint.objects.select_related("owner_org", "artifact")
        .filter(owner_org=checkpoint.owner_org, series=checkpoint.series, state=CheckpointState.UPLOADED)
        .order_by("position", "created_at")
    )


def analysis_metrics(request: AnalysisRequest) -> dict[str, Any] | None:
    """The result's metrics, opened under the owner org's key (None until a result exists); the
    caller has already decided, through the policy, that the reader may see the analysis."""
    result = AnalysisResult.objects.filter(request=request).first()
    if result is None:
        return None
    text = open_text(
        org=request.checkpoint.owner_org,
        object_id=analysis_result_object_id(request_uuid=request.uuid),
        sealed=result.metrics_sealed,
    )
    stored = json.loads(text)
    return {**stored["metrics"], "seconds": stored.get("seconds")}


# A result that reports λ̂ but no verdict was recorded before the worker judged its estimates.
UNJUDGED = {
    "reliable": False,
    "reasons": [
        {
            "diagnostic": "unjudged",
            "value": None,
            "threshold": None,
            "message": "this result was computed before LLC estimates were judged for reliability",
            "advice": "run the analysis again to get its diagnostics judged",
        }
    ],
}


def analysis_reliability(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The verdict on a result's λ̂ (`{"reliable", "reasons": [{diagnostic, value, threshold,
    message, advice, checkpoint?}]}`, judged on the worker by `analysis_workers.llc.reliability`);
    None for a result without an LLC (interpretability kinds) or without metrics. A result with
    λ̂ but no verdict is unreliable: it is never shown as a plain number."""
    if metrics is None:
        return None
    verdict = metrics.get("reliability")
    if isinstance(verdict, dict):
        return verdict
    rows = metrics.get("checkpoints")
    series_llc = isinstance(rows, list) and any(isinstance(row, dict) and "llc" in row for row in rows)
    if "llc_mean" in metrics or "llc" in metrics or series_llc:
        return UNJUDGED
    return None


def job_blob(*, ticket_id: str, location: str) -> Artifact:
    """One (encrypted) input blob of a running job, for the worker to fetch; only the job's own inputs."""
    request = AnalysisRequest.objects.filter(ticket_id=ticket_id).first()
    if request is None or request.state != AnalysisState.RUNNING:
        raise InvalidState("No running job for this ticket.")
    wanted = parse_uuid(location)
    item = (
        AnalysisInput.objects.select_related("checkpoint__artifact")
        .filter(request=request, checkpoint__artifact__uuid=wanted)
        .first()
    )
    if item is not None and item.checkpoint.artifact is not None:
        return item.checkpoint.artifact
    dataset = request.uploaded_dataset
    if dataset is not None and dataset.artifact is not None and dataset.artifact.uuid == wanted:
        return dataset.artifact  # the job's uploaded dataset
    # a file of a Hugging Face folder checkpoint that is an input of this job
    folder_file = (
        CheckpointFile.objects.select_related("artifact")
        .filter(
            artifact__uuid=wanted,
            checkpoint__in=AnalysisInput.objects.filter(request=request).values("checkpoint"),
        )
        .first()
    )
    if folder_file is None:
        raise InvalidState("That blob is not an input of this job.")
    return folder_file.artifact
