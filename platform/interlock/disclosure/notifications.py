"""Disclosure cases as a notification target: content-free messages that link to the case page.

Who is told is chosen by the transition (stewards, the assigned reviewer, the authors); the
notifications app's one task asks the policy for each of them again at send time.
"""

from __future__ import annotations

from django.db.models import QuerySet

from interlock.accounts.models import Person
from interlock.disclosure.models import DisclosureCase
from interlock.notifications.models import Notification
from interlock.notifications.registry import Target

SUBJECTS = {
    "disclosure_opened": "A disclosure case was opened",
    "disclosure_review": "A disclosure case asks for your review",
    "disclosure_decided": "A disclosure case was decided",
    "disclosure_released": "A disclosure case was released",
    "disclosure_reminder": "A disclosure review is due soon",
}


def _load(case_id: int) -> DisclosureCase | None:
    return DisclosureCase.objects.select_related("finding__owner_org").filter(pk=case_id).first()


def _candidates(case: DisclosureCase) -> QuerySet[Person]:
    return Person.objects.filter(is_active=True)


def _record(person: Person, kind: str, case: DisclosureCase) -> None:
    Notification.objects.create(
        recipient=person, kind=kind, finding_uuid=None, link=f"/disclosures/{case.uuid}/"
    )


CASE_TARGET = Target(
    name="disclosure_case",
    load=_load,
    candidates=_candidates,
    page=lambda case: f"/disclosures/{case.uuid}/",
    record=_record,
    subjects=SUBJECTS,
)
