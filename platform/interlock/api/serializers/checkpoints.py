"""Serializers of the checkpoint endpoints (register, read, approve, revoke), of the analysis-access
requests another organisation makes on a checkpoint, and of the registry of analysis kinds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interlock.checkpoints import selectors
from interlock.checkpoints.models import AnalysisAccessGrant, Checkpoint, CheckpointApproval
from interlock.core.inputs import StrictSerializer

# --- output -------------------------------------------------------------------------------


class CheckpointApprovalSerializer(serializers.Serializer):
    access_level = serializers.IntegerField(help_text="AL1 black-box, AL2 activations, AL3 weight-level.")
    expires_at = serializers.DateTimeField()
    sha256 = serializers.CharField(help_text="The manifest hash the approval is bound to.")


class CheckpointFileSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The file's name in the Hugging Face folder.")
    sha256 = serializers.CharField(help_text="The SHA-256 declared at registration.")
    size = serializers.IntegerField()
    uploaded = serializers.BooleanField(help_text="Arrived with the declared hash and size.")


class CheckpointSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    owner_org = serializers.UUIDField(source="owner_org.uuid")
    spec = serializers.JSONField(help_text="The architecture spec: a zoo family and its config.")
    hazard_tier = serializers.IntegerField()
    series = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    state = serializers.CharField()
    sha256 = serializers.SerializerMethodField()
    artifact = serializers.UUIDField(source="artifact.uuid", allow_null=True)
    layout = serializers.CharField(help_text="file (one safetensors file) or hf_folder (several files).")
    files = serializers.SerializerMethodField()
    approval = serializers.SerializerMethodField()
    allowed_kinds = serializers.SerializerMethodField()

    def get_sha256(self, checkpoint: Checkpoint) -> str | None:
        """Null until the file (every file of a folder) is uploaded and hashed; a folder's is its
        manifest hash."""
        return checkpoint.sha256 or None

    @extend_schema_field(CheckpointFileSerializer(many=True))
    def get_files(self, checkpoint: Checkpoint) -> list[dict[str, object]]:
        """A folder's declared files, each marked once uploaded; empty for a single file."""
        return CheckpointFileSerializer(selectors.checkpoint_files(checkpoint), many=True).data  # type: ignore[return-value]

    @extend_schema_field(CheckpointApprovalSerializer(allow_null=True))
    def get_approval(self, checkpoint: Checkpoint) -> dict[str, object] | None:
        approval: CheckpointApproval | None = selectors.checkpoint_current_approval(checkpoint)
        return None if approval is None else CheckpointApprovalSerializer(approval).data

    def get_allowed_kinds(self, checkpoint: Checkpoint) -> list[str]:
        return selectors.checkpoint_allowed_kinds(checkpoint)


class AnalysisKindSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    access_level = serializers.IntegerField()
    params_schema = serializers.JSONField(help_text="The kind's parameters, as JSON Schema properties.")
    families = serializers.ListField(child=serializers.CharField())
    datasets = serializers.ListField(child=serializers.CharField())
    series = serializers.BooleanField(help_text="Runs across an ordered series of checkpoints.")
    plots = serializers.ListField(child=serializers.CharField())


class DatasetKindSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    params_schema = serializers.JSONField(help_text="The dataset's parameters, as JSON Schema properties.")
    labelled_by_model = serializers.BooleanField()
    takes = serializers.ChoiceField(
        choices=["tokens", "vectors"],
        help_text="What one example is: token ids (language-model families) or vectors (a model's input width).",
    )


class AnalysisKindRegistrySerializer(serializers.Serializer):
    kinds = AnalysisKindSerializer(many=True)
    datasets = DatasetKindSerializer(many=True)


class AnalysisAccessSubmittedSerializer(serializers.Serializer):
    status = serializers.CharField()
    detail = serializers.CharField()


class AnalysisAccessPendingItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    checkpoint = serializers.UUIDField(source="checkpoint.uuid")
    checkpoint_name = serializers.CharField(source="checkpoint.name")
    grantee = serializers.CharField(source="grantee.display_name")
    grantee_org = serializers.CharField(source="grantee.organisation.name", allow_null=True)
    grantee_clearance = serializers.SerializerMethodField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_grantee_clearance(self, grant: AnalysisAccessGrant) -> int:
        return grant.grantee.effective_clearance()


class AnalysisAccessPendingSerializer(serializers.Serializer):
    results = AnalysisAccessPendingItemSerializer(many=True)


class AnalysisAccessDecidedSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    state = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Null when the request was refused.")


# --- input --------------------------------------------------------------------------------


class RegisterInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    spec = serializers.JSONField()
    hazard_tier = serializers.IntegerField(min_value=0, max_value=3, default=0)
    series = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    files = serializers.JSONField(
        required=False,
        default=None,
        help_text="For a Hugging Face folder (family hf_causal_lm): [{path, sha256, size}] of every file.",
    )


class ApproveInput(StrictSerializer):
    access_level = serializers.IntegerField(min_value=1, max_value=3)
    expires_at = serializers.DateTimeField()
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")


class RevokeInput(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class AnalysisAccessInput(StrictSerializer):
    checkpoint = serializers.UUIDField()
    reason = serializers.CharField(max_length=1000)


class AnalysisAccessDecision(StrictSerializer):
    approve = serializers.BooleanField()
    days = serializers.IntegerField(required=False, default=30)
