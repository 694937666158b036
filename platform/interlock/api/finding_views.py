"""Finding endpoints: list/search with facets, read, revise, share (with a preview), grants,
comments, readers, withdraw, export, notifications. Thin: services and selectors do the work."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import Action, can, visible
from interlock.accounts.requests import principal_of
from interlock.api.permissions import require_recent_reauthentication
from interlock.api.serializers import ReasonInput, validated_input
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import NotFound
from interlock.core.inputs import StrictSerializer
from interlock.core.query_params import QueryParams
from interlock.findings import selectors, services
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import Capability, Finding, FindingState, Label, Notification
from interlock.findings.read_audit import record_content_read
from interlock.findings.rules import Audience
from interlock.findings.selectors import (
    MAX_PAGE,
    FindingFilters,
    comment_text,
    finding_list,
    finding_titles,
    group_receivers,
    revision_text,
)


class FindingCreateInput(StrictSerializer):
    title = serializers.CharField(max_length=services.MAX_TITLE)
    body = serializers.CharField(max_length=services.MAX_BODY, allow_blank=True)
    label = serializers.ChoiceField(choices=Label.choices, default=Label.AMBER_STRICT)  # type: ignore[assignment]
    hazard_tier = serializers.IntegerField(min_value=0, max_value=3, default=0)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20, default=list)


class RevisionInput(StrictSerializer):
    title = serializers.CharField(max_length=services.MAX_TITLE)
    body = serializers.CharField(max_length=services.MAX_BODY, allow_blank=True)


class ShareInput(StrictSerializer):
    label = serializers.ChoiceField(choices=Label.choices)  # type: ignore[assignment]
    audience_own_org = serializers.BooleanField(default=False)
    audience_network = serializers.BooleanField(default=False)
    groups = serializers.ListField(child=serializers.UUIDField(), max_length=50, default=list)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20, required=False)


class GrantInput(StrictSerializer):
    person = serializers.UUIDField()
    capability = serializers.ChoiceField(choices=Capability.choices)
    expires_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500)


class CommentInput(StrictSerializer):
    body = serializers.CharField(max_length=20_000)
    parent = serializers.UUIDField(required=False, allow_null=True)  # type: ignore[assignment]


def finding_summary(finding: Finding, title: str) -> dict[str, Any]:
    return {
        "id": str(finding.uuid),
        "title": title,
        "label": finding.label,
        "label_display": finding.get_label_display(),
        "hazard_tier": finding.hazard_tier,
        "state": finding.state,
        "owner_org": {"id": str(finding.owner_org.uuid), "name": finding.owner_org.name},
        "authors": getattr(finding, "author_list", None)
        or [{"id": str(a.uuid), "name": a.display_name} for a in finding.authors.all()],
        "tags": getattr(finding, "tag_names", None) or sorted(t.name for t in finding.tags.all()),
        "revision": finding.current_revision.number if finding.current_revision else None,
        "updated_at": finding.updated_at,
    }


def _filters(request: Request) -> FindingFilters:
    query = QueryParams(request.query_params)
    filters = FindingFilters.from_query(query)
    query.done()
    return filters


class FindingListApi(GenericAPIView):
    serializer_class = FindingCreateInput

    @extend_schema(operation_id="findings_list", responses=dict)
    def get(self, request: Request) -> Response:
        """Visible findings, newest first. `count` stops at 1,000 (`count_is_lower_bound`); facet
        counts over what the caller may see with `?facets=1`."""
        principal = principal_of(request)
        query = QueryParams(request.query_params)
        filters = FindingFilters.from_query(query)
        page_number = query.integer("page", default=1, minimum=1, maximum=MAX_PAGE)
        # larger sizes are cut to 200, as DRF's own pagination does
        size = min(query.integer("page_size", default=50, minimum=1, maximum=1_000_000), 200)
        query.done()
        want_facets = request.query_params.get("facets") in ("1", "true")
        page = finding_list(
            principal=principal,
            filters=filters,
            offset=(page_number - 1) * size,
            limit=size,
            facets=want_facets,
        )
        titles = finding_titles(page.findings)
        return Response(
            {
                "count": page.count,
                "count_is_lower_bound": page.count_is_lower_bound,
                "page": page_number,
                "results": [finding_summary(f, titles.get(f.pk, "")) for f in page.findings],
                "facets": page.facets,
            }
        )

    @extend_schema(operation_id="findings_create", request=FindingCreateInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = validated_input(FindingCreateInput, request)
        finding = services.finding_create(actor=principal_of(request), **data)
        return Response({"id": str(finding.uuid), "state": finding.state}, status=status.HTTP_201_CREATED)


class FindingDetailApi(GenericAPIView):
    serializer_class = FindingCreateInput

    @extend_schema(operation_id="findings_read", responses=dict)
    def get(self, request: Request, finding_id: str) -> Response:
        principal = principal_of(request)
        finding, text = selectors.finding_read(actor=principal, finding_uuid=finding_id)
        body = finding_summary(finding, text.title)
        body["body"] = text.body
        body["content_sha256"] = text.revision.content_sha256
        if can(principal, Action.SHARE, finding):
            body["audience"] = {
                "own_org": finding.audience_own_org,
                "network": finding.audience_network,
                "groups": [str(g.uuid) for g in finding.audience_groups.all()],
                # who the groups reach: the organisations bound when it was shared, still in the group
                "group_organisations": group_receivers(finding),
            }
        return Response(body)


class FindingRevisionsApi(GenericAPIView):
    serializer_class = RevisionInput

    @extend_schema(operation_id="findings_revisions_list", responses=dict)
    def get(self, request: Request, finding_id: str) -> Response:
        finding = access_finding_by_id(principal_of(request), finding_id, action=Action.VIEW)
        revisions = finding.revisions.select_related("author").order_by("number")
        return Response(
            [
                {
                    "number": r.number,
                    "content_sha256": r.content_sha256,
                    "author": r.author.display_name,
                    "created_at": r.created_at,
                }
                for r in revisions
            ]
        )

    @extend_schema(operation_id="findings_revise", request=RevisionInput, responses={201: dict})
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(RevisionInput, request)
        revision = services.finding_revise(actor=principal_of(request), finding_uuid=finding_id, **data)
        return Response({"number": revision.number, "content_sha256": revision.content_sha256}, status=201)


class FindingRevisionDetailApi(GenericAPIView):
    serializer_class = RevisionInput

    @extend_schema(operation_id="findings_revision_read", responses=dict)
    def get(self, request: Request, finding_id: str, number: int) -> Response:
        principal = principal_of(request)
        finding = access_finding_by_id(principal, finding_id, action=Action.VIEW)
        revision = finding.revisions.filter(number=number).first()
        if revision is None:
            raise NotFound
        text = revision_text(revision, finding)
        record_content_read(principal, finding, via="revision", revision=number)
        diff = None
        if number > 1:
            previous = finding.revisions.get(number=number - 1)
            diff = selectors.revision_diff(revision_text(previous, finding), text)
            record_content_read(principal, finding, via="diff", revision=number - 1)
        return Response(
            {
                "number": number,
                "title": text.title,
                "body": text.body,
                "content_sha256": revision.content_sha256,
                "diff_from_previous": diff,
            }
        )


class FindingShareApi(GenericAPIView):
    serializer_class = ShareInput

    @extend_schema(operation_id="findings_share", request=ShareInput, responses=dict)
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(ShareInput, request)
        if data["label"] == Label.RED:
            require_recent_reauthentication(request, "Sharing TLP:RED")
        audience = Audience(
            data["audience_own_org"], data["audience_network"], tuple(str(g) for g in data["groups"])
        )
        finding = services.finding_share(
            actor=principal_of(request),
            finding_uuid=finding_id,
            label=data["label"],
            audience=audience,
            tags=data.get("tags"),
        )
        return Response({"id": str(finding.uuid), "label": finding.label, "state": finding.state})


class FindingSharePreviewApi(GenericAPIView):
    serializer_class = ShareInput

    @extend_schema(operation_id="findings_share_preview", request=ShareInput, responses=dict)
    def post(self, request: Request, finding_id: str) -> Response:
        """Exactly who will be able to read the finding with this label and audience — before saving."""
        data = validated_input(ShareInput, request)
        audience = Audience(
            data["audience_own_org"], data["audience_network"], tuple(str(g) for g in data["groups"])
        )
        preview = selectors.audience_preview(
            actor=principal_of(request), finding_uuid=finding_id, label=data["label"], audience=audience
        )
        return Response(
            {
                "count": preview.count,
                "readers": [
                    {"id": str(p.uuid), "name": p.display_name, "organisation": p.organisation.name}
                    for p in preview.readers
                    if p.organisation is not None
                ],
                "hidden_members": [
                    {"organisation": name, "people": people}
                    for name, people in sorted(preview.hidden.items())
                ],
            }
        )


class FindingGrantsApi(GenericAPIView):
    serializer_class = GrantInput

    @extend_schema(operation_id="findings_grants_list", responses=dict)
    def get(self, request: Request, finding_id: str) -> Response:
        finding = access_finding_by_id(principal_of(request), finding_id, action=Action.GRANT)
        return Response(
            [
                {
                    "person": str(g.user.uuid),
                    "name": g.user.display_name,
                    "capability": g.permission.codename,
                    "expires_at": g.expires_at,
                    "reason": g.reason,
                    "granted_by": g.granted_by.display_name,
                }
                for g in finding.grants.select_related("user", "permission", "granted_by")
            ]
        )

    @extend_schema(operation_id="findings_grant", request=GrantInput, responses={201: dict})
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(GrantInput, request)
        grant = services.finding_grant(
            actor=principal_of(request),
            finding_uuid=finding_id,
            person_uuid=data["person"],
            capability=data["capability"],
            expires_at=data["expires_at"],
            reason=data["reason"],
        )
        return Response({"person": str(data["person"]), "expires_at": grant.expires_at}, status=201)


class FindingGrantDetailApi(GenericAPIView):
    serializer_class = GrantInput

    @extend_schema(operation_id="findings_grant_revoke", responses={204: None})
    def delete(self, request: Request, finding_id: str, person_id: str) -> Response:
        services.finding_revoke_grant(
            actor=principal_of(request), finding_uuid=finding_id, person_uuid=person_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class FindingWithdrawApi(GenericAPIView):
    serializer_class = ReasonInput

    @extend_schema(operation_id="findings_withdraw", request=ReasonInput, responses=dict)
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(ReasonInput, request)
        finding = services.finding_withdraw(
            actor=principal_of(request), finding_uuid=finding_id, reason=data["reason"]
        )
        return Response({"id": str(finding.uuid), "state": finding.state})


class FindingCommentsApi(GenericAPIView):
    serializer_class = CommentInput

    @extend_schema(operation_id="findings_comments_list", responses=dict)
    def get(self, request: Request, finding_id: str) -> Response:
        principal = principal_of(request)
        finding = access_finding_by_id(principal, finding_id, action=Action.VIEW)
        comments = finding.comments.select_related("author", "parent")
        record_content_read(principal, finding, via="comments", revision=None)
        return Response(
            [
                {
                    "id": str(c.uuid),
                    "parent": str(c.parent.uuid) if c.parent else None,
                    "author": c.author.display_name,
                    "body": comment_text(c, finding),
                    "created_at": c.created_at,
                }
                for c in comments
            ]
        )

    @extend_schema(operation_id="findings_comment", request=CommentInput, responses={201: dict})
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(CommentInput, request)
        comment = services.comment_create(
            actor=principal_of(request),
            finding_uuid=finding_id,
            body=data["body"],
            parent_uuid=data.get("parent"),
        )
        return Response({"id": str(comment.uuid)}, status=201)


class FindingReadersApi(GenericAPIView):
    serializer_class = ReasonInput

    @extend_schema(operation_id="findings_readers", responses=dict)
    def get(self, request: Request, finding_id: str) -> Response:
        return Response(selectors.finding_readers(actor=principal_of(request), finding_uuid=finding_id))


class FindingExportApi(GenericAPIView):
    serializer_class = ReasonInput

    @extend_schema(operation_id="findings_export", responses=dict)
    def get(self, request: Request) -> Response:
        """Every visible finding's current revision, pinned by hash. Audited; RED content excluded."""
        principal = principal_of(request)
        page = finding_list(principal=principal, filters=_filters(request), limit=1000, facets=False)
        exported = []
        for finding in page.findings:
            if (
                finding.label == Label.RED
                or finding.state == FindingState.WITHDRAWN
                or finding.current_revision is None
            ):
                continue
            text = revision_text(finding.current_revision, finding)
            record_content_read(principal, finding, via="export", revision=finding.current_revision.number)
            exported.append(
                {
                    **finding_summary(finding, text.title),
                    "body": text.body,
                    "content_sha256": finding.current_revision.content_sha256,
                }
            )
        with transaction.atomic():
            audit_record(actor=principal, event=Event.FINDING_EXPORTED, extra={"count": len(exported)})
        return Response({"findings": exported})


class NotificationListApi(GenericAPIView):
    serializer_class = ReasonInput

    @extend_schema(operation_id="notifications_list", responses=dict)
    def get(self, request: Request) -> Response:
        notes = visible(principal_of(request), Notification.objects.all())[:200]
        return Response(
            [
                {
                    "kind": n.kind,
                    "finding": str(n.finding_uuid) if n.finding_uuid else None,
                    "created_at": n.created_at,
                    "read": n.read_at is not None,
                }
                for n in notes
            ]
        )
