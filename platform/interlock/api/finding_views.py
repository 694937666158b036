"""Finding endpoints: list/search with facets, read, revise, share (with a preview), grants,
comments, readers, withdraw, export, notifications. Thin: services and selectors do the work."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from interlock.access import Action, can, visible
from interlock.accounts.requests import principal_of
from interlock.api.permissions import require_recent_reauthentication
from interlock.api.serializers import ReasonInput, validated_input
from interlock.api.serializers import findings as f
from interlock.audit.events import Event
from interlock.audit.services import audit_record
from interlock.core.errors import NotFound
from interlock.core.query_params import QueryParams
from interlock.findings import selectors, services
from interlock.findings.access import access_finding_by_id
from interlock.findings.models import FindingState, Label
from interlock.findings.read_audit import record_content_read
from interlock.findings.rules import Audience
from interlock.findings.selectors import (
    MAX_PAGE,
    FindingFilters,
    finding_list,
    finding_titles,
    revision_text,
)
from interlock.notifications.models import Notification


def _filters(request: Request) -> FindingFilters:
    query = QueryParams(request.query_params)
    filters = FindingFilters.from_query(query)
    query.done()
    return filters


class FindingListApi(GenericAPIView):
    serializer_class = f.FindingListPageSerializer

    @extend_schema(operation_id="findings_list", responses={200: f.FindingListPageSerializer})
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
        listed = {
            "count": page.count,
            "count_is_lower_bound": page.count_is_lower_bound,
            "page": page_number,
            "results": page.findings,
            "facets": page.facets,
        }
        context = {"titles": finding_titles(page.findings)}
        return Response(f.FindingListPageSerializer(listed, context=context).data)

    @extend_schema(
        operation_id="findings_create",
        request=f.FindingCreateInput,
        responses={201: f.FindingStateSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(f.FindingCreateInput, request)
        finding = services.finding_create(actor=principal_of(request), **data)
        return Response(f.FindingStateSerializer(finding).data, status=status.HTTP_201_CREATED)


class FindingDetailApi(GenericAPIView):
    serializer_class = f.FindingDetailSerializer

    @extend_schema(operation_id="findings_read", responses={200: f.FindingDetailSerializer})
    def get(self, request: Request, finding_id: str) -> Response:
        principal = principal_of(request)
        finding, text = selectors.finding_read(actor=principal, finding_uuid=finding_id)
        context = {"texts": {finding.pk: text}, "show_audience": bool(can(principal, Action.SHARE, finding))}
        return Response(f.FindingDetailSerializer(finding, context=context).data)


class FindingRevisionsApi(GenericAPIView):
    serializer_class = f.RevisionSerializer
    pagination_class = None  # every revision, in order

    @extend_schema(operation_id="findings_revisions_list", responses={200: f.RevisionSerializer(many=True)})
    def get(self, request: Request, finding_id: str) -> Response:
        finding = access_finding_by_id(principal_of(request), finding_id, action=Action.VIEW)
        revisions = finding.revisions.select_related("author").order_by("number")
        return Response(f.RevisionSerializer(revisions, many=True).data)

    @extend_schema(
        operation_id="findings_revise", request=f.RevisionInput, responses={201: f.RevisionCreatedSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(f.RevisionInput, request)
        revision = services.finding_revise(actor=principal_of(request), finding_uuid=finding_id, **data)
        return Response(f.RevisionCreatedSerializer(revision).data, status=201)


class FindingRevisionDetailApi(GenericAPIView):
    serializer_class = f.RevisionDetailSerializer

    @extend_schema(operation_id="findings_revision_read", responses={200: f.RevisionDetailSerializer})
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
        opened = {
            "number": number,
            "title": text.title,
            "body": text.body,
            "content_sha256": revision.content_sha256,
            "diff_from_previous": diff,
        }
        return Response(f.RevisionDetailSerializer(opened).data)


class FindingShareApi(GenericAPIView):
    serializer_class = f.FindingSharedSerializer

    @extend_schema(
        operation_id="findings_share", request=f.ShareInput, responses={200: f.FindingSharedSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(f.ShareInput, request)
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
        return Response(f.FindingSharedSerializer(finding).data)


class FindingSharePreviewApi(GenericAPIView):
    serializer_class = f.SharePreviewSerializer

    @extend_schema(
        operation_id="findings_share_preview", request=f.ShareInput, responses={200: f.SharePreviewSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        """Exactly who will be able to read the finding with this label and audience — before saving."""
        data = validated_input(f.ShareInput, request)
        audience = Audience(
            data["audience_own_org"], data["audience_network"], tuple(str(g) for g in data["groups"])
        )
        preview = selectors.audience_preview(
            actor=principal_of(request), finding_uuid=finding_id, label=data["label"], audience=audience
        )
        shown = {
            "count": preview.count,
            "readers": [p for p in preview.readers if p.organisation is not None],
            "hidden_members": [
                {"organisation": name, "people": people} for name, people in sorted(preview.hidden.items())
            ],
        }
        return Response(f.SharePreviewSerializer(shown).data)


class FindingGrantsApi(GenericAPIView):
    serializer_class = f.GrantSerializer
    pagination_class = None  # every grant on the finding

    @extend_schema(operation_id="findings_grants_list", responses={200: f.GrantSerializer(many=True)})
    def get(self, request: Request, finding_id: str) -> Response:
        finding = access_finding_by_id(principal_of(request), finding_id, action=Action.GRANT)
        grants = finding.grants.select_related("user", "permission", "granted_by")
        return Response(f.GrantSerializer(grants, many=True).data)

    @extend_schema(
        operation_id="findings_grant", request=f.GrantInput, responses={201: f.GrantCreatedSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(f.GrantInput, request)
        grant = services.finding_grant(
            actor=principal_of(request),
            finding_uuid=finding_id,
            person_uuid=data["person"],
            capability=data["capability"],
            expires_at=data["expires_at"],
            reason=data["reason"],
        )
        created = {"person": data["person"], "expires_at": grant.expires_at}
        return Response(f.GrantCreatedSerializer(created).data, status=201)


class FindingGrantDetailApi(GenericAPIView):
    serializer_class = f.GrantSerializer

    @extend_schema(operation_id="findings_grant_revoke", responses={204: None})
    def delete(self, request: Request, finding_id: str, person_id: str) -> Response:
        services.finding_revoke_grant(
            actor=principal_of(request), finding_uuid=finding_id, person_uuid=person_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class FindingWithdrawApi(GenericAPIView):
    serializer_class = f.FindingStateSerializer

    @extend_schema(
        operation_id="findings_withdraw", request=ReasonInput, responses={200: f.FindingStateSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(ReasonInput, request)
        finding = services.finding_withdraw(
            actor=principal_of(request), finding_uuid=finding_id, reason=data["reason"]
        )
        return Response(f.FindingStateSerializer(finding).data)


class FindingCommentsApi(GenericAPIView):
    serializer_class = f.CommentSerializer
    pagination_class = None  # the whole thread

    @extend_schema(operation_id="findings_comments_list", responses={200: f.CommentSerializer(many=True)})
    def get(self, request: Request, finding_id: str) -> Response:
        principal = principal_of(request)
        finding = access_finding_by_id(principal, finding_id, action=Action.VIEW)
        comments = finding.comments.select_related("author", "parent")
        record_content_read(principal, finding, via="comments", revision=None)
        return Response(f.CommentSerializer(comments, many=True, context={"finding": finding}).data)

    @extend_schema(
        operation_id="findings_comment", request=f.CommentInput, responses={201: f.CommentCreatedSerializer}
    )
    def post(self, request: Request, finding_id: str) -> Response:
        data = validated_input(f.CommentInput, request)
        comment = services.comment_create(
            actor=principal_of(request),
            finding_uuid=finding_id,
            body=data["body"],
            parent_uuid=data.get("parent"),
        )
        return Response(f.CommentCreatedSerializer(comment).data, status=201)


class FindingReadersApi(GenericAPIView):
    serializer_class = f.FindingReaderSerializer
    pagination_class = None  # the newest 500 reads, from the audit log

    @extend_schema(operation_id="findings_readers", responses={200: f.FindingReaderSerializer(many=True)})
    def get(self, request: Request, finding_id: str) -> Response:
        reads = selectors.finding_readers(actor=principal_of(request), finding_uuid=finding_id)
        return Response(f.FindingReaderSerializer(reads, many=True).data)


class FindingExportApi(GenericAPIView):
    serializer_class = f.FindingExportSerializer

    @extend_schema(operation_id="findings_export", responses={200: f.FindingExportSerializer})
    def get(self, request: Request) -> Response:
        """Every visible finding's current revision, pinned by hash. Audited; RED content excluded."""
        principal = principal_of(request)
        page = finding_list(principal=principal, filters=_filters(request), limit=1000, facets=False)
        exported, texts = [], {}
        for finding in page.findings:
            if (
                finding.label == Label.RED
                or finding.state == FindingState.WITHDRAWN
                or finding.current_revision is None
            ):
                continue
            texts[finding.pk] = revision_text(finding.current_revision, finding)
            record_content_read(principal, finding, via="export", revision=finding.current_revision.number)
            exported.append(finding)
        with transaction.atomic():
            audit_record(actor=principal, event=Event.FINDING_EXPORTED, extra={"count": len(exported)})
        return Response(f.FindingExportSerializer({"findings": exported}, context={"texts": texts}).data)


class NotificationListApi(GenericAPIView):
    serializer_class = f.NotificationSerializer
    pagination_class = None  # the newest 200

    @extend_schema(operation_id="notifications_list", responses={200: f.NotificationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        notes = visible(principal_of(request), Notification.objects.all())[:200]
        return Response(f.NotificationSerializer(notes, many=True).data)
