"""Reads of a person's notifications: their inbox and its unread count, through the policy's
filter (a notification is its recipient's alone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from interlock.access import visible
from interlock.access.principal import Principal
from interlock.notifications.models import Notification
from interlock.notifications.registry import subject_of

INBOX_SIZE = 200


@dataclass(frozen=True)
class InboxItem:
    """A notification in words: what happened, when, whether it was read, where it points."""

    id: int
    subject: str
    created_at: datetime
    unread: bool
    link: str


def notification_list(*, principal: Principal, limit: int = INBOX_SIZE) -> list[InboxItem]:
    notes = visible(principal, Notification.objects.all()).order_by("-created_at", "-pk")[:limit]
    return [
        InboxItem(
            id=note.pk,
            subject=subject_of(note.kind),
            created_at=note.created_at,
            unread=note.read_at is None,
            link=note.link or (f"/findings/{note.finding_uuid}/" if note.finding_uuid else ""),
        )
        for note in notes
    ]


def unread_count(*, principal: Principal) -> int:
    return visible(principal, Notification.objects.filter(read_at__isnull=True)).count()
