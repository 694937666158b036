"""A vote on an output release is a write: it needs the token's `write` scope, not `read`.

Found by the review-objects token sweep: the vote looked its release up as a read, so a
write-only token was refused ("lacks the 'read' scope") though SECURITY.md has writes need
`write` and a disclosure vote with the same token went through. The answer to a token that may
not read carries no content; a release it cannot see still answers like a missing one.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from interlock.analyses.models import OutputRelease
from tests.support.sweep import approved_tiered_checkpoint, finished_analysis

pytestmark = pytest.mark.django_db


def test_a_write_only_token_votes_on_a_release_and_gets_no_content_back(
    network: Any, api_client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    requester = network.person(network.org("Lab"), clearance=1)
    steward = network.person(network.org("Watch"), steward=True, clearance=1)
    checkpoint = approved_tiered_checkpoint(requester, steward, api_client_for, "model", 0)
    analysis = finished_analysis(requester, checkpoint, django_capture_on_commit_callbacks)
    release = OutputRelease.objects.create(
        analysis=analysis, requested_by=requester, target="network", reason="Others should compare."
    )
    body = {"approve": True, "rationale": "Only a curve, no recipe."}
    write_only = api_client_for(
        network.person(network.org("Third"), steward=True, clearance=1), scopes=("write",)
    )
    missing = write_only.post(f"/api/v1/analysis-releases/{uuid.uuid4()}/vote/", body, format="json")
    assert missing.status_code == 404
    voted = write_only.post(f"/api/v1/analysis-releases/{release.uuid}/vote/", body, format="json")
    assert voted.status_code == 200, voted.content
    assert set(voted.json()) <= {"id", "state"}
    assert release.votes.count() == 1
    read_only = api_client_for(steward, scopes=("read",))
    refused = read_only.post(f"/api/v1/analysis-releases/{release.uuid}/vote/", body, format="json")
    assert refused.status_code == 403 and release.votes.count() == 1
