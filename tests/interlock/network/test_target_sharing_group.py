"""A widening's target group must be one the sender's organisation owns or is in.

Found by the review-objects IDOR sweep: an output release and a disclosure case looked their
target group up by id alone, so a group of other organisations was accepted (the release or
case created towards it) while an id that exists nowhere was refused — an oracle for group ids,
and a way to send results to a group the sender cannot see. Both now answer like a missing id.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from interlock.analyses.models import OutputRelease
from interlock.disclosure.models import DisclosureCase
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock.network.models import SharingGroup
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT
from tests.support.sweep import approved_tiered_checkpoint, finished_analysis

pytestmark = pytest.mark.django_db


def _groups(network: Any, own: Any) -> tuple[SharingGroup, SharingGroup]:
    """A group the sender's organisation is in, and one of two other organisations."""
    beta, gamma = network.org("Beta"), network.org("Gamma")
    mine = SharingGroup.objects.create(name="With us", owner_org=beta)
    mine.members.set([beta, own])
    theirs = SharingGroup.objects.create(name="Without us", owner_org=beta)
    theirs.members.set([beta, gamma])
    return mine, theirs


def test_an_output_release_to_a_group_the_requester_is_not_in_answers_like_a_missing_group(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lab = network.org("Lab")
    requester = network.person(lab, clearance=1)
    steward = network.person(network.org("Watch"), steward=True, clearance=1)
    mine, theirs = _groups(network, lab)
    checkpoint = approved_tiered_checkpoint(requester, steward, api_client_for, "model", 0)
    analysis = finished_analysis(requester, checkpoint, django_capture_on_commit_callbacks)
    api = api_client_for(requester)

    def release_to(group_id: object) -> Any:
        body = {"target": "sharing_group", "group": str(group_id), "reason": "Wider, to that group."}
        return api.post(f"/api/v1/analyses/{analysis.uuid}/releases/", body, format="json")

    missing, hidden = release_to(uuid.uuid4()), release_to(theirs.uuid)
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json()
    assert not OutputRelease.objects.filter(target_group=theirs).exists()
    assert release_to(mine.uuid).status_code == 201


def test_a_disclosure_case_to_a_group_the_author_is_not_in_answers_like_a_missing_group(
    network: Any, api_client_for: Any
) -> None:
    lab = network.org("Lab")
    author = network.person(lab, clearance=1)
    mine, theirs = _groups(network, lab)
    finding = finding_create(actor=principal_for(author), title="A finding", body="text", label="amber")
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    api = api_client_for(author)

    def open_to(group_id: object) -> Any:
        body = {
            "finding": str(finding.uuid),
            "target": "sharing_group",
            "group": str(group_id),
            "rationale": "Widen it to that group.",
            "assessment": ASSESSMENT,
        }
        return api.post("/api/v1/disclosures/", body, format="json")

    missing, hidden = open_to(uuid.uuid4()), open_to(theirs.uuid)
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json()
    assert not DisclosureCase.objects.filter(target_group=theirs).exists()
    assert open_to(mine.uuid).status_code == 201
