"""Findings as a notification target: who might hear of a finding, and where the link points.

E-mail leaves the platform, and even TLP:GREEN content must not: messages name what happened and
link to the finding's page, where the policy decides again. Delivery (and the re-check of every
recipient at send time) is the notifications app's one task.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from interlock.accounts.models import Person
from interlock.findings.models import Finding
from interlock.findings.selectors import active_members
from interlock.notifications.models import Notification
from interlock.notifications.registry import Target

SUBJECTS = {
    "finding_shared": "A finding was shared with you",
    "finding_revised": "A finding you can read has a new revision",
    "finding_granted": "You were given access to a finding",
    "comment_created": "New comment on a finding you can read",
}


def _load(finding_id: int) -> Finding | None:
    return Finding.objects.select_related("owner_org").filter(pk=finding_id).first()


def _candidates(finding: Finding) -> QuerySet[Person]:
    people = active_members()
    if finding.audience_network:
        return people
    group_orgs = finding.audience_groups.values_list("members", flat=True)
    return people.filter(
        Q(authored_findings=finding)
        | Q(organisation=finding.owner_org)
        | Q(organisation__in=group_orgs)
        | Q(pk__in=finding.grants.values_list("user_id", flat=True))
    ).distinct()


def _record(person: Person, kind: str, finding: Finding) -> None:
    Notification.objects.create(
        recipient=person, kind=kind, finding_uuid=finding.uuid, link=f"/findings/{finding.uuid}/"
    )


FINDING_TARGET = Target(
    name="finding",
    load=_load,
    candidates=_candidates,
    page=lambda finding: f"/findings/{finding.uuid}/",
    record=_record,
    subjects=SUBJECTS,
)
