"""The input of each disclosure action: one small serializer per row of the transition table.

Each names only its action's fields, under the names its service takes (`source=` maps the
public field to the service's keyword), so the API and the pages validate with the row's
serializer and call the row's service with what it returns. The fields keep their old
leniency (optional, empty by default) on purpose: the services' own checks give the messages
people see ("Write a rationale.", "Unknown vote.", "Name the reviewer.").
"""

from __future__ import annotations

from rest_framework import serializers

from interlock.core.inputs import StrictSerializer
from interlock.disclosure.models import Target, VoteChoice


def _reason() -> serializers.CharField:
    return serializers.CharField(max_length=10_000, required=False, default="")


def _redacted_title() -> serializers.CharField:
    return serializers.CharField(max_length=300, required=False, allow_null=True, default=None)


def _redacted_body() -> serializers.CharField:
    return serializers.CharField(
        max_length=200_000, required=False, allow_null=True, allow_blank=True, default=None
    )


class DisclosureAssessmentInput(StrictSerializer):
    enables = serializers.CharField(max_length=5000)
    generality = serializers.CharField(max_length=5000)
    novelty = serializers.CharField(max_length=5000)
    mitigations = serializers.CharField(max_length=5000)


class DisclosureOpenInput(StrictSerializer):
    finding = serializers.UUIDField(source="finding_uuid")
    target = serializers.ChoiceField(choices=Target.values)
    group = serializers.UUIDField(source="group_uuid", required=False, allow_null=True, default=None)
    rationale = serializers.CharField(max_length=10_000)
    assessment = DisclosureAssessmentInput()
    redacted_title = _redacted_title()
    redacted_body = _redacted_body()
    embargo_until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DisclosureAssignInput(StrictSerializer):
    person = serializers.UUIDField(source="person_uuid", required=False, default=None)


class DisclosureNoInput(StrictSerializer):
    """Volunteer, decide, accept an embargo: the case id in the path is all they take."""


class DisclosureConflictInput(StrictSerializer):
    relation = serializers.CharField(max_length=500, required=False, default="")


class DisclosureCommentInput(StrictSerializer):
    body = serializers.CharField(max_length=10_000, required=False, default="")


class DisclosureVoteInput(StrictSerializer):
    choice = serializers.ChoiceField(choices=VoteChoice.values, required=False, default="")
    rationale = _reason()


class DisclosureRepinInput(StrictSerializer):
    redacted_title = _redacted_title()
    redacted_body = _redacted_body()


class DisclosureEmbargoTimeInput(StrictSerializer):
    """Propose or revise an embargo: its end, an aware time (UTC on the pages)."""

    until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DisclosureReasonInput(StrictSerializer):
    """End an embargo early, withdraw a case: the written reason."""

    reason = _reason()
