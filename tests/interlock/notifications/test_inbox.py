"""The inbox: a person's own notifications in words, with the unread count in the navigation;
opening one marks it read and goes to its page; nobody opens or sees anyone else's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from interlock.disclosure.services.cases import case_assign, case_open
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock.notifications.models import Notification
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.disclosure import ASSESSMENT
from tests.support.notifications import notifications_delivered_at_commit
from tests.support.sweep import normalised_answer

pytestmark = pytest.mark.django_db


def _review_asked(network: Any, capture: Any) -> tuple[Any, Any, Any]:
    """A reviewer assigned to a case, told through the real delivery task."""
    owner, beta, gamma = network.org("Owner Lab"), network.org("Beta Institute"), network.org("Gamma")
    author = network.person(owner, clearance=1)
    reviewer = network.person(beta, clearance=1, password=PASSWORD)
    steward = network.person(gamma, steward=True, clearance=1)
    finding = finding_create(actor=principal_for(author), title="Bump", body="text", label="amber")
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    case = case_open(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Others should compare.",
        assessment=ASSESSMENT,
    )
    with capture() as pending:
        case_assign(actor=principal_for(steward), case_uuid=case.uuid, person_uuid=reviewer.uuid)
    with notifications_delivered_at_commit():
        for callback in pending:
            callback()
    return case, reviewer, author


def test_a_reviewer_sees_the_review_request_opens_it_and_it_is_read(
    network: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case, reviewer, _ = _review_asked(network, django_capture_on_commit_callbacks)
    note = Notification.objects.get(recipient=reviewer)
    client = network.signed_in_client(reviewer)
    html = client.get("/inbox/").content.decode()
    assert "A disclosure case asks for your review" in html and "1 unread of 1" in html
    assert '<span class="count"><span class="visually-hidden">(</span>1<' in html  # the navigation's badge
    opened = client.post(f"/inbox/{note.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == f"/disclosures/{case.uuid}/"
    note.refresh_from_db()
    assert note.read_at is not None
    after = client.get("/findings/").content.decode()
    assert 'class="count"' not in after  # nothing unread: no badge


def test_nobody_sees_or_opens_another_persons_notifications(
    network: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _, reviewer, _ = _review_asked(network, django_capture_on_commit_callbacks)
    note = Notification.objects.get(recipient=reviewer)
    other = network.person(reviewer.organisation, clearance=1, password=PASSWORD)
    client = network.signed_in_client(other)
    assert "A disclosure case asks for your review" not in client.get("/inbox/").content.decode()
    theirs = client.post(f"/inbox/{note.pk}/open/")
    missing = client.post(f"/inbox/{note.pk + 10_000}/open/")
    assert theirs.status_code == missing.status_code == 404
    # the same page, the path asked for aside (a short integer id is blanked by its whole path)
    assert normalised_answer(404, theirs.content, "", f"/inbox/{note.pk}/open/") == normalised_answer(
        404, missing.content, "", f"/inbox/{note.pk + 10_000}/open/"
    )
    assert client.post("/inbox/not-a-number/open/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    anonymous = Client()
    assert (
        anonymous.post(f"/inbox/{note.pk}/open/").status_code == anonymous.post("/inbox/1/open/").status_code
    )


def test_mark_all_read_touches_only_ones_own(network: Any, django_capture_on_commit_callbacks: Any) -> None:
    _, reviewer, author = _review_asked(network, django_capture_on_commit_callbacks)
    Notification.objects.create(recipient=author, kind="finding_shared")
    client = network.signed_in_client(reviewer)
    assert client.post("/inbox/read-all/").status_code == 302
    assert not Notification.objects.filter(recipient=reviewer, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=author, read_at__isnull=True).count() == 1
    assert client.get("/inbox/read-all/").status_code == 405
