"""Disclosure cases: widening a finding's audience after review by other organisations.

Modelled on coordinated vulnerability disclosure: a case pins one revision, carries a
rationale, a capability-risk assessment and a proposed redaction, gathers votes from
reviewers of other organisations under a quorum fixed by the network policy, may sit under an
embargo, and is released once, by the scheduler. Every change goes through
`interlock.disclosure.services`, entered through the table in
`interlock.disclosure.transitions`; this module only holds the rows.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from interlock.crypto.fields import SealedTextField
from interlock.findings.models import Finding, FindingRevision
from interlock.network.models import Organisation, SharingGroup


class Target(models.TextChoices):
    SHARING_GROUP = "sharing_group", "A sharing group"
    NETWORK = "network", "The whole network"
    PUBLIC = "public", "The public"


class CaseState(models.TextChoices):
    REVIEW = "review", "Under review"
    APPROVED = "approved", "Approved, awaiting release"
    RELEASED = "released", "Released"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class EmbargoState(models.TextChoices):
    NONE = "none", "No embargo"
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    REVISE = "revise", "Being revised"
    EXITED = "exited", "Ended"


OPEN_STATES = (CaseState.REVIEW, CaseState.APPROVED)


class DisclosureCase(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="disclosure_cases")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=16, choices=Target.choices)
    target_group = models.ForeignKey(SharingGroup, null=True, blank=True, on_delete=models.PROTECT)
    pinned_revision = models.ForeignKey(FindingRevision, on_delete=models.PROTECT, related_name="+")
    pinned_sha256 = models.CharField(max_length=64)
    rationale_sealed = SealedTextField()
    assessment_sealed = SealedTextField()  # JSON: enables, generality, novelty, mitigations
    redacted_title_sealed = SealedTextField()
    redacted_body_sealed = SealedTextField()
    redaction_sha256 = models.CharField(max_length=64)  # hash of the redaction diff
    released_sha256 = models.CharField(max_length=64)  # hash of the redacted text to be released
    state = models.CharField(max_length=16, choices=CaseState.choices, default=CaseState.REVIEW)
    embargo_state = models.CharField(max_length=16, choices=EmbargoState.choices, default=EmbargoState.NONE)
    embargo_until = models.DateTimeField(null=True, blank=True)
    embargo_proposed_until = models.DateTimeField(null=True, blank=True)
    review_deadline = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "embargo_state", "embargo_until"])]

    def __str__(self) -> str:
        return f"disclosure {self.uuid} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Reviewer(models.Model):
    """A person from another organisation reviewing one case, shown to authors as a pseudonym."""

    case = models.ForeignKey(DisclosureCase, on_delete=models.CASCADE, related_name="reviewers")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pseudonym = models.CharField(max_length=40)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    conflicts = models.JSONField(default=list)  # computed when assigned, recomputed at vote time
    declared_conflict = models.CharField(max_length=500, blank=True)
    access_ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="one_reviewer_row_per_person"),
            models.UniqueConstraint(fields=["case", "pseudonym"], name="pseudonyms_unique_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.pseudonym} on {self.case_id}"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_CHANGES = "approve_with_changes", "Approve with changes"
    REJECT = "reject", "Reject"


class Vote(models.Model):
    case = models.ForeignKey(DisclosureCase, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(Reviewer, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(max_length=24, choices=VoteChoice.choices)
    rationale = models.TextField()
    pinned_sha256 = models.CharField(max_length=64)  # the revision the vote was about
    lapsed = models.BooleanField(default=False)  # a new pin lapses earlier votes
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reviewer"], condition=models.Q(lapsed=False), name="one_live_vote_per_reviewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.choice} by {self.reviewer_id}"


class CaseComment(models.Model):
    case = models.ForeignKey(DisclosureCase, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"comment on {self.case_id}"


class PriorAffiliation(models.Model):
    """Where a person worked before: a conflict of interest with that organisation for N years."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    ended_on = models.DateField()

    def __str__(self) -> str:
        return f"{self.person_id} at {self.organisation_id} until {self.ended_on}"


class DecisionRecord(models.Model):
    """Immutable (a database trigger refuses UPDATE and DELETE): the rule applied, by value."""

    case = models.OneToOneField(DisclosureCase, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=16)
    quorum_rule = models.JSONField()
    voters = models.JSONField()  # [{reviewer, person, organisation, choice, rationale}]
    released_sha256 = models.CharField(max_length=64)
    redaction_sha256 = models.CharField(max_length=64)
    policy_version = models.PositiveIntegerField(null=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.outcome} for {self.case_id}"


class PublicRelease(models.Model):
    """What the public page and feeds carry: the released, redacted revision and nothing else."""

    case = models.OneToOneField(DisclosureCase, on_delete=models.PROTECT, related_name="public_release")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=300)
    body = models.TextField()
    sha256 = models.CharField(max_length=64)
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-released_at"]

    def __str__(self) -> str:
        return self.title
