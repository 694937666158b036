"""Analysis requests: list, create (checked against the checkpoint's approval), follow, read results."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.accounts.models import TokenScope
from interlock.accounts.requests import principal_of
from interlock.analyses.access import access_analysis_by_id
from interlock.analyses.models import AnalysisState
from interlock.analyses.releases import release_request, release_vote
from interlock.analyses.selectors import analysis_list
from interlock.analyses.services.requester import analysis_cancel, analysis_request_create
from interlock.api.serializers import analyses as a
from interlock.api.serializers import checkpoints as c
from interlock.api.serializers import validated_input
from interlock.checkpoints.selectors import analysis_access_pending
from interlock.checkpoints.services import analysis_access_decide, analysis_access_request
from interlock.core.query_params import QueryParams


class AnalysisListApi(GenericAPIView):
    serializer_class = a.AnalysisSerializer
    required_scope = TokenScope.ANALYSES

    @extend_schema(
        operation_id="analyses_list",
        parameters=[
            OpenApiParameter("checkpoint", str, OpenApiParameter.QUERY, description="A checkpoint's id."),
            OpenApiParameter("kind", str, OpenApiParameter.QUERY, description="An analysis kind's name."),
            OpenApiParameter("state", str, OpenApiParameter.QUERY, enum=AnalysisState.values),
        ],
        responses={200: a.AnalysisSummarySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        """The analyses you may see (yours, your organisation's checkpoints', released ones), newest first."""
        query = QueryParams(request.query_params)
        filters = {
            "checkpoint": query.uuid("checkpoint"),
            "kind": query.text("kind", max_length=40),
            "state": query.choice("state", AnalysisState.values),
        }
        query.done()
        page = self.paginate_queryset(analysis_list(principal=principal_of(request), **filters))
        return self.get_paginated_response(a.AnalysisSummarySerializer(page or [], many=True).data)

    @extend_schema(
        operation_id="analyses_create", request=a.AnalysisInput, responses={201: a.AnalysisSerializer}
    )
    def post(self, request: Request) -> Response:
        data = validated_input(a.AnalysisInput, request)
        created = analysis_request_create(
            actor=principal_of(request),
            checkpoint_uuid=data["checkpoint"],
            kind=data["kind"],
            params=data["params"],
            dataset=data["dataset"],
            device=data["device"],
        )
        return Response(a.AnalysisSerializer(created).data, status=status.HTTP_201_CREATED)


class AnalysisCancelApi(GenericAPIView):
    serializer_class = a.AnalysisSerializer
    required_scope = TokenScope.ANALYSES

    @extend_schema(operation_id="analyses_cancel", request=None, responses={200: a.AnalysisSerializer})
    def post(self, request: Request, analysis_id: str) -> Response:
        principal = principal_of(request)
        cancelled = analysis_cancel(actor=principal, analysis_uuid=analysis_id)
        return Response(a.AnalysisSerializer(cancelled).data)


class AnalysisReleaseApi(GenericAPIView):
    """The requester asks for an analysis's results to go to a wider audience."""

    serializer_class = a.AnalysisReleaseStateSerializer
    required_scope = TokenScope.ANALYSES

    @extend_schema(
        operation_id="analyses_release",
        request=a.ReleaseInput,
        responses={201: a.AnalysisReleaseStateSerializer},
    )
    def post(self, request: Request, analysis_id: str) -> Response:
        data = validated_input(a.ReleaseInput, request)
        release = release_request(
            actor=principal_of(request),
            analysis_uuid=analysis_id,
            target=data["target"],
            group_uuid=data["group"],
            reason=data["reason"],
        )
        return Response(a.AnalysisReleaseStateSerializer(release).data, status=status.HTTP_201_CREATED)


class AnalysisReleaseVoteApi(GenericAPIView):
    """A steward of another organisation approves or rejects an output release."""

    serializer_class = a.AnalysisReleaseStateSerializer
    required_scope = TokenScope.WRITE

    @extend_schema(
        operation_id="analysis_releases_vote",
        request=a.ReleaseVoteInput,
        responses={200: a.AnalysisReleaseStateSerializer},
    )
    def post(self, request: Request, release_id: str) -> Response:
        data = validated_input(a.ReleaseVoteInput, request)
        release = release_vote(
            actor=principal_of(request),
            release_uuid=release_id,
            approve=data["approve"],
            rationale=data["rationale"],
        )
        return Response(a.AnalysisReleaseStateSerializer(release).data)


class AnalysisAccessListApi(GenericAPIView):
    """Ask another organisation for analysis access to one of its checkpoints; admins list pending asks."""

    serializer_class = c.AnalysisAccessPendingSerializer
    required_scope = TokenScope.ANALYSES

    @extend_schema(
        operation_id="analysis_access_request",
        request=c.AnalysisAccessInput,
        responses={202: c.AnalysisAccessSubmittedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(c.AnalysisAccessInput, request)
        analysis_access_request(
            actor=principal_of(request),
            checkpoint_uuid=data["checkpoint"],
            reason=data["reason"],
        )
        # the same answer whether or not the checkpoint exists or may be seen
        submitted = {
            "status": "submitted",
            "detail": "If that checkpoint exists, its organisation's admins were asked.",
        }
        return Response(c.AnalysisAccessSubmittedSerializer(submitted).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="analysis_access_pending", responses={200: c.AnalysisAccessPendingSerializer})
    def get(self, request: Request) -> Response:
        pending = analysis_access_pending(actor=principal_of(request))
        return Response(c.AnalysisAccessPendingSerializer({"results": pending}).data)


class AnalysisAccessDecideApi(GenericAPIView):
    serializer_class = c.AnalysisAccessDecidedSerializer
    required_scope = TokenScope.WRITE

    @extend_schema(
        operation_id="analysis_access_decide",
        request=c.AnalysisAccessDecision,
        responses={200: c.AnalysisAccessDecidedSerializer},
    )
    def post(self, request: Request, grant_id: str) -> Response:
        data = validated_input(c.AnalysisAccessDecision, request)
        grant = analysis_access_decide(
            actor=principal_of(request),
            grant_uuid=grant_id,
            approve=data["approve"],
            days=data["days"],
        )
        return Response(c.AnalysisAccessDecidedSerializer(grant).data)


class AnalysisDetailApi(GenericAPIView):
    serializer_class = a.AnalysisSerializer
    required_scope = TokenScope.READ

    @extend_schema(operation_id="analyses_read", responses={200: a.AnalysisSerializer})
    def get(self, request: Request, analysis_id: str) -> Response:
        return Response(a.AnalysisSerializer(access_analysis_by_id(principal_of(request), analysis_id)).data)
