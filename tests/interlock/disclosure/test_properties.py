"""Property-based: any sequence of actions by any mix of people keeps the workflow's promises.

Each example starts from the same network and finding, runs a random sequence (assign, volunteer,
declare, vote with any choice, new revision and repin, deadline passing and a steward's decision,
embargo moves, withdrawing the case or the finding, scheduler runs) with random actors — most
of them refused — and checks after every step:

- nothing is released without a decision record whose voters meet the quorum rule it stores;
- an author or a member of the owner organisation never becomes a reviewer;
- a finding withdrawn before the scheduler ran is never released;
- the public feed carries only texts a decision approved, never a redacted passage.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from interlock.core.errors import ApplicationError
from interlock.disclosure.models import CaseState, DecisionRecord, DisclosureCase, PublicRelease, Reviewer
from interlock.disclosure.services.cases import (
    case_assign,
    case_declare_conflict,
    case_open,
    case_volunteer,
    case_withdraw,
)
from interlock.disclosure.services.embargo import case_embargo
from interlock.disclosure.services.release import release_due
from interlock.disclosure.services.reviews import case_decide, case_repin, case_vote
from interlock.findings.models import Finding, FindingState
from interlock.findings.selectors import revision_text
from interlock.findings.services import finding_revise, finding_withdraw
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT, SECRET, redacted_body

PEOPLE = ("author", "coauthor", "colleague", "b1", "b2", "c1", "steward_b", "steward_c")
ACTIONS = (
    "assign",
    "volunteer",
    "declare",
    "vote",
    "revise_and_repin",
    "deadline_passes",
    "decide",
    "embargo_propose",
    "embargo_accept",
    "embargo_end",
    "withdraw_case",
    "withdraw_finding",
    "release",
)
# reviewers-to-be are drawn more often, so that many sequences do reach a quorum
LIKELY = (*PEOPLE, "b1", "b1", "c1", "c1", "steward_c", "steward_b")
step = st.tuples(
    st.sampled_from((*ACTIONS, *["reviewer_votes"] * 6, "release", "release")),
    st.sampled_from(LIKELY),
    st.sampled_from(LIKELY),
    st.sampled_from(("approve", "approve_with_changes", "reject")),
)


class Rollback(Exception):
    pass


def _do(lab: dict[str, Any], case: DisclosureCase, action: str, actor: Any, other: Any, choice: str) -> None:
    uuid = case.uuid
    if action == "assign":
        case_assign(actor=actor, case_uuid=uuid, person_uuid=other.uuid)
    elif action == "volunteer":
        case_volunteer(actor=actor, case_uuid=uuid)
    elif action == "declare":
        case_declare_conflict(actor=actor, case_uuid=uuid, relation="A relation I must declare.")
    elif action == "vote":
        case_vote(actor=actor, case_uuid=uuid, choice=choice, rationale="My written rationale.")
    elif action == "reviewer_votes":  # one of the case's reviewers (whoever it is) votes
        reviewers = list(Reviewer.objects.filter(case=case).order_by("pk").select_related("person"))
        if reviewers:
            person = reviewers[PEOPLE.index(other.email_key) % len(reviewers)].person
            case_vote(
                actor=principal_for(person), case_uuid=uuid, choice=choice, rationale="My written rationale."
            )
    elif action == "revise_and_repin":
        finding_revise(
            actor=actor, finding_uuid=lab["finding"].uuid, title="A new revision", body=f"new\n{SECRET}"
        )
        case_repin(actor=actor, case_uuid=uuid, redacted_body="new")
    elif action == "deadline_passes":
        DisclosureCase.objects.filter(pk=case.pk).update(
            review_deadline=timezone.now() - timedelta(seconds=1)
        )
    elif action == "decide":
        case_decide(actor=actor, case_uuid=uuid)
    elif action == "embargo_propose":
        case_embargo(actor=actor, case_uuid=uuid, action=action, until=timezone.now() + timedelta(days=5))
    elif action in ("embargo_accept", "embargo_end"):
        case_embargo(actor=actor, case_uuid=uuid, action=action, reason="A steward's stated reason.")
    elif action == "withdraw_case":
        case_withdraw(actor=actor, case_uuid=uuid, reason="Withdrawn for a stated reason.")
    elif action == "withdraw_finding":
        finding_withdraw(actor=actor, finding_uuid=lab["finding"].uuid, reason="flawed")
    else:
        release_due(now=timezone.now() + timedelta(days=30))


def _check(lab: dict[str, Any], case: DisclosureCase, withdrawn_before_release: bool) -> None:
    case.refresh_from_db()
    owner = lab["owner"]
    for reviewer in Reviewer.objects.filter(case=case).select_related("person"):
        assert reviewer.person.organisation_id != owner.pk
        assert not lab["finding"].authors.filter(pk=reviewer.person_id).exists()
    if case.state == CaseState.RELEASED:
        assert not withdrawn_before_release
        record = DecisionRecord.objects.get(case=case)
        rule = record.quorum_rule
        approvals = [v for v in record.voters if v["choice"] in ("approve", "approve_with_changes")]
        assert len(approvals) >= rule["approvals"]
        assert len({v["organisation"] for v in approvals}) >= rule["distinct_orgs"]
        if rule["steward_veto"]:
            assert not any(v["choice"] == "reject" and v["steward"] for v in record.voters)
        assert record.released_sha256 == case.released_sha256
    approved = set(
        DecisionRecord.objects.filter(outcome="approved").values_list("released_sha256", flat=True)
    )
    for release in PublicRelease.objects.all():
        assert release.sha256 in approved and SECRET not in release.body and SECRET not in release.title
    for copy in Finding.objects.exclude(pk=lab["finding"].pk):
        assert SECRET not in revision_text(copy.current_revision, copy).body


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(("network", "public")),
    reviewers=st.lists(st.sampled_from(("b1", "b2", "c1", "steward_c")), min_size=1, max_size=3, unique=True),
    steps=st.lists(step, min_size=1, max_size=14),
)
def test_no_sequence_of_actions_breaks_the_promises(
    lab: dict[str, Any], target: str, reviewers: list[str], steps: list[Any]
) -> None:
    for person in PEOPLE:
        lab[person].email_key = person
    try:
        with transaction.atomic():
            case = case_open(
                actor=principal_for(lab["author"]),
                finding_uuid=lab["finding"].uuid,
                target=target,
                rationale="Worth widening with the recipe removed.",
                assessment=ASSESSMENT,
                redacted_body=redacted_body(),
            )
            withdrawn_before_release = False
            for name in reviewers:  # often start with reviewers assigned, as a steward would
                case_assign(
                    actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, person_uuid=lab[name].uuid
                )
            for action, actor_name, other_name, choice in steps:
                was_released = DisclosureCase.objects.get(pk=case.pk).state == CaseState.RELEASED
                try:
                    with transaction.atomic():
                        _do(lab, case, action, principal_for(lab[actor_name]), lab[other_name], choice)
                except ApplicationError:
                    pass  # refused, and nothing changed
                finding_state = Finding.objects.get(pk=lab["finding"].pk).state
                if finding_state == FindingState.WITHDRAWN and not was_released:
                    withdrawn_before_release = True
                _check(lab, case, withdrawn_before_release)
            event(f"ended {DisclosureCase.objects.get(pk=case.pk).state}")
            raise Rollback
    except Rollback:
        pass
