"""Analysis requests, leased in PostgreSQL (the broker is only a doorbell), and their results."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from interlock.checkpoints.models import Checkpoint
from interlock.crypto.fields import SealedTextField


class AnalysisState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class AnalysisRequest(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="analyses")
    approval_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    params = models.JSONField()
    dataset = models.JSONField()
    # An organisation's own dataset, when the request uses one (`dataset` then describes it as
    # {"name": "uploaded", "id", "format", "params"}): the result's audience is narrowed to its.
    uploaded_dataset = models.ForeignKey(
        "datasets.UploadedDataset", null=True, blank=True, on_delete=models.PROTECT, related_name="analyses"
    )
    state = models.CharField(max_length=16, choices=AnalysisState.choices, default=AnalysisState.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    # The class of the exception that failed the job for good (`IndexError`), as the worker
    # reported it; empty while it has not failed, or when it failed without one (refused at
    # claim time, lost worker). `message` holds the public line of its message.
    error_class = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    ticket_id = models.UUIDField(null=True, blank=True, unique=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the current ticket was sent: the sweeper re-sends a queued job only once its last
    # ticket is older than the lease, so a long backlog does not fill the queue with dead tickets.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    queue = models.CharField(max_length=40, blank=True)
    # the strictest tier among the inputs: the result's audience is the intersection of theirs
    hazard_tier = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "lease_expires_at"]),
            models.Index(fields=["state", "dispatched_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.checkpoint_id} ({self.state})"


class AnalysisInput(models.Model):
    """The checkpoints a request runs on, in order: one, or a whole training series."""

    request = models.ForeignKey(AnalysisRequest, on_delete=models.CASCADE, related_name="inputs")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="+")
    approval_id = models.BigIntegerField()
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="analysis_input_position_unique"),
            models.UniqueConstraint(
                fields=["request", "checkpoint"], name="analysis_input_checkpoint_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"input {self.position} of {self.request_id}"


class AnalysisResult(models.Model):
    """One result per request (a re-run after a crash cannot record a second)."""

    request = models.OneToOneField(AnalysisRequest, on_delete=models.PROTECT, related_name="result")
    metrics_sealed = SealedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"result of {self.request_id}"


class ReleaseTarget(models.TextChoices):
    SHARING_GROUP = "sharing_group", "A sharing group"
    NETWORK = "network", "The whole network"


class ReleaseState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class OutputRelease(models.Model):
    """Widening who sees an analysis's results beyond its result audience: approved by two
    stewards from organisations other than the requester's (one reject closes it)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    analysis = models.ForeignKey(AnalysisRequest, on_delete=models.PROTECT, related_name="releases")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=16, choices=ReleaseTarget.choices)
    target_group = models.ForeignKey(
        "network.SharingGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=2000)
    state = models.CharField(max_length=16, choices=ReleaseState.choices, default=ReleaseState.PENDING)
    # A release to a sharing group reaches the organisations in it when it was approved (ids);
    # one added to the group later never receives it, one that leaves stops receiving it.
    bound_organisations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"release of {self.analysis_id} to {self.target} ({self.state})"


class OutputReleaseVote(models.Model):
    release = models.ForeignKey(OutputRelease, on_delete=models.CASCADE, related_name="votes")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("network.Organisation", on_delete=models.PROTECT, related_name="+")
    approve = models.BooleanField()
    rationale = models.CharField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "person"], name="one_vote_per_person")]

    def __str__(self) -> str:
        return f"{'approve' if self.approve else 'reject'} on {self.release_id}"
