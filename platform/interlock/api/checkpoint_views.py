"""Checkpoint endpoints: register (the file then goes to /api/v1/artifacts/), read, approve, revoke;
and the registry of analysis kinds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import registry
from interlock.access import Action, visible
from interlock.accounts.requests import principal_of
from interlock.api.permissions import require_recent_reauthentication
from interlock.api.serializers import checkpoints as c
from interlock.api.serializers import validated_input
from interlock.checkpoints import services
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.models import Checkpoint


class CheckpointListApi(GenericAPIView):
    serializer_class = c.CheckpointSerializer

    @extend_schema(operation_id="checkpoints_list", responses={200: c.CheckpointSerializer(many=True)})
    def get(self, request: Request) -> Response:
        queryset = visible(principal_of(request), Checkpoint.objects.select_related("owner_org", "artifact"))
        page = self.paginate_queryset(queryset.order_by("-created_at"))
        return self.get_paginated_response(c.CheckpointSerializer(page or [], many=True).data)

    @extend_schema(
        operation_id="checkpoints_register", request=c.RegisterInput, responses={201: c.CheckpointSerializer}
    )
    def post(self, request: Request) -> Response:
        data = validated_input(c.RegisterInput, request)
        checkpoint = services.checkpoint_register(actor=principal_of(request), **data)
        return Response(c.CheckpointSerializer(checkpoint).data, status=status.HTTP_201_CREATED)


class CheckpointDetailApi(GenericAPIView):
    serializer_class = c.CheckpointSerializer

    @extend_schema(operation_id="checkpoints_read", responses={200: c.CheckpointSerializer})
    def get(self, request: Request, checkpoint_id: str) -> Response:
        checkpoint = access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW)
        return Response(c.CheckpointSerializer(checkpoint).data)


class CheckpointApproveApi(GenericAPIView):
    serializer_class = c.CheckpointSerializer

    @extend_schema(
        operation_id="checkpoints_approve", request=c.ApproveInput, responses={200: c.CheckpointSerializer}
    )
    def post(self, request: Request, checkpoint_id: str) -> Response:
        data = validated_input(c.ApproveInput, request)
        require_recent_reauthentication(request, "Approving a checkpoint")
        services.checkpoint_approve(actor=principal_of(request), checkpoint_uuid=checkpoint_id, **data)
        checkpoint = access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW)
        return Response(c.CheckpointSerializer(checkpoint).data)


class CheckpointRevokeApi(GenericAPIView):
    serializer_class = c.CheckpointSerializer

    @extend_schema(
        operation_id="checkpoints_revoke", request=c.RevokeInput, responses={200: c.CheckpointSerializer}
    )
    def post(self, request: Request, checkpoint_id: str) -> Response:
        data = validated_input(c.RevokeInput, request)
        services.checkpoint_revoke(
            actor=principal_of(request), checkpoint_uuid=checkpoint_id, reason=data["reason"]
        )
        checkpoint = access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW)
        return Response(c.CheckpointSerializer(checkpoint).data)


class AnalysisKindListApi(GenericAPIView):
    serializer_class = c.AnalysisKindRegistrySerializer

    @extend_schema(operation_id="analysis_kinds_list", responses={200: c.AnalysisKindRegistrySerializer})
    def get(self, request: Request) -> Response:
        published = {
            "kinds": [kind.as_json() for kind in registry().values()],
            "datasets": [dataset.as_json() for dataset in dataset_registry().values()],
        }
        return Response(c.AnalysisKindRegistrySerializer(published).data)
