"""The in-app notification: identifiers only, what happened to which object.

It carries no content the recipient may not see: the page it points to asks the policy again.
The table keeps its first name (`findings_notification`): the model moved here when every kind of
notification (findings and disclosure) came to go through one app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """Identifiers only: what happened to which object; never content the recipient may not see."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    finding_uuid = models.UUIDField(null=True)
    # the page the notification points to (a path with the object's id: identifiers only); the
    # page asks the policy again when opened
    link = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "findings_notification"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"
