"""Analysis pages: the generated request form of each kind, the live progress of a job (htmx),
its results, a re-run with changed parameters, two analyses side by side, metrics as CSV and JSON.

The views parse and render; `analysis_request_create` decides what may run on what, and the
policy (`interlock.access`) who may see or do it."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis_workers.kinds import registry
from interlock.access import Action, Principal, can, visible
from interlock.access.lookups import parse_uuid
from interlock.accounts.requests import principal_of
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.selectors import (
    analysis_dataset_choices,
    analysis_metrics,
    analysis_queue_position,
    analysis_reliability,
)
from interlock.analyses.services.requester import analysis_cancel, analysis_request_create
from interlock.artifacts.models import Artifact
from interlock.artifacts.selectors import artifact_plaintext
from interlock.artifacts.services import artifact_download_begin
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.models import Checkpoint
from interlock.checkpoints.selectors import checkpoint_runnable_kinds
from interlock.core.errors import ApplicationError, InvalidState, NotFound, PolicyDenied
from interlock.web.analysis_form import compare_rows, form_fields, metrics_csv, parse_fields
from interlock.web.pages import member_required


@member_required
def analyses_view(request: HttpRequest) -> HttpResponse:
    """The signed-in person's analyses; the checkpoints they run on have their own pages."""
    principal = principal_of(request)
    mine = visible(principal, AnalysisRequest.objects.filter(requester=principal.person))
    return render(
        request,
        "web/analyses/list.html",
        {"analyses": mine.select_related("checkpoint")[:100]},
    )


def _request_form_context(
    request: HttpRequest,
    checkpoint: Checkpoint,
    kind: str,
    *,
    values: dict[str, Any],
    dataset: tuple[str, dict[str, Any]] | None,
    typed: dict[str, str] | None = None,
    errors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The generated form of one kind on one checkpoint: its params' fields and, per dataset on
    offer, a choice with its own fields (defaults fitted to the model, or what was typed)."""
    principal = principal_of(request)
    errors = errors or {}
    kinds = registry()
    choices = analysis_dataset_choices(principal=principal, checkpoint=checkpoint, kind=kind)
    chosen_key, chosen_params = dataset or ("", {})
    offered = [choice for choice in choices if choice.misfit is None]
    if not chosen_key and offered:
        chosen_key = offered[0].key
    datasets = [
        {
            "choice": choice,
            "checked": choice.key == chosen_key,
            "fields": form_fields(
                choice.schema,
                chosen_params if choice.key == chosen_key and chosen_params else choice.defaults,
                prefix=f"{choice.key}.",
                typed=typed,
                errors=errors.get("dataset_fields", {}) if choice.key == chosen_key else {},
            ),
        }
        for choice in choices
    ]
    return {
        "checkpoint": checkpoint,
        "kind": kinds[kind],
        "kinds": [kinds[name] for name in checkpoint_runnable_kinds(checkpoint)],
        "fields": form_fields(
            kinds[kind].params_schema,
            values,
            prefix="p.",
            typed=typed,
            errors=errors.get("params_fields", {}),
        ),
        "datasets": datasets,
        "errors": errors,
        "gpu": bool(settings.ANALYSIS_GPU_QUEUE),
        "device": (typed or {}).get("device", "cpu"),
        "rerun_of": request.GET.get("from", ""),
    }


@member_required
def analysis_new_view(request: HttpRequest, checkpoint_id: str) -> HttpResponse:
    """One form per analysis kind, generated from the kind's params schema and the datasets that
    fit the model; `?from=<analysis>` prefills it from an earlier analysis of this checkpoint."""
    principal = principal_of(request)
    checkpoint = access_checkpoint_by_id(principal, checkpoint_id, action=Action.ANALYSE)
    runnable = checkpoint_runnable_kinds(checkpoint)
    if not runnable:
        raise PolicyDenied("This checkpoint has no current approval for an analysis that runs on it.")
    if request.method == "POST":
        return _analysis_submit(request, checkpoint)
    values: dict[str, Any] = {}
    dataset = None
    kind = request.GET.get("kind", "")
    if request.GET.get("from"):
        earlier = access_analysis_by_id(principal, request.GET["from"])
        if earlier.checkpoint_id != checkpoint.pk:
            raise NotFound
        kind, values = earlier.kind, dict(earlier.params)
        dataset = _dataset_key(earlier.dataset)
    if kind not in runnable:
        kind = runnable[0]
    if not values:
        values = {name: spec.get("default") for name, spec in registry()[kind].params_schema.items()}
    context = _request_form_context(request, checkpoint, kind, values=values, dataset=dataset)
    return render(request, "web/analyses/new.html", context)


def _dataset_key(recorded: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The form's key and params of a request's recorded dataset."""
    if recorded.get("id"):
        return f"uploaded:{recorded['id']}", dict(recorded.get("params") or {})
    return f"builtin:{recorded.get('name', '')}", dict(recorded.get("params") or {})


def _analysis_submit(request: HttpRequest, checkpoint: Checkpoint) -> HttpResponse:
    """Parse the generated form; refused input comes back with an error next to its field."""
    principal = principal_of(request)
    posted = {key: str(value) for key, value in request.POST.items()}
    kind = posted.get("kind", "")
    if kind not in checkpoint_runnable_kinds(checkpoint):
        raise PolicyDenied("This analysis is not allowed on this checkpoint.")
    params, param_errors = parse_fields(registry()[kind].params_schema, posted, prefix="p.")
    choices = analysis_dataset_choices(principal=principal, checkpoint=checkpoint, kind=kind)
    key = posted.get("dataset", "")
    choice = next((c for c in choices if c.key == key), None)
    errors: dict[str, Any] = {"params_fields": param_errors}
    dataset_params: dict[str, Any] = {}
    if choice is None:
        errors["dataset"] = ["choose one of the datasets offered"]
    else:
        dataset_params, errors["dataset_fields"] = parse_fields(choice.schema, posted, prefix=f"{key}.")
    if not param_errors and choice is not None and not errors["dataset_fields"]:
        source, name = key.split(":", 1)
        dataset = (
            {"id": name, "params": dataset_params}
            if source == "uploaded"
            else {"name": name, "params": dataset_params}
        )
        try:
            created = analysis_request_create(
                actor=principal,
                checkpoint_uuid=checkpoint.uuid,
                kind=kind,
                params=params,
                dataset=dataset,
                device=posted.get("device", "cpu"),
            )
        except NotFound:
            raise
        except ApplicationError as refusal:
            errors.update(refusal.extra)
            errors["form"] = [refusal.message]
        else:
            return redirect("web:analysis", created.uuid)
    context = _request_form_context(
        request, checkpoint, kind, values=params, dataset=(key, dataset_params), typed=posted, errors=errors
    )
    return render(request, "web/analyses/new.html", context, status=400)


def _context(request: HttpRequest, analysis_id: str) -> dict[str, object]:
    principal = principal_of(request)
    analysis = access_analysis_by_id(principal, analysis_id)
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
        "queue_position": analysis_queue_position(analysis),
        "can_cancel": analysis.state in ("queued", "running")
        and bool(can(principal, Action.CANCEL, analysis)),
        "can_rerun": bool(can(principal, Action.ANALYSE, analysis.checkpoint)),
        "compare_with": _comparable(principal, analysis) if metrics else [],
    }


def _comparable(principal: Principal, analysis: AnalysisRequest) -> list[AnalysisRequest]:
    """Other finished analyses of the same kind the principal may see, newest first."""
    others = visible(principal, AnalysisRequest.objects.filter(kind=analysis.kind, state="succeeded"))
    return list(others.exclude(pk=analysis.pk).select_related("checkpoint")[:50])


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
def analysis_compare_view(request: HttpRequest) -> HttpResponse:
    """Two finished analyses of one kind side by side: their parameters, datasets and metrics."""
    principal = principal_of(request)
    left = access_analysis_by_id(principal, request.GET.get("a", ""))
    right = access_analysis_by_id(principal, request.GET.get("b", ""))
    if left.kind != right.kind:
        raise ApplicationError(f"Compare two analyses of one kind, not {left.kind} and {right.kind}.")
    left_metrics, right_metrics = analysis_metrics(left) or {}, analysis_metrics(right) or {}
    params = compare_rows(
        {"params": left.params, "dataset": left.dataset}, {"params": right.params, "dataset": right.dataset}
    )
    context = {
        "left": left,
        "right": right,
        "params": params,
        "metrics": compare_rows(left_metrics, right_metrics),
        "finished": bool(left_metrics and right_metrics),
    }
    return render(request, "web/analyses/compare.html", context)


@member_required
def analysis_metrics_view(request: HttpRequest, analysis_id: str, fmt: str) -> HttpResponse:
    """The metrics of a finished analysis as a download: JSON as recorded, or CSV (`metric,value`)."""
    if fmt not in ("json", "csv"):
        raise NotFound
    analysis = access_analysis_by_id(principal_of(request), analysis_id, action=Action.DOWNLOAD)
    metrics = analysis_metrics(analysis)
    if metrics is None:
        raise InvalidState("This analysis has no results yet.")
    if fmt == "json":
        body, media_type = json.dumps(metrics, indent=1, sort_keys=True), "application/json"
    else:
        body, media_type = metrics_csv(metrics), "text/csv"
    response = HttpResponse(body, content_type=f"{media_type}; charset=utf-8")
    filename = f"{analysis.kind}-{analysis.uuid}.{fmt}"
    response["Content-Disposition"] = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{filename}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@member_required
def analysis_status_view(request: HttpRequest, analysis_id: str) -> HttpResponse:
    """The htmx partial the detail page polls every two seconds while the job runs."""
    return render(request, "web/analyses/_status.html", _context(request, analysis_id))
