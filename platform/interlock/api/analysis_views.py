"""Analysis requests: create (checked against the checkpoint's approval), follow, read results."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.accounts.models import TokenScope
from interlock.accounts.requests import principal_of
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.releases import release_request, release_vote
from interlock.analyses.services import analysis_cancel, analysis_metrics, analysis_request_create
from interlock.api.serializers import validated_input
from interlock.artifacts.models import Artifact
from interlock.checkpoints.services import (
    analysis_access_decide,
    analysis_access_pending,
    analysis_access_request,
)
from interlock.core.inputs import StrictSerializer


class AnalysisInput(StrictSerializer):
    checkpoint = serializers.UUIDField()
    kind = serializers.CharField(max_length=40)
    params = serializers.JSONField(required=False, default=dict)
    dataset = serializers.JSONField(required=False, default=None)
    device = serializers.ChoiceField(choices=["cpu", "gpu"], required=False, default="cpu")


def analysis_body(request: AnalysisRequest) -> dict[str, Any]:
    return {
        "id": str(request.uuid),
        "checkpoint": str(request.checkpoint.uuid),
        "kind": request.kind,
        "params": request.params,
        "dataset": request.dataset,
        "state": request.state,
        "progress": request.progress,
        "message": request.message,
        "attempts": request.attempts,
        "device": request.device,
        "queue": request.queue,
        "worker_host": request.worker_host,
        "created_at": request.created_at,
        "started_at": request.started_at,
        "finished_at": request.finished_at,
        "inputs": [str(item.checkpoint.uuid) for item in request.inputs.select_related("checkpoint")],
        "metrics": analysis_metrics(request) if request.state == "succeeded" else None,
        "releases": [
            {
                "id": str(r.uuid),
                "target": r.target,
                "state": r.state,
                "approvals": r.approving_organisations,
            }
            # one query for every release and its count of approving organisations
            for r in request.releases.annotate(
                approving_organisations=Count(
                    "votes__organisation", filter=Q(votes__approve=True), distinct=True
                )
            )
        ],
        "plots": [
            {"id": str(artifact.uuid), "name": artifact.filename, "size": artifact.size}
            for artifact in Artifact.objects.filter(parent_type="analysis", parent_id=request.uuid).order_by(
                "filename"
            )
        ],
    }


class AnalysisListApi(GenericAPIView):
    serializer_class = AnalysisInput
    required_scope = TokenScope.ANALYSES

    @extend_schema(operation_id="analyses_create", request=AnalysisInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = validated_input(AnalysisInput, request)
        created = analysis_request_create(
            actor=principal_of(request),
            checkpoint_uuid=data["checkpoint"],
            kind=data["kind"],
            params=data["params"],
            dataset=data["dataset"],
            device=data["device"],
        )
        return Response(analysis_body(created), status=status.HTTP_201_CREATED)


class AnalysisCancelApi(GenericAPIView):
    serializer_class = AnalysisInput
    required_scope = TokenScope.ANALYSES

    @extend_schema(operation_id="analyses_cancel", request=None, responses=dict)
    def post(self, request: Request, analysis_id: str) -> Response:
        principal = principal_of(request)
        cancelled = analysis_cancel(actor=principal, analysis_uuid=analysis_id)
        return Response(analysis_body(cancelled))


class ReleaseInput(StrictSerializer):
    target = serializers.ChoiceField(choices=["sharing_group", "network"])
    group = serializers.UUIDField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=2000)


class ReleaseVoteInput(StrictSerializer):
    approve = serializers.BooleanField()
    rationale = serializers.CharField(max_length=2000)


class AnalysisReleaseApi(GenericAPIView):
    """The requester asks for an analysis's results to go to a wider audience."""

    serializer_class = ReleaseInput
    required_scope = TokenScope.ANALYSES

    @extend_schema(operation_id="analyses_release", request=ReleaseInput, responses={201: dict})
    def post(self, request: Request, analysis_id: str) -> Response:
        data = validated_input(ReleaseInput, request)
        release = release_request(
            actor=principal_of(request),
            analysis_uuid=analysis_id,
            target=data["target"],
            group_uuid=data["group"],
            reason=data["reason"],
        )
        return Response({"id": str(release.uuid), "state": release.state}, status=status.HTTP_201_CREATED)


class AnalysisReleaseVoteApi(GenericAPIView):
    """A steward of another organisation approves or rejects an output release."""

    serializer_class = ReleaseVoteInput
    required_scope = TokenScope.WRITE

    @extend_schema(operation_id="analysis_releases_vote", request=ReleaseVoteInput, responses=dict)
    def post(self, request: Request, release_id: str) -> Response:
        data = validated_input(ReleaseVoteInput, request)
        release = release_vote(
            actor=principal_of(request),
            release_uuid=release_id,
            approve=data["approve"],
            rationale=data["rationale"],
        )
        return Response({"id": str(release.uuid), "state": release.state})


class AnalysisAccessInput(StrictSerializer):
    checkpoint = serializers.UUIDField()
    reason = serializers.CharField(max_length=1000)


class AnalysisAccessDecision(StrictSerializer):
    approve = serializers.BooleanField()
    days = serializers.IntegerField(required=False, default=30)


class AnalysisAccessListApi(GenericAPIView):
    """Ask another organisation for analysis access to one of its checkpoints; admins list pending asks."""

    serializer_class = AnalysisAccessInput
    required_scope = TokenScope.ANALYSES

    @extend_schema(operation_id="analysis_access_request", request=AnalysisAccessInput, responses={202: dict})
    def post(self, request: Request) -> Response:
        data = validated_input(AnalysisAccessInput, request)
        analysis_access_request(
            actor=principal_of(request),
            checkpoint_uuid=data["checkpoint"],
            reason=data["reason"],
        )
        return Response(
            {
                "status": "submitted",
                "detail": "If that checkpoint exists, its organisation's admins were asked.",
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(operation_id="analysis_access_pending", responses=dict)
    def get(self, request: Request) -> Response:
        pending = analysis_access_pending(actor=principal_of(request))
        return Response(
            {
                "results": [
                    {
                        "id": str(grant.uuid),
                        "checkpoint": str(grant.checkpoint.uuid),
                        "checkpoint_name": grant.checkpoint.name,
                        "grantee": grant.grantee.display_name,
                        "grantee_org": grant.grantee.organisation.name
                        if grant.grantee.organisation
                        else None,
                        "grantee_clearance": grant.grantee.effective_clearance(),
                        "reason": grant.reason,
                        "created_at": grant.created_at,
                    }
                    for grant in pending
                ]
            }
        )


class AnalysisAccessDecideApi(GenericAPIView):
    serializer_class = AnalysisAccessDecision
    required_scope = TokenScope.WRITE

    @extend_schema(operation_id="analysis_access_decide", request=AnalysisAccessDecision, responses=dict)
    def post(self, request: Request, grant_id: str) -> Response:
        data = validated_input(AnalysisAccessDecision, request)
        grant = analysis_access_decide(
            actor=principal_of(request),
            grant_uuid=grant_id,
            approve=data["approve"],
            days=data["days"],
        )
        return Response({"id": str(grant.uuid), "state": grant.state, "expires_at": grant.expires_at})


class AnalysisDetailApi(GenericAPIView):
    serializer_class = AnalysisInput
    required_scope = TokenScope.READ

    @extend_schema(operation_id="analyses_read", responses=dict)
    def get(self, request: Request, analysis_id: str) -> Response:
        return Response(analysis_body(access_analysis_by_id(principal_of(request), analysis_id)))
