"""Serializers of the artifact endpoints: an encrypted blob's public description (never its key,
never its storage path). Uploads and downloads are streams, not serializers."""

from __future__ import annotations

from rest_framework import serializers

from interlock.artifacts.models import Artifact


class ArtifactSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    owner_org = serializers.UUIDField(source="owner_org.uuid", read_only=True)

    class Meta:
        model = Artifact
        fields = [
            "id",
            "owner_org",
            "parent_type",
            "parent_id",
            "kind",
            "filename",
            "media_type",
            "size",
            "sha256",
            "state",
            "created_at",
        ]
