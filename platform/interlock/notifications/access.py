"""The notification rule: a notification is its recipient's alone (seen and marked read by them).

It names an object by id and carries no content, so it inherits no label or tier: the object it
names is decided again, by that object's own rule, when the recipient opens it.
"""

from __future__ import annotations

from django.db.models import QuerySet

from interlock.access import policy
from interlock.access.actions import Action, Decision, allow, deny
from interlock.access.lookups import require_scope
from interlock.access.policy import can
from interlock.access.principal import Principal
from interlock.core.errors import NotFound
from interlock.notifications.models import Notification


def notification_rule(principal: Principal, action: Action, notification: Notification) -> Decision:
    if action not in (Action.VIEW, Action.CHANGE):
        return deny(f"{action} does not apply to notifications")
    return allow("recipient") if notification.recipient_id == principal.pk else deny("not the recipient")


def visible_notifications(principal: Principal, queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    return queryset.filter(recipient_id=principal.pk)


policy.register(
    Notification,
    rule=notification_rule,
    filter_=visible_notifications,
    actions=(Action.VIEW, Action.CHANGE),
    axes="none (identifiers only; the object it names is decided again when opened)",
    audience="its recipient",
)


def access_notification_by_id(
    principal: Principal, notification_id: object, *, action: Action
) -> Notification:
    """The notification if the principal may `action` it (its recipient); NotFound otherwise,
    the same for someone else's and for one that does not exist."""
    require_scope(principal, action)
    if not isinstance(notification_id, int) and not str(notification_id).isdigit():
        raise NotFound
    notification = Notification.objects.filter(pk=int(str(notification_id))).first()
    if notification is None or not can(principal, action, notification):
        raise NotFound
    return notification
