"""Serializers of the finding endpoints: what a finding, its revisions, grants, comments, readers
and the caller's notifications look like on the wire, and the bodies those endpoints accept.

Decrypted text never lives on a model: a view opens it through `interlock.findings.selectors`
and hands it over in the serializer's context (`titles`, `texts`, `finding`), so these
serializers only lay out what the selectors already allowed the caller to read.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interlock.core.inputs import StrictSerializer
from interlock.findings import services
from interlock.findings.models import Capability, Comment, Finding, Label
from interlock.findings.selectors import RevisionText, comment_text, group_receivers
from interlock.notifications.models import Notification

# --- output -------------------------------------------------------------------------------


class FindingOrgRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()


class FindingAuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class FindingSummarySerializer(serializers.Serializer):
    """A finding as lists show it. Context: `titles`, the decrypted title by finding pk."""

    id = serializers.UUIDField(source="uuid")
    title = serializers.SerializerMethodField()
    label = serializers.CharField()  # type: ignore[assignment]
    label_display = serializers.CharField(source="get_label_display")
    hazard_tier = serializers.IntegerField()
    state = serializers.CharField()
    owner_org = FindingOrgRefSerializer()
    authors = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_title(self, finding: Finding) -> str:
        titles: dict[int, str] = self.context["titles"]
        return titles.get(finding.pk, "")

    @extend_schema_field(FindingAuthorSerializer(many=True))
    def get_authors(self, finding: Finding) -> list[dict[str, str]]:
        """The list query's `author_list` annotation when present (one query a page), else a query."""
        return getattr(finding, "author_list", None) or [
            {"id": str(a.uuid), "name": a.display_name} for a in finding.authors.all()
        ]

    def get_tags(self, finding: Finding) -> list[str]:
        return getattr(finding, "tag_names", None) or sorted(t.name for t in finding.tags.all())

    def get_revision(self, finding: Finding) -> int | None:
        return finding.current_revision.number if finding.current_revision else None


class FindingListPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many findings match, counted up to 1,000.")
    count_is_lower_bound = serializers.BooleanField(help_text="True when there are more than `count`.")
    page = serializers.IntegerField()
    results = FindingSummarySerializer(many=True)
    facets = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="With `?facets=1`: counts by label, state, org and tag over what the caller may see; "
        "else empty.",
    )


class FindingAudienceSerializer(serializers.Serializer):
    own_org = serializers.BooleanField(source="audience_own_org")
    network = serializers.BooleanField(source="audience_network")
    groups = serializers.SerializerMethodField()
    group_organisations = serializers.SerializerMethodField(
        help_text="Who the groups reach: the organisations bound when it was shared, still in the group."
    )

    def get_groups(self, finding: Finding) -> list[str]:
        return [str(g.uuid) for g in finding.audience_groups.all()]

    def get_group_organisations(self, finding: Finding) -> list[str]:
        return group_receivers(finding)


class FindingTextSerializer(FindingSummarySerializer):
    """A finding with its current text. Context: `texts`, the opened revision text by finding pk."""

    body = serializers.SerializerMethodField()
    content_sha256 = serializers.SerializerMethodField()

    def _text(self, finding: Finding) -> RevisionText:
        texts: dict[int, RevisionText] = self.context["texts"]
        return texts[finding.pk]

    def get_title(self, finding: Finding) -> str:
        return self._text(finding).title

    def get_body(self, finding: Finding) -> str:
        return self._text(finding).body

    def get_content_sha256(self, finding: Finding) -> str:
        return self._text(finding).revision.content_sha256


class FindingDetailSerializer(FindingTextSerializer):
    """One finding read in full; `audience` only for those who may share it (context `show_audience`)."""

    audience = FindingAudienceSerializer(source="*", required=False)

    def to_representation(self, instance: Finding) -> dict[str, Any]:
        body: dict[str, Any] = super().to_representation(instance)
        if not self.context.get("show_audience"):
            del body["audience"]
        return body


class FindingExportSerializer(serializers.Serializer):
    findings = FindingTextSerializer(many=True)


class FindingStateSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    state = serializers.CharField()


class FindingSharedSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    label = serializers.CharField()  # type: ignore[assignment]
    state = serializers.CharField()


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    content_sha256 = serializers.CharField()
    author = serializers.CharField(source="author.display_name")
    created_at = serializers.DateTimeField()


class RevisionCreatedSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    content_sha256 = serializers.CharField()


class RevisionDetailSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    content_sha256 = serializers.CharField()
    diff_from_previous = serializers.CharField(
        allow_null=True, help_text="A unified diff from the revision before; null for the first."
    )


class PreviewReaderSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField(source="display_name")
    organisation = serializers.CharField(source="organisation.name")


class PreviewHiddenMembersSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    people = serializers.IntegerField(help_text="How many people of a group that hides its members.")


class SharePreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    readers = PreviewReaderSerializer(many=True)
    hidden_members = PreviewHiddenMembersSerializer(many=True)


class GrantSerializer(serializers.Serializer):
    person = serializers.UUIDField(source="user.uuid")
    name = serializers.CharField(source="user.display_name")
    capability = serializers.CharField(source="permission.codename")
    expires_at = serializers.DateTimeField()
    reason = serializers.CharField()
    granted_by = serializers.CharField(source="granted_by.display_name")


class GrantCreatedSerializer(serializers.Serializer):
    person = serializers.UUIDField()
    expires_at = serializers.DateTimeField()


class CommentSerializer(serializers.Serializer):
    """A comment, decrypted. Context: `finding`, the finding it belongs to (its key opens the body)."""

    id = serializers.UUIDField(source="uuid")
    parent = serializers.UUIDField(source="parent.uuid", allow_null=True)  # type: ignore[assignment]
    author = serializers.CharField(source="author.display_name")
    body = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_body(self, comment: Comment) -> str:
        return comment_text(comment, self.context["finding"])


class CommentCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")


class FindingReaderSerializer(serializers.Serializer):
    person = serializers.CharField()
    read_at = serializers.DateTimeField()
    revision = serializers.IntegerField(allow_null=True)


class NotificationSerializer(serializers.Serializer):
    kind = serializers.CharField()
    finding = serializers.UUIDField(source="finding_uuid", allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.SerializerMethodField()

    def get_read(self, note: Notification) -> bool:
        return note.read_at is not None


# --- input --------------------------------------------------------------------------------


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
