"""Writes to a person's own notifications: marking them read (opening one, or all at once)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from interlock.access import Action, visible
from interlock.access.principal import Principal
from interlock.notifications.access import access_notification_by_id
from interlock.notifications.models import Notification


@transaction.atomic
def notification_open(*, actor: Principal, notification_id: object) -> Notification:
    """The recipient opens a notification: it is read from now on (the page it points to asks
    the policy again)."""
    notification = access_notification_by_id(actor, notification_id, action=Action.CHANGE)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_read_all(*, actor: Principal) -> int:
    unread = visible(actor, Notification.objects.filter(read_at__isnull=True))
    return Notification.objects.filter(pk__in=unread.values("pk")).update(read_at=timezone.now())
