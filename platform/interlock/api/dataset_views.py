"""Dataset endpoints: register an organisation's own dataset (the file then goes to
/api/v1/artifacts/?parent_type=dataset&parent_id=ID), list those one may see, read one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import Action
from interlock.accounts.requests import principal_of
from interlock.api.serializers import datasets as d
from interlock.api.serializers import validated_input
from interlock.datasets import services
from interlock.datasets.access import access_dataset_by_id
from interlock.datasets.selectors import dataset_list


class DatasetListApi(GenericAPIView):
    serializer_class = d.DatasetSerializer

    @extend_schema(operation_id="datasets_list", responses={200: d.DatasetSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(dataset_list(principal=principal_of(request)))
        return self.get_paginated_response(d.DatasetSerializer(page or [], many=True).data)

    @extend_schema(
        operation_id="datasets_register", request=d.DatasetRegisterInput, responses={201: d.DatasetSerializer}
    )
    def post(self, request: Request) -> Response:
        data = validated_input(d.DatasetRegisterInput, request)
        dataset = services.dataset_register(
            actor=principal_of(request),
            name=data["name"],
            file_format=data["format"],
            label=data["label"],
            hazard_tier=data["hazard_tier"],
        )
        return Response(d.DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(GenericAPIView):
    serializer_class = d.DatasetSerializer

    @extend_schema(operation_id="datasets_read", responses={200: d.DatasetSerializer})
    def get(self, request: Request, dataset_id: str) -> Response:
        dataset = access_dataset_by_id(principal_of(request), dataset_id, action=Action.VIEW)
        return Response(d.DatasetSerializer(dataset).data)
