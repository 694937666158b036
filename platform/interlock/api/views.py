"""REST API views for the network: thin — parse, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import NETWORK, Action, can, visible
from interlock.access.principal import Principal
from interlock.accounts import services as account_services
from interlock.accounts.access import access_person_by_id
from interlock.accounts.models import ApiToken, Person
from interlock.accounts.requests import person_of, principal_of
from interlock.api import serializers as s
from interlock.api.permissions import IsNetworkMember, SessionOnly
from interlock.api.schema import ActionSchema
from interlock.api.serializers import network as n
from interlock.audit.events import Event
from interlock.audit.models import AuditEvent
from interlock.audit.services import audit_record
from interlock.core.errors import NotFound
from interlock.core.query_params import QueryParams
from interlock.network import services as network_services
from interlock.network.access import access_organisation_by_id, access_sharing_group_by_id
from interlock.network.models import Organisation, OrganisationStatus, SharingGroup
from interlock.network.selectors import organisation_list, sharing_group_list


class MeApi(GenericAPIView):
    serializer_class = n.PersonSerializer

    def get(self, request: Request) -> Response:
        return Response(n.PersonSerializer(person_of(request)).data)


class OrganisationListApi(GenericAPIView):
    serializer_class = n.OrganisationSerializer

    @extend_schema(operation_id="organisations_list", responses=n.OrganisationSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = QueryParams(request.query_params)
        wanted = query.choice("status", OrganisationStatus.values)
        query.done()
        queryset = organisation_list(principal=principal_of(request), status=wanted)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(n.OrganisationSerializer(page, many=True).data)

    @extend_schema(request=n.OrganisationApplyInput, responses={201: n.OrganisationSerializer})
    def post(self, request: Request) -> Response:
        """Register an applicant organisation (stewards only; two other stewards then activate it)."""
        data = s.validated_input(n.OrganisationApplyInput, request)
        org = network_services.organisation_apply(actor=principal_of(request), **data)
        return Response(n.OrganisationSerializer(org).data, status=status.HTTP_201_CREATED)


class OrganisationDetailApi(GenericAPIView):
    serializer_class = n.OrganisationSerializer

    def get(self, request: Request, org_id: str) -> Response:
        org = access_organisation_by_id(principal_of(request), org_id, action=Action.VIEW)
        return Response(n.OrganisationSerializer(org).data)


class OrganisationMembersApi(GenericAPIView):
    serializer_class = n.PersonSerializer

    @extend_schema(operation_id="organisation_members_list", responses=n.PersonSerializer(many=True))
    def get(self, request: Request, org_id: str) -> Response:
        org = access_organisation_by_id(principal_of(request), org_id, action=Action.VIEW_MEMBERS)
        queryset = visible(principal_of(request), Person.objects.select_related("organisation")).filter(
            organisation=org
        )
        page = self.paginate_queryset(queryset.order_by("display_name"))
        return self.get_paginated_response(n.PersonSerializer(page, many=True).data)


class _ActionApi(GenericAPIView):
    """POST an action on one object: parse the input, call the service, render the object."""

    input_class: type[s.StrictSerializer] = s.EmptyInput
    schema = ActionSchema()

    def act(self, actor: Principal, object_id: str, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def post(self, request: Request, **kwargs: str) -> Response:
        (object_id,) = kwargs.values()
        data = s.validated_input(self.input_class, request)
        return Response(self.get_serializer(self.act(principal_of(request), object_id, data)).data)


class _OrganisationActionApi(_ActionApi):
    serializer_class = n.OrganisationSerializer


class OrganisationApproveApi(_OrganisationActionApi):
    def act(self, actor: Principal, org_id: str, data: dict[str, Any]) -> Organisation:
        return network_services.organisation_approve_activation(actor=actor, org_uuid=org_id)


class OrganisationSuspendApi(_OrganisationActionApi):
    input_class = s.ReasonInput

    def act(self, actor: Principal, org_id: str, data: dict[str, Any]) -> Organisation:
        return network_services.organisation_suspend(actor=actor, org_uuid=org_id, reason=data["reason"])


class OrganisationReinstateApi(_OrganisationActionApi):
    def act(self, actor: Principal, org_id: str, data: dict[str, Any]) -> Organisation:
        return network_services.organisation_reinstate(actor=actor, org_uuid=org_id)


class OrganisationRemoveApi(_OrganisationActionApi):
    def act(self, actor: Principal, org_id: str, data: dict[str, Any]) -> Organisation:
        return network_services.organisation_remove(actor=actor, org_uuid=org_id)


class OrganisationInviteApi(GenericAPIView):
    serializer_class = n.InvitationIssuedSerializer

    @extend_schema(request=n.InvitationInput, responses={201: n.InvitationIssuedSerializer})
    def post(self, request: Request, org_id: str) -> Response:
        data = s.validated_input(n.InvitationInput, request)
        issued = account_services.invitation_create(actor=principal_of(request), org_uuid=org_id, **data)
        return Response(n.InvitationIssuedSerializer(issued).data, status=status.HTTP_201_CREATED)


class PersonListApi(GenericAPIView):
    serializer_class = n.PersonSerializer

    @extend_schema(operation_id="people_list", responses=n.PersonSerializer(many=True))
    def get(self, request: Request) -> Response:
        queryset = visible(principal_of(request), Person.objects.select_related("organisation")).order_by(
            "display_name"
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(n.PersonSerializer(page, many=True).data)


class PersonDetailApi(GenericAPIView):
    serializer_class = n.PersonSerializer

    def get(self, request: Request, person_id: str) -> Response:
        return Response(
            n.PersonSerializer(access_person_by_id(principal_of(request), person_id, action=Action.VIEW)).data
        )


class _PersonActionApi(_ActionApi):
    serializer_class = n.PersonSerializer


class PersonSuspendApi(_PersonActionApi):
    def act(self, actor: Principal, person_id: str, data: dict[str, Any]) -> Person:
        return account_services.person_suspend(actor=actor, person_uuid=person_id)


class PersonReinstateApi(_PersonActionApi):
    def act(self, actor: Principal, person_id: str, data: dict[str, Any]) -> Person:
        return account_services.person_reinstate(actor=actor, person_uuid=person_id)


class PersonRoleApi(_PersonActionApi):
    input_class = n.RoleInput

    def act(self, actor: Principal, person_id: str, data: dict[str, Any]) -> Person:
        return account_services.person_set_role(actor=actor, person_uuid=person_id, role=data["role"])


class PersonClearanceApi(_PersonActionApi):
    input_class = n.ClearanceInput

    def act(self, actor: Principal, person_id: str, data: dict[str, Any]) -> Person:
        return account_services.clearance_set(actor=actor, person_uuid=person_id, clearance=data["clearance"])


class PersonClearanceApproveApi(_PersonActionApi):
    def act(self, actor: Principal, person_id: str, data: dict[str, Any]) -> Person:
        return account_services.clearance_approve(actor=actor, person_uuid=person_id)


def _group_context(principal: Principal, groups: list[SharingGroup]) -> dict[str, Any]:
    return {
        "members_visible": {group.pk: bool(can(principal, Action.VIEW_MEMBERS, group)) for group in groups}
    }


class SharingGroupListApi(GenericAPIView):
    serializer_class = n.SharingGroupSerializer

    @extend_schema(operation_id="sharing_groups_list", responses=n.SharingGroupSerializer(many=True))
    def get(self, request: Request) -> Response:
        queryset = sharing_group_list(principal=principal_of(request)).prefetch_related(
            Prefetch("members", queryset=Organisation.objects.only("uuid"))
        )
        page = list(self.paginate_queryset(queryset) or [])
        serializer = n.SharingGroupSerializer(
            page, many=True, context=_group_context(principal_of(request), page)
        )
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=n.SharingGroupInput, responses={201: n.SharingGroupSerializer})
    def post(self, request: Request) -> Response:
        data = s.validated_input(n.SharingGroupInput, request)
        group = network_services.sharing_group_create(
            actor=principal_of(request),
            name=data["name"],
            member_uuids=data["members"],
            hide_members=data["hide_members"],
        )
        body = n.SharingGroupSerializer(group, context=_group_context(principal_of(request), [group])).data
        return Response(body, status=status.HTTP_201_CREATED)


class SharingGroupDetailApi(GenericAPIView):
    serializer_class = n.SharingGroupSerializer

    def get(self, request: Request, group_id: str) -> Response:
        group = access_sharing_group_by_id(principal_of(request), group_id, action=Action.VIEW)
        return Response(
            n.SharingGroupSerializer(group, context=_group_context(principal_of(request), [group])).data
        )

    @extend_schema(request=n.SharingGroupUpdateInput, responses={200: n.SharingGroupSerializer})
    def patch(self, request: Request, group_id: str) -> Response:
        data = s.validated_input(n.SharingGroupUpdateInput, request)
        group = network_services.sharing_group_update(
            actor=principal_of(request),
            group_uuid=group_id,
            member_uuids=data.get("members"),
            hide_members=data.get("hide_members"),
        )
        return Response(
            n.SharingGroupSerializer(group, context=_group_context(principal_of(request), [group])).data
        )


class AuditEventListApi(GenericAPIView):
    serializer_class = n.AuditEventSerializer

    @extend_schema(operation_id="audit_events_list", responses=n.AuditEventSerializer(many=True))
    def get(self, request: Request) -> Response:
        if not can(principal_of(request), Action.VIEW_AUDIT, NETWORK):
            raise NotFound
        queryset = AuditEvent.objects.order_by("-seq")
        query = QueryParams(request.query_params)
        event = query.text("event", max_length=64)  # older rows may carry names since retired
        query.done()
        if event:
            queryset = queryset.filter(event=event)
        page = self.paginate_queryset(queryset)
        from django.db import transaction

        with transaction.atomic():
            audit_record(
                actor=principal_of(request), event=Event.AUDIT_LOG_VIEWED, extra={"filter": event or ""}
            )
        return self.get_paginated_response(n.AuditEventSerializer(page, many=True).data)


class TokenListApi(GenericAPIView):
    serializer_class = n.TokenSerializer
    permission_classes = [IsAuthenticated, IsNetworkMember, SessionOnly]
    pagination_class = None  # every live token of the caller

    @extend_schema(operation_id="tokens_list", responses={200: n.TokenSerializer(many=True)})
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(person=person_of(request), revoked_at__isnull=True)
        return Response(n.TokenSerializer(tokens, many=True).data)

    @extend_schema(request=n.TokenInput, responses={201: n.TokenIssuedSerializer})
    def post(self, request: Request) -> Response:
        data = s.validated_input(n.TokenInput, request)
        issued = account_services.api_token_create(actor=principal_of(request), **data)
        return Response(n.TokenIssuedSerializer(issued).data, status=status.HTTP_201_CREATED)
