"""Notifications about findings: identifiers only, recipients re-checked when they are sent.

E-mail leaves the platform, and even TLP:GREEN content must not: messages name what
happened and link to the finding's page, where the policy decides again.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from interlock.access import Action, Principal, can
from interlock.findings.selectors import active_members

SUBJECTS = {
    "finding_shared": "A finding was shared with you",
    "finding_revised": "A finding you can read has a new revision",
    "finding_granted": "You were given access to a finding",
    "comment_created": "New comment on a finding you can read",
}


def _candidates(finding: Any) -> Any:
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


def notify_finding(
    *,
    finding_id: int,
    kind: str,
    recipient_ids: list[int] | None = None,
    exclude_ids: list[int] | None = None,
) -> int:
    """Create in-app notifications and send e-mails to everyone who may read the finding *now*."""
    from interlock.findings.models import Finding, Notification

    finding = Finding.objects.select_related("owner_org").filter(pk=finding_id).first()
    if finding is None or kind not in SUBJECTS:
        return 0
    candidates = _candidates(finding)
    if recipient_ids is not None:
        candidates = candidates.filter(pk__in=recipient_ids)
    if exclude_ids:
        candidates = candidates.exclude(pk__in=exclude_ids)
    sent = 0
    for person in candidates:
        # the recipient is not here: the policy asks on their behalf, with everything but MFA
        if not can(Principal.on_behalf_of(person), Action.VIEW, finding):
            continue
        Notification.objects.create(recipient=person, kind=kind, finding_uuid=finding.uuid)
        link = f"{settings.INTERLOCK_BASE_URL.rstrip('/')}/findings/{finding.uuid}/"
        send_mail(
            subject=f"[Interlock] {SUBJECTS[kind]}",
            message=f"{SUBJECTS[kind]}.\n\nSign in to read it: {link}\n\nThis message carries no content on purpose.",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[person.email],
            fail_silently=True,
        )
        sent += 1
    return sent


@shared_task(name="interlock.findings.notify")
def notify_finding_task(
    *,
    finding_id: int,
    kind: str,
    recipient_ids: list[int] | None = None,
    exclude_ids: list[int] | None = None,
) -> int:
    return notify_finding(
        finding_id=finding_id, kind=kind, recipient_ids=recipient_ids, exclude_ids=exclude_ids
    )
