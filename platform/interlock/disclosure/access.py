"""Who sees a disclosure case, and how reviewers appear.

A case is seen by the finding's authors, by stewards, and by its reviewers while their review
time runs (it ends at the deadline, or at once when the case is decided or withdrawn). Anyone
else gets 404. Reviewers see the pinned revision and the proposed redaction through the case —
never the finding's other revisions, comments or attachments. Authors see reviewers under
per-case pseudonyms; stewards see names.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from interlock.access.gate import network_gate
from interlock.access.lookups import parse_uuid
from interlock.core.errors import NotFound
from interlock.disclosure.models import DisclosureCase


def visible_cases(person: Any) -> QuerySet[DisclosureCase]:
    queryset = DisclosureCase.objects.select_related("finding__owner_org", "pinned_revision", "target_group")
    if not network_gate(person):
        return queryset.none()
    if person.is_steward:
        return queryset
    return queryset.filter(
        Q(finding__authors=person) | Q(reviewers__person=person, reviewers__access_ends_at__gt=timezone.now())
    ).distinct()


def access_case_by_id(person: Any, case_uuid: object) -> DisclosureCase:
    case = visible_cases(person).filter(uuid=parse_uuid(case_uuid)).first()
    if case is None:
        raise NotFound
    return case


def sees_names(person: Any) -> bool:
    return bool(person.is_steward)
