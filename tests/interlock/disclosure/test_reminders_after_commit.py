"""The review reminder is enqueued with the scheduler's transaction and sent after it commits: a
run that rolls back reminds nobody (the reminder used to be mailed inside the transaction)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from interlock.disclosure.models import DisclosureCase
from interlock.disclosure.services import shared
from interlock.disclosure.services.release import remind_due
from interlock.notifications import tasks
from tests.support.disclosure import ASSESSMENT, redacted_body
from tests.support.notifications import notifications_delivered_at_commit

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def _case_due_for_a_reminder(lab: dict[str, Any], api_client_for: Any) -> DisclosureCase:
    opened = api_client_for(lab["author"]).post(
        "/api/v1/disclosures/",
        {
            "finding": str(lab["finding"].uuid),
            "target": "network",
            "rationale": "Safety-relevant and not capability-advancing.",
            "assessment": ASSESSMENT,
            "redacted_body": redacted_body(),
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    case_id = opened.json()["id"]
    assigned = api_client_for(lab["steward_b"]).post(
        f"/api/v1/disclosures/{case_id}/assign/", {"person": str(lab["b1"].uuid)}, format="json"
    )
    assert assigned.status_code == 200, assigned.content
    DisclosureCase.objects.filter(uuid=case_id).update(review_deadline=timezone.now() + timedelta(days=1))
    return DisclosureCase.objects.get(uuid=case_id)


def _remind_and_roll_back(capture: Any) -> None:
    mail.outbox.clear()
    with (
        notifications_delivered_at_commit(),
        capture(execute=True),
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        remind_due()
        raise Rollback


def test_a_rolled_back_reminder_run_sends_nothing_and_a_committed_one_reminds_the_reviewer(
    lab: dict[str, Any], api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _case_due_for_a_reminder(lab, api_client_for)
    _remind_and_roll_back(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    case.refresh_from_db()
    assert case.reminded_at is None

    with notifications_delivered_at_commit(), django_capture_on_commit_callbacks(execute=True):
        assert remind_due() == 1
    assert [message.to[0] for message in mail.outbox] == [lab["b1"].email]
    assert "due soon" in mail.outbox[0].subject and "SECRET" not in mail.outbox[0].body


def test_mutant_sending_inside_the_transaction_mails_a_rolled_back_reminder(
    lab: dict[str, Any], api_client_for: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    _case_due_for_a_reminder(lab, api_client_for)
    monkeypatch.setattr(shared, "notify_after_commit", lambda **arguments: tasks.deliver(**arguments))
    _remind_and_roll_back(django_capture_on_commit_callbacks)
    assert [message.to[0] for message in mail.outbox] == [lab["b1"].email]
