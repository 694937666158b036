"""Artifact endpoints: streamed encrypted upload (multipart or raw body) and streamed download."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import Action
from interlock.accounts.requests import principal_of
from interlock.api.serializers.artifacts import ArtifactSerializer
from interlock.artifacts.access import access_artifact_by_id
from interlock.artifacts.http import download_response, receive_multipart, receive_raw
from interlock.artifacts.parents import resolve_parent
from interlock.artifacts.selectors import artifact_list
from interlock.core.errors import ApplicationError


class PassThroughParser(BaseParser):
    """Accepts multipart and raw bodies without reading them: the view streams them itself."""

    media_type = "*/*"

    def parse(
        self, stream: object, media_type: str | None = None, parser_context: object = None
    ) -> dict[str, str]:
        return {}


PARENT_PARAMS = [
    OpenApiParameter("parent_type", str, required=True, description="e.g. library, finding, checkpoint"),
    OpenApiParameter("parent_id", str, required=True),
]


class ArtifactListApi(GenericAPIView):
    serializer_class = ArtifactSerializer
    parser_classes = [PassThroughParser]

    @extend_schema(
        operation_id="artifacts_list", parameters=PARENT_PARAMS, responses=ArtifactSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        queryset = artifact_list(
            principal=principal_of(request),
            parent_type=request.query_params.get("parent_type", ""),
            parent_id=request.query_params.get("parent_id", ""),
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ArtifactSerializer(page, many=True).data)

    @extend_schema(
        operation_id="artifacts_upload",
        parameters=[*PARENT_PARAMS, OpenApiParameter("filename", str, required=False)],
        request={"multipart/form-data": OpenApiTypes.BINARY, "application/octet-stream": OpenApiTypes.BINARY},
        responses={201: ArtifactSerializer},
    )
    def post(self, request: Request) -> Response:
        """Upload one file, encrypted as it arrives. The parent is authorised before the body is read."""
        principal = principal_of(request)
        parent = resolve_parent(
            principal,
            request.query_params.get("parent_type", ""),
            request.query_params.get("parent_id", ""),
            Action.ATTACH,
        )
        content_type = request.content_type or ""
        if content_type.startswith("multipart/form-data"):
            artifact = receive_multipart(request._request, actor=principal, parent=parent)
        elif content_type.startswith("application/octet-stream"):
            length = request.META.get("CONTENT_LENGTH") or ""
            if length and not (length.isascii() and length.isdigit()):
                raise ApplicationError(
                    "Content-Length must be a number of bytes.", {"Content-Length": ["a whole number"]}
                )
            artifact = receive_raw(
                request._request,
                actor=principal,
                parent=parent,
                filename=request.query_params.get("filename", "upload.bin"),
                media_type="application/octet-stream",
                length=int(length) if length else None,
            )
        else:
            raise ApplicationError(
                "Send multipart/form-data with a 'file' field, or an application/octet-stream body."
            )
        return Response(ArtifactSerializer(artifact).data, status=status.HTTP_201_CREATED)


class ArtifactDetailApi(GenericAPIView):
    serializer_class = ArtifactSerializer

    def get(self, request: Request, artifact_id: str) -> Response:
        return Response(ArtifactSerializer(access_artifact_by_id(principal_of(request), artifact_id)).data)


class ArtifactContentApi(GenericAPIView):
    serializer_class = ArtifactSerializer

    @extend_schema(
        operation_id="artifacts_content", responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, artifact_id: str) -> StreamingHttpResponse:
        principal = principal_of(request)
        artifact = access_artifact_by_id(principal, artifact_id, action=Action.DOWNLOAD)
        return download_response(actor=principal, artifact=artifact)
