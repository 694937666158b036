"""Findings: three independent axes (audience, TLP 2.0 label, hazard tier), immutable revisions,
threaded comments, expiring grants. Titles, bodies and comments are sealed (encrypted) text."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from interlock.crypto.fields import SealedTextField
from interlock.network.models import Organisation, SharingGroup


class Label(models.TextChoices):
    """TLP 2.0. Not a ladder: AMBER+STRICT is a narrower audience than AMBER, not a 'higher' one."""

    RED = "red", "TLP:RED"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    AMBER = "amber", "TLP:AMBER"
    GREEN = "green", "TLP:GREEN"
    CLEAR = "clear", "TLP:CLEAR"


class FindingState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SHARED = "shared", "Shared"
    IN_REVIEW = "in_review", "In review"
    DISCLOSED = "disclosed", "Disclosed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Finding(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="findings")
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_findings")
    label = models.CharField(max_length=16, choices=Label.choices, default=Label.AMBER_STRICT)
    hazard_tier = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=16, choices=FindingState.choices, default=FindingState.DRAFT)
    tags = models.ManyToManyField(Tag, related_name="findings", blank=True)
    # the audience set
    audience_own_org = models.BooleanField(default=False)
    audience_network = models.BooleanField(default=False)
    audience_groups = models.ManyToManyField(SharingGroup, related_name="findings", blank=True)
    current_revision = models.ForeignKey(
        "FindingRevision", null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["label", "state"]),
            models.Index(fields=["owner_org", "state"]),
            # lists walk this index newest-first and stop after a page of visible rows
            models.Index(fields=["-updated_at", "-id"], name="finding_newest_first"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(hazard_tier__lte=3), name="hazard_tier_0_to_3"),
        ]
        permissions = [("read_finding", "Read the finding"), ("comment_finding", "Comment on the finding")]

    def __str__(self) -> str:
        return str(self.uuid)


class FindingRevision(models.Model):
    """Immutable: reviews, releases and exports pin a revision, never 'latest'."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    title_sealed = SealedTextField()
    body_sealed = SealedTextField()
    content_sha256 = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["finding_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["finding", "number"], name="one_revision_number_per_finding")
        ]

    def __str__(self) -> str:
        return f"{self.finding_id} r{self.number}"


class Comment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body_sealed = SealedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return str(self.uuid)


class Capability(models.TextChoices):
    READ = "read_finding", "Read"
    COMMENT = "comment_finding", "Read and comment"


class FindingGrant(UserObjectPermissionBase):
    """A named person's explicit grant (guardian's direct foreign-key table, cascading), with our
    own expiry, grantor and reason. Our policy decides; guardian only stores."""

    content_object = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="grants")
    expires_at = models.DateTimeField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "expires_at"])]


class FindingGroupRecipient(models.Model):
    """An organisation a sharing group reached when the finding was shared with it.

    A share binds the group's membership at that moment: an organisation added to the group
    later never receives what was shared before (SECURITY.md, "nobody widens what others
    shared"); one removed from the group stops receiving it. Sharing again re-binds, after the
    share dialog has shown the author who receives it.
    """

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="group_recipients")
    group = models.ForeignKey(SharingGroup, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    bound_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "group", "organisation"], name="one_binding_per_group_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.finding_id} via {self.group_id} to {self.organisation_id}"
