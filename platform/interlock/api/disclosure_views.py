"""Disclosure cases in the API: open, list, read, and one endpoint per action of the transition table."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import sees, visible
from interlock.access.lookups import parse_uuid
from interlock.access.principal import Principal
from interlock.accounts.models import TokenScope
from interlock.accounts.requests import principal_of
from interlock.api.serializers import validated_input
from interlock.core.errors import ApplicationError
from interlock.core.inputs import StrictSerializer
from interlock.disclosure.access import access_case_by_id, open_calls
from interlock.disclosure.models import DisclosureCase, Target, VoteChoice
from interlock.disclosure.selectors import case_body
from interlock.disclosure.services.cases import (
    case_assign,
    case_comment,
    case_declare_conflict,
    case_open,
    case_volunteer,
    case_withdraw,
)
from interlock.disclosure.services.embargo import case_embargo
from interlock.disclosure.services.reviews import case_decide, case_repin, case_vote


class AssessmentInput(StrictSerializer):
    enables = serializers.CharField(max_length=5000)
    generality = serializers.CharField(max_length=5000)
    novelty = serializers.CharField(max_length=5000)
    mitigations = serializers.CharField(max_length=5000)


class OpenInput(StrictSerializer):
    finding = serializers.UUIDField()
    target = serializers.ChoiceField(choices=Target.values)
    group = serializers.UUIDField(required=False, allow_null=True, default=None)
    rationale = serializers.CharField(max_length=10_000)
    assessment = AssessmentInput()
    redacted_title = serializers.CharField(max_length=300, required=False, allow_null=True, default=None)
    redacted_body = serializers.CharField(
        max_length=200_000, required=False, allow_null=True, allow_blank=True, default=None
    )
    embargo_until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ActionInput(StrictSerializer):
    person = serializers.UUIDField(required=False)
    choice = serializers.ChoiceField(choices=VoteChoice.values, required=False)
    rationale = serializers.CharField(max_length=10_000, required=False, default="")
    relation = serializers.CharField(max_length=500, required=False, default="")
    body = serializers.CharField(max_length=10_000, required=False, default="")
    reason = serializers.CharField(max_length=10_000, required=False, default="")
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    redacted_title = serializers.CharField(max_length=300, required=False, allow_null=True, default=None)
    redacted_body = serializers.CharField(
        max_length=200_000, required=False, allow_null=True, allow_blank=True, default=None
    )


class DisclosureListApi(GenericAPIView):
    serializer_class = OpenInput

    @extend_schema(operation_id="disclosures_list", responses=dict)
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        cases = DisclosureCase.objects.select_related("finding")
        listed = (
            open_calls(principal, cases) if request.query_params.get("calls") else visible(principal, cases)
        )
        page = self.paginate_queryset(listed.order_by("-created_at"))
        return self.get_paginated_response(
            [
                {"id": str(c.uuid), "finding": str(c.finding.uuid), "target": c.target, "state": c.state}
                for c in page or []
            ]
        )

    @extend_schema(operation_id="disclosures_open", request=OpenInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = validated_input(OpenInput, request)
        principal = principal_of(request)
        case = case_open(
            actor=principal,
            finding_uuid=data["finding"],
            target=data["target"],
            group_uuid=data["group"],
            rationale=data["rationale"],
            assessment=dict(data["assessment"]),
            redacted_title=data["redacted_title"],
            redacted_body=data["redacted_body"],
            embargo_until=data["embargo_until"],
        )
        return Response(case_body(case, principal), status=status.HTTP_201_CREATED)


class DisclosureDetailApi(GenericAPIView):
    serializer_class = OpenInput

    @extend_schema(operation_id="disclosures_read", responses=dict)
    def get(self, request: Request, case_id: str) -> Response:
        principal = principal_of(request)
        return Response(case_body(access_case_by_id(principal, case_id), principal))


ACTIONS = (
    "assign",
    "volunteer",
    "declare_conflict",
    "comment",
    "vote",
    "repin",
    "decide",
    "embargo_propose",
    "embargo_accept",
    "embargo_revise",
    "embargo_end",
    "withdraw",
)


def perform(principal: Principal, case_id: str, action: str, data: dict[str, Any]) -> None:
    """One action of the transition table on a case the person can see (volunteers need only its id)."""
    if action not in ACTIONS:
        raise ApplicationError("Unknown action.", {"action": [", ".join(ACTIONS)]})
    if action == "assign":
        if "person" not in data:
            raise ApplicationError("Name the reviewer.", {"person": ["required"]})
        case_assign(actor=principal, case_uuid=case_id, person_uuid=data["person"])
    elif action == "volunteer":
        case_volunteer(actor=principal, case_uuid=case_id)
    elif action == "declare_conflict":
        case_declare_conflict(actor=principal, case_uuid=case_id, relation=data.get("relation", ""))
    elif action == "comment":
        case_comment(actor=principal, case_uuid=case_id, body=data.get("body", ""))
    elif action == "vote":
        case_vote(
            actor=principal,
            case_uuid=case_id,
            choice=data.get("choice", ""),
            rationale=data.get("rationale", ""),
        )
    elif action == "repin":
        case_repin(
            actor=principal,
            case_uuid=case_id,
            redacted_title=data.get("redacted_title"),
            redacted_body=data.get("redacted_body"),
        )
    elif action == "decide":
        case_decide(actor=principal, case_uuid=case_id)
    elif action.startswith("embargo_"):
        case_embargo(
            actor=principal,
            case_uuid=case_id,
            action=action,
            until=data.get("until"),
            reason=data.get("reason", ""),
        )
    else:
        case_withdraw(actor=principal, case_uuid=case_id, reason=data.get("reason", ""))


class DisclosureActionApi(GenericAPIView):
    serializer_class = ActionInput
    required_scope = TokenScope.WRITE

    @extend_schema(operation_id="disclosures_act", request=ActionInput, responses=dict)
    def post(self, request: Request, case_id: str, action: str) -> Response:
        principal = principal_of(request)
        perform(principal, case_id, action, validated_input(ActionInput, request))
        case = DisclosureCase.objects.filter(uuid=parse_uuid(case_id)).first()
        if case is not None and principal.reads_content and sees(principal, case):
            return Response(case_body(case, principal))
        # a token that may not read gets no content back; and e.g. the vote that met the quorum
        # also ended this reviewer's access to the case
        state = case.state if case is not None else None
        detail = (
            "Done." if case is not None and sees(principal, case) else "Your access to this case has ended."
        )
        return Response({"id": case_id, "state": state, "detail": detail})
