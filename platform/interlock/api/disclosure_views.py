"""Disclosure cases in the API: open, list, read, and one endpoint for every action on a case.

Opening and every action dispatch through their row of the transition table
(`interlock.disclosure.transitions`): the row's input serializer validates the body, the row's
service does the work; the schema shows each action's body as one of the inputs.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import sees, visible
from interlock.access.lookups import parse_uuid
from interlock.accounts.models import TokenScope
from interlock.accounts.requests import principal_of
from interlock.api.serializers import disclosure as d
from interlock.api.serializers import validated_input
from interlock.disclosure.access import access_case_by_id, open_calls
from interlock.disclosure.inputs import DisclosureOpenInput
from interlock.disclosure.models import DisclosureCase
from interlock.disclosure.selectors import case_body
from interlock.disclosure.transitions import CASE_ACTIONS, TRANSITIONS, case_transition

OPEN = TRANSITIONS["open"]
CASE_INPUTS = sorted(
    {TRANSITIONS[action].input for action in CASE_ACTIONS}, key=lambda input_: input_.__name__
)


class DisclosureListApi(GenericAPIView):
    serializer_class = d.CaseSummarySerializer

    @extend_schema(
        operation_id="disclosures_list",
        parameters=[
            OpenApiParameter(
                "calls", str, OpenApiParameter.QUERY, description="Any value: the open calls instead."
            )
        ],
        responses={200: d.CaseSummarySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        cases = DisclosureCase.objects.select_related("finding")
        listed = (
            open_calls(principal, cases) if request.query_params.get("calls") else visible(principal, cases)
        )
        page = self.paginate_queryset(listed.order_by("-created_at"))
        return self.get_paginated_response(d.CaseSummarySerializer(page or [], many=True).data)

    @extend_schema(
        operation_id="disclosures_open", request=DisclosureOpenInput, responses={201: d.CaseSerializer}
    )
    def post(self, request: Request) -> Response:
        """Open a disclosure case on a finding (the `open` row of the transition table)."""
        data = validated_input(OPEN.input, request)
        principal = principal_of(request)
        case = OPEN.service(actor=principal, **data)
        return Response(d.CaseSerializer(case_body(case, principal)).data, status=status.HTTP_201_CREATED)


class DisclosureDetailApi(GenericAPIView):
    serializer_class = d.CaseSerializer

    @extend_schema(operation_id="disclosures_read", responses={200: d.CaseSerializer})
    def get(self, request: Request, case_id: str) -> Response:
        principal = principal_of(request)
        return Response(d.CaseSerializer(case_body(access_case_by_id(principal, case_id), principal)).data)


class DisclosureActionApi(GenericAPIView):
    serializer_class = d.CaseSerializer
    required_scope = TokenScope.WRITE

    @extend_schema(
        operation_id="disclosures_act",
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(CASE_ACTIONS))],
        request=PolymorphicProxySerializer(
            component_name="DisclosureActionInput",
            serializers=CASE_INPUTS,
            resource_type_field_name=None,
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="DisclosureActionAnswer",
                serializers=[d.CaseSerializer, d.CaseActedSerializer],
                resource_type_field_name=None,
            )
        },
    )
    def post(self, request: Request, case_id: str, action: str) -> Response:
        """Take one action of the transition table on a case; the body is that action's input."""
        principal = principal_of(request)
        transition = case_transition(action)
        transition.service(actor=principal, case_uuid=case_id, **validated_input(transition.input, request))
        case = DisclosureCase.objects.filter(uuid=parse_uuid(case_id)).first()
        if case is not None and principal.reads_content and sees(principal, case):
            return Response(d.CaseSerializer(case_body(case, principal)).data)
        # a token that may not read gets no content back; and e.g. the vote that met the quorum
        # also ended this reviewer's access to the case
        state = case.state if case is not None else None
        detail = (
            "Done." if case is not None and sees(principal, case) else "Your access to this case has ended."
        )
        return Response(d.CaseActedSerializer({"id": case_id, "state": state, "detail": detail}).data)
