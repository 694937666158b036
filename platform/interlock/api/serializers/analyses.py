"""Serializers of the analysis endpoints: an analysis request with its progress, metrics, plots
and output releases, and the bodies that request, cancel, release and vote on one."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interlock.analyses.models import AnalysisRequest
from interlock.analyses.selectors import analysis_metrics, analysis_reliability
from interlock.artifacts.models import Artifact
from interlock.core.inputs import StrictSerializer

# --- output -------------------------------------------------------------------------------


class AnalysisReleaseSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    target = serializers.CharField()
    state = serializers.CharField()
    approvals = serializers.IntegerField(
        source="approving_organisations", help_text="How many organisations have approved so far."
    )


class AnalysisPlotSerializer(serializers.Serializer):
    """A plot of the analysis: an artifact, downloaded through /api/v1/artifacts/{id}/content/."""

    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField(source="filename")
    size = serializers.IntegerField()


class AnalysisSummarySerializer(serializers.Serializer):
    """An analysis as lists show it: no metrics (reading them opens each sealed result)."""

    id = serializers.UUIDField(source="uuid")
    checkpoint = serializers.UUIDField(source="checkpoint.uuid")
    checkpoint_name = serializers.CharField(source="checkpoint.name")
    kind = serializers.CharField()
    dataset = serializers.JSONField(help_text="As in the analysis itself; null for the kind's default.")
    state = serializers.CharField()
    progress = serializers.FloatField()
    device = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ReliabilityReasonSerializer(serializers.Serializer):
    diagnostic = serializers.CharField(
        help_text="The check that failed: divergences, r_hat, trend, negative, ceiling, gradient "
        "(or unjudged, for a result computed before the checks existed)."
    )
    value = serializers.FloatField(allow_null=True, help_text="What was measured.")
    threshold = serializers.FloatField(allow_null=True, help_text="The limit it crossed.")
    message = serializers.CharField(help_text="What failed, in words.")
    advice = serializers.CharField(help_text="What to change in the next request.")
    checkpoint = serializers.CharField(
        required=False, help_text="For a series: the checkpoint (its position or name) it concerns."
    )


class ReliabilitySerializer(serializers.Serializer):
    reliable = serializers.BooleanField(
        help_text="False: do not quote the λ̂ of this result as a number; the reasons say why."
    )
    reasons = ReliabilityReasonSerializer(many=True)


class AnalysisSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    checkpoint = serializers.UUIDField(source="checkpoint.uuid")
    kind = serializers.CharField()
    params = serializers.JSONField(help_text="The kind's validated parameters (see /api/v1/analysis-kinds/).")
    dataset = serializers.JSONField(
        help_text="The dataset and its parameters, or null for the kind's default; an organisation's "
        'own upload is {"name": "uploaded", "id", "format", "params"}.'
    )
    state = serializers.CharField()
    progress = serializers.FloatField()
    message = serializers.CharField(
        help_text="The latest progress note; once failed, one public line saying why (no worker paths or keys)."
    )
    error_class = serializers.CharField(
        help_text="The class of the exception that failed the analysis (e.g. IndexError, AnalysisInputError); "
        "empty unless it failed with one."
    )
    attempts = serializers.IntegerField()
    device = serializers.CharField()
    queue = serializers.CharField()
    worker_host = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    inputs = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    reliability = serializers.SerializerMethodField()
    releases = serializers.SerializerMethodField()
    plots = serializers.SerializerMethodField()

    def get_inputs(self, request: AnalysisRequest) -> list[str]:
        """Every checkpoint the analysis read (more than one for a series)."""
        return [str(item.checkpoint.uuid) for item in request.inputs.select_related("checkpoint")]

    @extend_schema_field(
        serializers.JSONField(
            allow_null=True, help_text="The kind's metrics once the analysis succeeded; null before."
        )
    )
    def get_metrics(self, request: AnalysisRequest) -> dict[str, Any] | None:
        return self._metrics(request)

    @extend_schema_field(
        ReliabilitySerializer(
            allow_null=True,
            help_text="The verdict on the result's λ̂ (LLC kinds; essential_dynamics for its λ̂ overlay): "
            "reliable, or unreliable with each failed diagnostic, its value, threshold and advice. "
            "Null for kinds without an LLC, and before the analysis succeeded.",
        )
    )
    def get_reliability(self, request: AnalysisRequest) -> dict[str, Any] | None:
        return analysis_reliability(self._metrics(request))

    def _metrics(self, request: AnalysisRequest) -> dict[str, Any] | None:
        """Opened once per analysis, for both `metrics` and `reliability`."""
        opened: dict[int, dict[str, Any] | None] = self.__dict__.setdefault("_opened", {})
        if request.pk not in opened:
            opened[request.pk] = analysis_metrics(request) if request.state == "succeeded" else None
        return opened[request.pk]

    @extend_schema_field(AnalysisReleaseSummarySerializer(many=True))
    def get_releases(self, request: AnalysisRequest) -> list[dict[str, Any]]:
        # one query for every release and its count of approving organisations
        releases = request.releases.annotate(
            approving_organisations=Count("votes__organisation", filter=Q(votes__approve=True), distinct=True)
        )
        return AnalysisReleaseSummarySerializer(releases, many=True).data  # type: ignore[return-value]

    @extend_schema_field(AnalysisPlotSerializer(many=True))
    def get_plots(self, request: AnalysisRequest) -> list[dict[str, Any]]:
        plots = Artifact.objects.filter(parent_type="analysis", parent_id=request.uuid).order_by("filename")
        return AnalysisPlotSerializer(plots, many=True).data  # type: ignore[return-value]


class AnalysisReleaseStateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    state = serializers.CharField()


# --- input --------------------------------------------------------------------------------


class AnalysisInput(StrictSerializer):
    checkpoint = serializers.UUIDField()
    kind = serializers.CharField(max_length=40)
    params = serializers.JSONField(required=False, default=dict)
    dataset = serializers.JSONField(
        required=False,
        default=None,
        help_text='A built-in {"name", "params"}, or an uploaded dataset {"id", "params"} '
        "(see /api/v1/datasets/); null for the kind's default.",
    )
    device = serializers.ChoiceField(choices=["cpu", "gpu"], required=False, default="cpu")


class ReleaseInput(StrictSerializer):
    target = serializers.ChoiceField(choices=["sharing_group", "network"])
    group = serializers.UUIDField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=2000)


class ReleaseVoteInput(StrictSerializer):
    approve = serializers.BooleanField()
    rationale = serializers.CharField(max_length=2000)
