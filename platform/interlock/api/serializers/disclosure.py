"""Serializers of the disclosure endpoints: what a case looks like on the wire.

The inputs are not here: each transition's input serializer lives with its row of the table
(`interlock.disclosure.inputs`), because the pages validate with it too. A case's body is laid
out by `interlock.disclosure.selectors.case_body`, which decides what the viewer may see (names
of reviewers, conflicts, voters); these serializers render that body and are what the OpenAPI
schema tells, so a field the selector adds without a serializer field never reaches a client.
"""

from __future__ import annotations

from rest_framework import serializers

from interlock.disclosure.models import CaseState, EmbargoState, Target, VoteChoice


class CaseSummarySerializer(serializers.Serializer):
    """A case as lists show it: ids and states, never text (open calls are listed this way too)."""

    id = serializers.UUIDField(source="uuid")
    finding = serializers.UUIDField(source="finding.uuid")
    target = serializers.ChoiceField(choices=Target.choices)
    state = serializers.ChoiceField(choices=CaseState.choices)


class PinnedRevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    sha256 = serializers.CharField()


class CaseTextSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)


class EmbargoSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=EmbargoState.choices)
    until = serializers.DateTimeField(allow_null=True)
    proposed_until = serializers.DateTimeField(allow_null=True)


class QuorumRuleSerializer(serializers.Serializer):
    """The network policy's quorum for the case's target, recorded by value."""

    approvals = serializers.IntegerField()
    distinct_orgs = serializers.IntegerField()
    steward_veto = serializers.BooleanField()


class QuorumSerializer(serializers.Serializer):
    rule = QuorumRuleSerializer()
    approvals = serializers.IntegerField()
    organisations = serializers.IntegerField()
    vetoed = serializers.BooleanField()
    met = serializers.BooleanField()


class AssessmentSerializer(serializers.Serializer):
    """The opener's capability assessment (docs/disclosure.md)."""

    enables = serializers.CharField(allow_blank=True)
    generality = serializers.CharField(allow_blank=True)
    novelty = serializers.CharField(allow_blank=True)
    mitigations = serializers.CharField(allow_blank=True)


class CaseReviewerSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="The pseudonym; with the person's name for those who may see names."
    )
    conflicted = serializers.BooleanField()
    review_ends_at = serializers.DateTimeField(allow_null=True)
    conflicts = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only for those who may see names, and for the reviewer themself.",
    )


class CaseVoteSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    rationale = serializers.CharField(allow_blank=True)
    lapsed = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class CaseCommentSerializer(serializers.Serializer):
    author = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class DecisionVoterSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    rationale = serializers.CharField(allow_blank=True)
    person = serializers.UUIDField(required=False, help_text="Only for those who may see names.")
    organisation = serializers.UUIDField(
        required=False, allow_null=True, help_text="Only for those who may see names."
    )
    steward = serializers.BooleanField(required=False, help_text="Only for those who may see names.")


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CaseState.choices)
    quorum_rule = QuorumRuleSerializer()
    released_sha256 = serializers.CharField(allow_blank=True)
    redaction_sha256 = serializers.CharField(allow_blank=True)
    voters = DecisionVoterSerializer(many=True)


class CaseSerializer(serializers.Serializer):
    """Everything the viewer may see of a case (`case_body`); `decision` once it is decided."""

    id = serializers.UUIDField()
    finding = serializers.UUIDField()
    target = serializers.ChoiceField(choices=Target.choices)
    target_group = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=CaseState.choices)
    pinned_revision = PinnedRevisionSerializer()
    pinned_text = CaseTextSerializer()
    redacted_text = CaseTextSerializer()
    rationale = serializers.CharField(allow_blank=True)
    assessment = AssessmentSerializer()
    redaction_sha256 = serializers.CharField(allow_blank=True)
    released_sha256 = serializers.CharField(allow_blank=True)
    embargo = EmbargoSerializer()
    review_deadline = serializers.DateTimeField(allow_null=True)
    quorum = QuorumSerializer()
    reviewers = CaseReviewerSerializer(many=True)
    votes = CaseVoteSerializer(many=True)
    comments = CaseCommentSerializer(many=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    decision = DecisionSerializer(required=False)


class CaseActedSerializer(serializers.Serializer):
    """The answer to an action for a caller who gets no content back: a token without `read`, or
    a reviewer whose access the action ended (the vote that met the quorum)."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=CaseState.choices, allow_null=True)
    detail = serializers.CharField()
