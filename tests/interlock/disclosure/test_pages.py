"""The disclosure pages: open a case from a finding, review it, act on it; strangers get 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interlock.disclosure.models import CaseState, DisclosureCase, EmbargoState
from tests.interlock.builders import PASSWORD
from tests.support.disclosure import ASSESSMENT, SECRET, redacted_body

pytestmark = pytest.mark.django_db


def test_open_review_and_vote_through_the_pages(lab: dict[str, Any]) -> None:
    network = lab["network"]
    for name in ("author", "b1", "steward_b", "c1"):
        lab[name].set_password(PASSWORD)
        lab[name].save()
    author = network.signed_in_client(lab["author"])
    finding_page = author.get(f"/findings/{lab['finding'].uuid}/")
    assert f"/findings/{lab['finding'].uuid}/disclose/".encode() in finding_page.content
    form = {
        "target": "network",
        "rationale": "Worth widening.",
        **ASSESSMENT,
        "redacted_body": redacted_body(),
    }
    bad = author.post(f"/findings/{lab['finding'].uuid}/disclose/", {**form, "enables": ""})
    assert bad.status_code == 400 and b"assessment" in bad.content and not DisclosureCase.objects.exists()
    opened = author.post(f"/findings/{lab['finding'].uuid}/disclose/", form)
    assert opened.status_code == 302
    case = DisclosureCase.objects.get()
    steward = network.signed_in_client(lab["steward_b"])
    assert (
        steward.post(f"/disclosures/{case.uuid}/assign/", {"person": str(lab["b1"].uuid)}).status_code == 302
    )
    reviewer = network.signed_in_client(lab["b1"])
    page = reviewer.get(f"/disclosures/{case.uuid}/")
    assert page.status_code == 200 and SECRET.encode() in page.content and b"Your review" in page.content
    stranger = network.signed_in_client(lab["c1"])
    assert stranger.get(f"/disclosures/{case.uuid}/").status_code == 404
    assert (
        stranger.post(
            f"/disclosures/{case.uuid}/vote/", {"choice": "approve", "rationale": "x" * 20}
        ).status_code
        == 404
    )
    assert b"Volunteer" in stranger.get("/disclosures/").content  # an open call, without content
    assert SECRET.encode() not in stranger.get("/disclosures/").content
    short = reviewer.post(
        f"/disclosures/{case.uuid}/vote/", {"choice": "approve", "rationale": "ok"}, follow=True
    )
    assert b"rationale" in short.content
    voted = reviewer.post(
        f"/disclosures/{case.uuid}/vote/", {"choice": "approve", "rationale": "Redaction is enough."}
    )
    # the reviewer's access to the case ended with the decision: they are shown how it ended
    assert voted.status_code == 302 and voted["Location"] == f"/disclosures/{case.uuid}/outcome/"
    outcome = reviewer.get(voted["Location"])
    assert outcome.status_code == 200 and b"Approved" in outcome.content
    assert SECRET.encode() not in outcome.content and b"Redaction is enough." in outcome.content
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert reviewer.get(f"/disclosures/{case.uuid}/").status_code == 404
    assert author.post(f"/disclosures/{case.uuid}/teleport/").status_code == 404


def test_page_actions_validate_with_the_rows_input_and_call_its_service(lab: dict[str, Any]) -> None:
    network = lab["network"]
    lab["author"].set_password(PASSWORD)
    lab["author"].save()
    author = network.signed_in_client(lab["author"])
    form = {
        "target": "network",
        "rationale": "Worth widening.",
        **ASSESSMENT,
        "redacted_body": redacted_body(),
    }
    assert author.post(f"/findings/{lab['finding'].uuid}/disclose/", form).status_code == 302
    case = DisclosureCase.objects.get()
    until = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")  # datetime-local, UTC
    proposed = author.post(f"/disclosures/{case.uuid}/embargo_propose/", {"until": until}, follow=True)
    case.refresh_from_db()
    assert proposed.status_code == 200 and case.embargo_state == EmbargoState.PROPOSED
    assert case.embargo_proposed_until is not None
    assert case.embargo_proposed_until.strftime("%Y-%m-%dT%H:%M") == until
    stray = author.post(
        f"/disclosures/{case.uuid}/comment/", {"body": "Hello.", "choice": "approve"}, follow=True
    )
    assert b"Unknown field" in stray.content and not case.comments.exists()  # only the row's fields
    empty = author.post(f"/disclosures/{case.uuid}/withdraw/", {"reason": ""}, follow=True)
    assert b"Write a rationale" in empty.content  # an empty input is not given: the service says so
    case.refresh_from_db()
    assert case.state == CaseState.REVIEW
