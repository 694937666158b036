"""The one delivery task asks the policy for every recipient when it sends, not when the act
happened: someone who lost access in between is told nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock.notifications import tasks
from tests.interlock.builders import principal_for
from tests.support.notifications import notifications_delivered_at_commit

pytestmark = pytest.mark.django_db


def _shared_then_cleared_down(network: Any, capture: Any) -> tuple[list[Callable[[], Any]], Any, Any]:
    """An H2 finding shared with the network; one H2-cleared reader drops to tier 1 before the
    message goes out. Returns the pending deliveries and (the demoted reader, a still-cleared one)."""
    author = network.person(network.org(), clearance=2)
    demoted = network.person(network.org(), clearance=2)
    cleared = network.person(network.org(), clearance=2)
    finding = finding_create(
        actor=principal_for(author), title="Tier-2 probe", body="body", label="green", hazard_tier=2
    )
    with capture(execute=False) as pending:
        finding_share(
            actor=principal_for(author),
            finding_uuid=finding.uuid,
            label="green",
            audience=Audience(network=True),
        )
    demoted.clearance = 1
    demoted.save(update_fields=["clearance"])
    return list(pending), demoted, cleared


def _send(pending: list[Callable[[], Any]]) -> set[str]:
    mail.outbox.clear()
    with notifications_delivered_at_commit():
        for callback in pending:
            callback()
    return {message.to[0] for message in mail.outbox}


def test_a_reader_cleared_down_before_the_send_is_told_nothing(
    network: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pending, demoted, cleared = _shared_then_cleared_down(network, django_capture_on_commit_callbacks)
    recipients = _send(pending)
    assert cleared.email in recipients
    assert demoted.email not in recipients
    assert not demoted.notifications.exists()


def test_mutant_without_the_send_time_check_tells_them(
    network: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    """The old shape (recipients decided when the act happened) mails the demoted reader."""
    pending, demoted, _ = _shared_then_cleared_down(network, django_capture_on_commit_callbacks)
    monkeypatch.setattr(tasks, "can", lambda *args, **kwargs: True)
    assert demoted.email in _send(pending)


def test_nothing_is_enqueued_before_the_act_commits(
    network: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Delivery waits for the commit: inside the act's transaction no task exists yet."""
    author = network.person(network.org())
    finding = finding_create(actor=principal_for(author), title="t", body="b", label="green")
    with django_capture_on_commit_callbacks(execute=False) as pending:
        finding_share(
            actor=principal_for(author),
            finding_uuid=finding.uuid,
            label="green",
            audience=Audience(network=True),
        )
        assert mail.outbox == []
    assert len(pending) == 1
