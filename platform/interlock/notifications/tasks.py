"""The one delivery task: the recipient is asked again, by the policy, when the message is sent.

Acts ask for a notification with `notify_after_commit`: after their transaction commits, never
inside it (a rolled-back act tells nobody, and no mail server is waited on while rows are locked)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from interlock.access import Action, Principal, can
from interlock.notifications.registry import target_named


def deliver(
    *,
    kind: str,
    target_type: str,
    target_id: int,
    recipient_ids: list[int] | None = None,
    exclude_ids: list[int] | None = None,
) -> int:
    """Keep an in-app notification and send a content-free e-mail to everyone among the
    candidates (narrowed to `recipient_ids`, less `exclude_ids`) who may see the object *now*.
    Returns how many people were told."""
    target = target_named(target_type)
    subject = target.subjects.get(kind)
    obj = target.load(target_id)
    if obj is None or subject is None:
        return 0
    link = f"{settings.INTERLOCK_BASE_URL.rstrip('/')}{target.page(obj)}"
    wanted = set(recipient_ids) if recipient_ids is not None else None
    unwanted = set(exclude_ids or ())
    told = 0
    for person in {p.pk: p for p in target.candidates(obj)}.values():
        if (wanted is not None and person.pk not in wanted) or person.pk in unwanted:
            continue
        # the recipient is not here: the policy asks on their behalf, with everything but MFA
        if not can(Principal.on_behalf_of(person), Action.VIEW, obj):
            continue
        target.record(person, kind, obj)
        send_mail(
            subject=f"[Interlock] {subject}",
            message=f"{subject}.\n\nSign in to see it: {link}\n\nThis message carries no content on purpose.",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[person.email],
            fail_silently=True,
        )
        told += 1
    return told


@shared_task(name="interlock.notifications.deliver")
def deliver_task(
    *,
    kind: str,
    target_type: str,
    target_id: int,
    recipient_ids: list[int] | None = None,
    exclude_ids: list[int] | None = None,
) -> int:
    return deliver(
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        recipient_ids=recipient_ids,
        exclude_ids=exclude_ids,
    )


def notify_after_commit(
    *,
    kind: str,
    target_type: str,
    target_id: int,
    recipient_ids: list[int] | None = None,
    exclude_ids: list[int] | None = None,
) -> None:
    arguments = {
        "kind": kind,
        "target_type": target_type,
        "target_id": target_id,
        "recipient_ids": recipient_ids,
        "exclude_ids": exclude_ids,
    }
    transaction.on_commit(lambda: deliver_task.delay(**arguments))
