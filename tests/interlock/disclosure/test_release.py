"""Release guarantees against real PostgreSQL: exactly once, caught up after downtime, never for a
withdrawn finding or a changed text, embargoes respected, and the public feeds carry only the
released text."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from interlock.audit.models import AuditEvent
from interlock.core.errors import ApplicationError, PolicyDenied
from interlock.disclosure.models import CaseState, DisclosureCase, EmbargoState, PublicRelease
from interlock.disclosure.services.cases import case_assign, case_open
from interlock.disclosure.services.embargo import case_embargo
from interlock.disclosure.services.release import release_due
from interlock.disclosure.services.reviews import case_vote
from interlock.disclosure.services.shared import seal
from interlock.findings.services import finding_withdraw
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT, SECRET, redacted_body


def _approved(
    lab: dict[str, Any], *, target: str = "public", embargo_days: float | None = None
) -> DisclosureCase:
    until = timezone.now() + timedelta(days=embargo_days) if embargo_days else None
    case = case_open(
        actor=principal_for(lab["author"]),
        finding_uuid=lab["finding"].uuid,
        target=target,
        rationale="Worth publishing with the recipe removed.",
        assessment=ASSESSMENT,
        redacted_body=redacted_body(),
        embargo_until=until,
    )
    if until is not None:
        case_embargo(actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, action="embargo_accept")
    for person in (lab["b1"], lab["c1"]):
        case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, person_uuid=person.uuid)
        case_vote(
            actor=principal_for(person),
            case_uuid=case.uuid,
            choice="approve",
            rationale="Approved as redacted.",
        )
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    return case


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_release_runs_release_once(lab: dict[str, Any]) -> None:
    """Runner A locks the case and, while it holds the lock, runner B (another thread, another
    connection, as a second beat process would be) runs in full; then A finishes. Then a retry."""
    case = _approved(lab)
    results: dict[str, dict[str, int]] = {}
    errors: list[BaseException] = []

    def run(name: str, hook: Any = None) -> None:
        try:
            results[name] = release_due(on_locked=hook)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def while_a_holds_the_row() -> None:
        second = threading.Thread(target=run, args=("B",))
        second.start()
        second.join(30)
        assert not second.is_alive()

    first = threading.Thread(target=run, args=("A", while_a_holds_the_row))
    first.start()
    first.join(60)
    assert not errors, errors
    assert results["B"] == {"released": 0, "held": 0}  # skipped the locked row
    assert results["A"] == {"released": 1, "held": 0}
    assert release_due() == {"released": 0, "held": 0}  # a retry finds it released
    assert PublicRelease.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(event="DISCLOSURE_RELEASED").count() == 1


@pytest.mark.django_db
def test_a_release_missed_while_the_scheduler_was_down_happens_on_its_next_run(lab: dict[str, Any]) -> None:
    case = _approved(lab, embargo_days=1)
    assert release_due() == {"released": 0, "held": 0}  # embargoed
    # the scheduler was down when the embargo ended two hours ago
    DisclosureCase.objects.filter(pk=case.pk).update(embargo_until=timezone.now() - timedelta(hours=2))
    assert release_due() == {"released": 1, "held": 0}
    case.refresh_from_db()
    assert case.state == CaseState.RELEASED and case.embargo_state == EmbargoState.EXITED


@pytest.mark.django_db
def test_a_withdrawn_finding_is_never_released(lab: dict[str, Any]) -> None:
    case = _approved(lab)
    finding_withdraw(
        actor=principal_for(lab["author"]), finding_uuid=lab["finding"].uuid, reason="found a flaw"
    )
    assert release_due() == {"released": 0, "held": 1}
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN and not PublicRelease.objects.exists()


@pytest.mark.django_db
def test_a_changed_text_is_held_not_released(lab: dict[str, Any]) -> None:
    case = _approved(lab)
    # someone with database access swaps the text to release after the decision
    DisclosureCase.objects.filter(pk=case.pk).update(
        redacted_body_sealed=seal(case, "redacted_body", f"{redacted_body()}\n{SECRET}")
    )
    assert release_due() == {"released": 0, "held": 1}
    assert not PublicRelease.objects.exists()
    assert AuditEvent.objects.filter(event="DISCLOSURE_RELEASE_HELD").exists()


@pytest.mark.django_db
def test_embargo_machine_max_length_and_early_end_only_by_a_steward_with_a_reason(
    lab: dict[str, Any],
) -> None:
    case = _approved(lab, embargo_days=10)
    assert case.embargo_state == EmbargoState.ACTIVE
    with pytest.raises(ApplicationError):
        case_embargo(
            actor=principal_for(lab["author"]),
            case_uuid=case.uuid,
            action="embargo_revise",
            until=timezone.now() + timedelta(days=365),
        )
    case_embargo(
        actor=principal_for(lab["author"]),
        case_uuid=case.uuid,
        action="embargo_revise",
        until=timezone.now() + timedelta(days=20),
    )
    assert release_due()["released"] == 0  # the old end time still holds while revising
    with pytest.raises(PolicyDenied):
        case_embargo(
            actor=principal_for(lab["author"]),
            case_uuid=case.uuid,
            action="embargo_end",
            reason="I want it out",
        )
    with pytest.raises(ApplicationError):
        case_embargo(
            actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, action="embargo_end", reason=""
        )
    case_embargo(
        actor=principal_for(lab["steward_b"]),
        case_uuid=case.uuid,
        action="embargo_end",
        reason="Already public elsewhere.",
    )
    assert release_due()["released"] == 1


@pytest.mark.django_db
def test_ending_an_embargo_never_publishes_an_unapproved_case(lab: dict[str, Any]) -> None:
    case = case_open(
        actor=principal_for(lab["author"]),
        finding_uuid=lab["finding"].uuid,
        target="public",
        rationale="Worth publishing with the recipe removed.",
        assessment=ASSESSMENT,
        embargo_until=timezone.now() + timedelta(days=3),
    )
    case_embargo(actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, action="embargo_accept")
    case_embargo(
        actor=principal_for(lab["steward_b"]),
        case_uuid=case.uuid,
        action="embargo_end",
        reason="Ended early.",
    )
    assert release_due() == {"released": 0, "held": 0}
    assert not PublicRelease.objects.exists()


@pytest.mark.django_db
def test_public_page_and_feeds_carry_only_the_released_text(lab: dict[str, Any], client: Any) -> None:
    _approved(lab)
    release_due()
    for path in ("/public/", "/public/feed.atom", "/public/feed.json"):
        response = client.get(path)  # no sign-in
        content = response.content.decode()
        assert response.status_code == 200, path
        assert "The bump coincides with the induction score." in content
        assert SECRET not in content and "Redaction" not in content and "recipe is redacted" not in content
        assert ASSESSMENT["enables"] not in content and "Approved as redacted" not in content
    assert (
        client.get("/public/feed.json").json()["items"][0]["title"] == "Induction heads form at the loss bump"
    )
