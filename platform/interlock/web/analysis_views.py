"""Checkpoint and analysis pages: request an approved analysis, follow its progress live (htmx)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import registry
from interlock.access import Action, can, visible
from interlock.access.lookups import parse_uuid
from interlock.accounts.requests import principal_of
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.selectors import analysis_metrics, analysis_reliability
from interlock.analyses.services.requester import analysis_cancel, analysis_request_create
from interlock.artifacts.models import Artifact
from interlock.artifacts.selectors import artifact_plaintext
from interlock.artifacts.services import artifact_download_begin
from interlock.checkpoints.models import Checkpoint
from interlock.checkpoints.selectors import checkpoint_allowed_kinds, checkpoint_current_approval
from interlock.core.errors import ApplicationError, NotFound
from interlock.web.pages import member_required


@member_required
def analyses_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    checkpoints = list(
        visible(principal, Checkpoint.objects.select_related("owner_org")).order_by("-created_at")[:100]
    )
    rows = [
        {"checkpoint": c, "approval": checkpoint_current_approval(c), "kinds": checkpoint_allowed_kinds(c)}
        for c in checkpoints
    ]
    mine = AnalysisRequest.objects.filter(requester=principal.person).select_related("checkpoint")[:50]
    return render(
        request,
        "web/analyses/list.html",
        {"rows": rows, "analyses": mine, "kinds": registry(), "datasets": sorted(dataset_registry())},
    )


@member_required
@require_POST
def analysis_request_view(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    try:
        params = json.loads(request.POST.get("params") or "{}")
        dataset_params = json.loads(request.POST.get("dataset_params") or "{}")
        created = analysis_request_create(
            actor=principal,
            checkpoint_uuid=request.POST.get("checkpoint", ""),
            kind=request.POST.get("kind", ""),
            params=params,
            dataset={"name": request.POST.get("dataset") or "regression", "params": dataset_params},
        )
    except json.JSONDecodeError:
        messages.error(request, 'Parameters must be JSON objects, e.g. {"num_draws": 500}.')
        return redirect("web:analyses")
    except NotFound:
        raise
    except ApplicationError as failure:
        details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in failure.extra.items())
        messages.error(request, f"{failure.message} {details}".strip())
        return redirect("web:analyses")
    return redirect("web:analysis", created.uuid)


def _context(request: HttpRequest, analysis_id: str) -> dict[str, object]:
    analysis = access_analysis_by_id(principal_of(request), analysis_id)
    metrics = analysis_metrics(analysis) if analysis.state == "succeeded" else None
    artifacts = list(
        Artifact.objects.filter(parent_type="analysis", parent_id=analysis.uuid).order_by("filename")
    )
    plots = [a for a in artifacts if a.media_type == "image/png"]
    vectors = [a for a in artifacts if a.media_type == "image/svg+xml"]
    reliability = analysis_reliability(metrics)
    return {
        "analysis": analysis,
        "metrics": metrics,
        "reliability": reliability,
        "failed_checks": {reason["diagnostic"] for reason in reliability["reasons"]}
        if reliability
        else set(),
        # λ̂ per checkpoint: llc_trajectory's rows, or essential_dynamics' λ̂ overlay
        "series_rows": (metrics.get("llc_checkpoints") or metrics.get("checkpoints") or [])
        if metrics
        else [],
        "metrics_json": json.dumps(metrics, indent=1)[:20000] if metrics else "",
        "plots": plots if metrics else [],
        "vectors": vectors if metrics else [],
        "percent": round(analysis.progress * 100),
        "can_cancel": analysis.state in ("queued", "running")
        and bool(can(principal_of(request), Action.CANCEL, analysis)),
    }


@member_required
@require_POST
def analysis_cancel_view(request: HttpRequest, analysis_id: str) -> HttpResponse:
    principal = principal_of(request)
    try:
        analysis_cancel(actor=principal, analysis_uuid=analysis_id)
    except NotFound:
        raise
    except ApplicationError as failure:
        messages.error(request, failure.message)
    return redirect("web:analysis", analysis_id)


@member_required
def analysis_plot_view(request: HttpRequest, analysis_id: str, plot_id: str) -> HttpResponseBase:
    """A plot of the analysis, shown inline as a PNG; authenticated while it streams, audited."""
    principal = principal_of(request)
    analysis = access_analysis_by_id(principal, analysis_id, action=Action.DOWNLOAD)
    artifact = Artifact.objects.filter(
        uuid=parse_uuid(plot_id), parent_type="analysis", parent_id=analysis.uuid, media_type="image/png"
    ).first()
    if artifact is None:
        raise NotFound
    chunks = artifact_plaintext(artifact)
    artifact_download_begin(actor=principal, artifact=artifact)
    response = StreamingHttpResponse(chunks, content_type="image/png")
    response["Content-Length"] = str(artifact.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@member_required
def analysis_view(request: HttpRequest, analysis_id: str) -> HttpResponse:
    return render(request, "web/analyses/detail.html", _context(request, analysis_id))


@member_required
def analysis_status_view(request: HttpRequest, analysis_id: str) -> HttpResponse:
    """The htmx partial the detail page polls every two seconds while the job runs."""
    return render(request, "web/analyses/_status.html", _context(request, analysis_id))
