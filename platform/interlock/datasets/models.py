"""An organisation's own datasets: an uploaded file (token ids or JSONL text), encrypted like
every artifact, with an owner organisation, a TLP label, a hazard tier and the facts pinned from
the file when it arrived (its SHA-256, rows, T, largest token id).

The label is one that fits an audience inside the owner organisation: TLP:AMBER+STRICT (the
uploader alone, the dataset's one named person) or TLP:AMBER (the owner organisation's members).
TLP:RED needs named people with expiring grants, which datasets do not have; GREEN and CLEAR would
tell recipients they may pass on what the platform keeps inside the organisation. Both are refused
when a dataset is registered.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from interlock.artifacts.models import Artifact
from interlock.network.models import Organisation


class DatasetFormat(models.TextChoices):
    TOKEN_IDS = "token_ids", "Token ids (safetensors input_ids, optional attention_mask)"
    JSONL_TEXT = "jsonl_text", "Text, one JSON object a line (tokenised on the worker)"


class DatasetLabel(models.TextChoices):
    """The TLP 2.0 labels a dataset may carry (the values of `findings.models.Label`)."""

    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    AMBER = "amber", "TLP:AMBER"


class DatasetState(models.TextChoices):
    AWAITING_UPLOAD = "awaiting_upload", "Awaiting upload"
    UPLOADED = "uploaded", "Uploaded"


class UploadedDataset(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="datasets")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    format = models.CharField(max_length=16, choices=DatasetFormat.choices)
    label = models.CharField(max_length=16, choices=DatasetLabel.choices, default=DatasetLabel.AMBER_STRICT)
    hazard_tier = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        max_length=20, choices=DatasetState.choices, default=DatasetState.AWAITING_UPLOAD
    )
    artifact = models.OneToOneField(
        Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(max_length=64, blank=True)
    # pinned from the file when it arrived (analysis_workers.datasets.uploaded.DatasetFacts)
    rows = models.PositiveIntegerField(null=True, blank=True)
    seq_len = models.PositiveIntegerField(null=True, blank=True)
    max_token_id = models.BigIntegerField(null=True, blank=True)
    attention_mask = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hazard_tier__lte=3), name="dataset_hazard_0_to_3"),
            models.CheckConstraint(
                condition=models.Q(label__in=["amber_strict", "amber"]), name="dataset_label_amber_or_strict"
            ),
        ]

    def __str__(self) -> str:
        return self.name
