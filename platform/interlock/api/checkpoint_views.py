"""Checkpoint endpoints: register (the file then goes to /api/v1/artifacts/), read, approve, revoke;
and the registry of analysis kinds."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from analysis_workers.datasets import registry as dataset_registry
from analysis_workers.kinds import registry
from interlock.access import Action, visible
from interlock.accounts.requests import principal_of
from interlock.api.permissions import require_recent_reauthentication
from interlock.api.serializers import validated_input
from interlock.checkpoints import services
from interlock.checkpoints.access import access_checkpoint_by_id
from interlock.checkpoints.models import Checkpoint
from interlock.core.inputs import StrictSerializer


class RegisterInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    spec = serializers.JSONField()
    hazard_tier = serializers.IntegerField(min_value=0, max_value=3, default=0)
    series = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)


class ApproveInput(StrictSerializer):
    access_level = serializers.IntegerField(min_value=1, max_value=3)
    expires_at = serializers.DateTimeField()
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")


class RevokeInput(StrictSerializer):
    reason = serializers.CharField(max_length=500)


def checkpoint_body(checkpoint: Checkpoint) -> dict[str, Any]:
    approval = services.checkpoint_current_approval(checkpoint)
    return {
        "id": str(checkpoint.uuid),
        "name": checkpoint.name,
        "owner_org": str(checkpoint.owner_org.uuid),
        "spec": checkpoint.spec,
        "hazard_tier": checkpoint.hazard_tier,
        "series": checkpoint.series,
        "position": checkpoint.position,
        "state": checkpoint.state,
        "sha256": checkpoint.sha256 or None,
        "artifact": str(checkpoint.artifact.uuid) if checkpoint.artifact else None,
        "approval": None
        if approval is None
        else {
            "access_level": approval.access_level,
            "expires_at": approval.expires_at,
            "sha256": approval.sha256,
        },
        "allowed_kinds": services.checkpoint_allowed_kinds(checkpoint),
    }


class CheckpointListApi(GenericAPIView):
    serializer_class = RegisterInput

    @extend_schema(operation_id="checkpoints_list", responses=dict)
    def get(self, request: Request) -> Response:
        queryset = visible(principal_of(request), Checkpoint.objects.select_related("owner_org", "artifact"))
        page = self.paginate_queryset(queryset.order_by("-created_at"))
        return self.get_paginated_response([checkpoint_body(c) for c in page or []])

    @extend_schema(operation_id="checkpoints_register", request=RegisterInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = validated_input(RegisterInput, request)
        checkpoint = services.checkpoint_register(actor=principal_of(request), **data)
        return Response(checkpoint_body(checkpoint), status=status.HTTP_201_CREATED)


class CheckpointDetailApi(GenericAPIView):
    serializer_class = RegisterInput

    @extend_schema(operation_id="checkpoints_read", responses=dict)
    def get(self, request: Request, checkpoint_id: str) -> Response:
        return Response(
            checkpoint_body(access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW))
        )


class CheckpointApproveApi(GenericAPIView):
    serializer_class = ApproveInput

    @extend_schema(operation_id="checkpoints_approve", request=ApproveInput, responses=dict)
    def post(self, request: Request, checkpoint_id: str) -> Response:
        data = validated_input(ApproveInput, request)
        require_recent_reauthentication(request, "Approving a checkpoint")
        services.checkpoint_approve(actor=principal_of(request), checkpoint_uuid=checkpoint_id, **data)
        checkpoint = access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW)
        return Response(checkpoint_body(checkpoint))


class CheckpointRevokeApi(GenericAPIView):
    serializer_class = RevokeInput

    @extend_schema(operation_id="checkpoints_revoke", request=RevokeInput, responses=dict)
    def post(self, request: Request, checkpoint_id: str) -> Response:
        data = validated_input(RevokeInput, request)
        services.checkpoint_revoke(
            actor=principal_of(request), checkpoint_uuid=checkpoint_id, reason=data["reason"]
        )
        checkpoint = access_checkpoint_by_id(principal_of(request), checkpoint_id, action=Action.VIEW)
        return Response(checkpoint_body(checkpoint))


class AnalysisKindListApi(GenericAPIView):
    serializer_class = RevokeInput

    @extend_schema(operation_id="analysis_kinds_list", responses=dict)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "kinds": [kind.as_json() for kind in registry().values()],
                "datasets": [dataset.as_json() for dataset in dataset_registry().values()],
            }
        )
