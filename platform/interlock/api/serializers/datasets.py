"""Serializers of the dataset endpoints: register an organisation's own dataset (its file then goes
to /api/v1/artifacts/ with parent_type=dataset) and read what was pinned from it."""

from __future__ import annotations

from rest_framework import serializers

from interlock.core.inputs import StrictSerializer
from interlock.datasets.models import UploadedDataset

# --- output -------------------------------------------------------------------------------


class DatasetSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    owner_org = serializers.UUIDField(source="owner_org.uuid")
    format = serializers.CharField(help_text="token_ids (safetensors input_ids) or jsonl_text.")
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="amber (the owner organisation) or amber_strict (the uploader)."
    )
    hazard_tier = serializers.IntegerField()
    state = serializers.CharField(help_text="awaiting_upload until its file arrives, then uploaded.")
    sha256 = serializers.SerializerMethodField()
    artifact = serializers.UUIDField(source="artifact.uuid", allow_null=True)
    rows = serializers.IntegerField(allow_null=True, help_text="N, pinned from the file.")
    seq_len = serializers.IntegerField(allow_null=True, help_text="T of a token-id file; null for text.")
    max_token_id = serializers.IntegerField(
        allow_null=True, help_text="The largest token id of a token-id file; null for text."
    )
    attention_mask = serializers.BooleanField(help_text="A token-id file came with an attention_mask.")
    created_at = serializers.DateTimeField()

    def get_sha256(self, dataset: UploadedDataset) -> str | None:
        """Null until the file is uploaded, checked and pinned."""
        return dataset.sha256 or None


# --- input --------------------------------------------------------------------------------


class DatasetRegisterInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    format = serializers.CharField(max_length=16, help_text="token_ids or jsonl_text.")
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=16,
        default="amber_strict",
        help_text="amber_strict (the uploader alone) or amber (the owner organisation's members).",
    )
    hazard_tier = serializers.IntegerField(min_value=0, max_value=3, default=0)
