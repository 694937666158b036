"""Serializers of the network's endpoints: organisations, people, sharing groups, invitations,
API tokens and the audit log."""

from __future__ import annotations

from rest_framework import serializers

from interlock.accounts.models import Person, Role, TokenScope
from interlock.audit.models import AuditEvent
from interlock.core.inputs import StrictSerializer
from interlock.network.models import Organisation, SharingGroup

# --- output -------------------------------------------------------------------------------


class OrganisationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "slug", "status", "clearance_ceiling", "declared_scope", "created_at"]


class PersonSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    organisation = serializers.UUIDField(source="organisation.uuid", read_only=True, allow_null=True)
    organisation_name = serializers.CharField(source="organisation.name", read_only=True, allow_null=True)
    effective_clearance = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = [
            "id",
            "display_name",
            "email",
            "organisation",
            "organisation_name",
            "role",
            "is_steward",
            "clearance",
            "effective_clearance",
            "clearance_expires_at",
            "is_active",
        ]

    def get_effective_clearance(self, person: Person) -> int:
        return person.effective_clearance()


class SharingGroupSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    owner_org = serializers.UUIDField(source="owner_org.uuid", read_only=True)
    members = serializers.SerializerMethodField()

    class Meta:
        model = SharingGroup
        fields = ["id", "name", "owner_org", "hide_members", "members"]

    def get_members(self, group: SharingGroup) -> list[str] | None:
        """Hidden member lists are null for everyone but the owner organisation."""
        visible_members: dict[int, bool] = self.context.get("members_visible", {})
        if not visible_members.get(group.pk, False):
            return None
        return sorted(str(org.uuid) for org in group.members.all())


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor_id",
            "actor_label",
            "event",
            "target_type",
            "target_id",
            "extra",
            "prev_hash",
            "entry_hash",
        ]
        extra_kwargs = {
            "extra": {
                "help_text": "The event's own details (ids, counts, reasons), as the service recorded them."
            }
        }


class InvitationIssuedSerializer(serializers.Serializer):
    """A new invitation; `token` is its secret, shown this once and never again."""

    id = serializers.UUIDField(source="invitation.uuid")
    email = serializers.EmailField(source="invitation.email")
    token = serializers.CharField(source="secret")
    expires_at = serializers.DateTimeField(source="invitation.expires_at")


class TokenSerializer(serializers.Serializer):
    """One of the caller's live API tokens: never its secret, only the prefix that names it."""

    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()


class TokenIssuedSerializer(serializers.Serializer):
    """A new API token; `token` is its secret, shown this once and never again."""

    id = serializers.IntegerField(source="token.pk")
    token = serializers.CharField(source="secret")
    scopes = serializers.ListField(child=serializers.CharField(), source="token.scopes")
    expires_at = serializers.DateTimeField(source="token.expires_at")


# --- input --------------------------------------------------------------------------------


class OrganisationApplyInput(StrictSerializer):
    # the model's own limit, so the two cannot drift apart (a longer name was a database error)
    name = serializers.CharField(max_length=Organisation._meta.get_field("name").max_length)
    declared_scope = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    clearance_ceiling = serializers.IntegerField(min_value=0, max_value=3, default=1)


class RoleInput(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ClearanceInput(StrictSerializer):
    clearance = serializers.IntegerField(min_value=0, max_value=3)


class InvitationInput(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class SharingGroupInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    members = serializers.ListField(child=serializers.UUIDField(), max_length=500, default=list)
    hide_members = serializers.BooleanField(default=False)


class SharingGroupUpdateInput(StrictSerializer):
    members = serializers.ListField(child=serializers.UUIDField(), max_length=500, required=False)
    hide_members = serializers.BooleanField(required=False)


class TokenInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices), min_length=1)
    days = serializers.IntegerField(min_value=1, max_value=365, default=90)
