"""The case page a reviewer reads and acts on: rendered texts, the redaction as a coloured diff,
the decision as a record, controls shown only when they can work now, open calls that say what
they are (to eligible people only), the outcome after the deciding vote, and a new-case form that
names its finding and starts from its text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interlock.disclosure.models import DisclosureCase, PriorAffiliation
from interlock.disclosure.services.cases import case_assign, case_declare_conflict, case_open
from interlock.disclosure.services.reviews import case_vote
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.disclosure import ASSESSMENT, SECRET, redacted_body

pytestmark = pytest.mark.django_db
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb924"


def _signed_in(lab: dict[str, Any], name: str) -> Any:
    lab[name].set_password(PASSWORD)
    lab[name].save()
    return lab["network"].signed_in_client(lab[name])


def _case(
    lab: dict[str, Any], *, redact: bool = True, reviewers: tuple[str, ...] = ("b1",)
) -> DisclosureCase:
    case = case_open(
        actor=principal_for(lab["author"]),
        finding_uuid=lab["finding"].uuid,
        target="network",
        rationale="Others should compare with their runs.",
        assessment=ASSESSMENT,
        redacted_body=redacted_body() if redact else None,
    )
    for name in reviewers:
        case_assign(actor=principal_for(lab["steward_c"]), case_uuid=case.uuid, person_uuid=lab[name].uuid)
    return case


def test_the_case_page_renders_both_texts_and_colours_the_redaction(lab: dict[str, Any]) -> None:
    case = _case(lab)
    page = _signed_in(lab, "b1").get(f"/disclosures/{case.uuid}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<p>The bump coincides with the induction score.</p>" in html  # Markdown, rendered
    assert '<li class="diff-removed">' in html and f"<del>{SECRET}</del>" in html
    assert "Redaction: what changes from the pinned revision" in html
    assert "<pre" not in html  # no unwrapped raw text
    assert "{&#x27;" not in html and "{'" not in html  # no Python dict on the page


def test_no_redaction_is_said_in_words_not_as_the_empty_diffs_hash(lab: dict[str, Any]) -> None:
    case = _case(lab, redact=False)
    html = _signed_in(lab, "b1").get(f"/disclosures/{case.uuid}/").content.decode()
    assert "No redaction: the text to be released is the pinned revision" in html
    assert EMPTY_SHA256 not in html and 'class="diff-removed"' not in html


def test_a_conflicted_reviewer_sees_no_vote_form(lab: dict[str, Any]) -> None:
    case = _case(lab, reviewers=("b1", "b2"))
    case_declare_conflict(
        actor=principal_for(lab["b1"]), case_uuid=case.uuid, relation="I advise the owner lab."
    )
    PriorAffiliation.objects.create(
        person=lab["b2"], organisation=lab["owner"], ended_on=timezone.now().date() - timedelta(days=30)
    )
    for name in ("b1", "b2"):
        html = _signed_in(lab, name).get(f"/disclosures/{case.uuid}/").content.decode()
        assert f"/disclosures/{case.uuid}/vote/" not in html and 'name="choice"' not in html, name
        assert "you may comment, but not vote" in html, name
        assert f"/disclosures/{case.uuid}/comment/" in html, name
    lab["c1"].set_password(PASSWORD)
    case_assign(actor=principal_for(lab["steward_b"]), case_uuid=case.uuid, person_uuid=lab["c1"].uuid)
    assert (
        f"/disclosures/{case.uuid}/vote/"
        in _signed_in(lab, "c1").get(f"/disclosures/{case.uuid}/").content.decode()
    )


def test_close_the_review_appears_only_after_the_deadline(lab: dict[str, Any]) -> None:
    case = _case(lab)
    steward = _signed_in(lab, "steward_c")
    before = steward.get(f"/disclosures/{case.uuid}/").content.decode()
    assert f"/disclosures/{case.uuid}/decide/" not in before
    assert f"/disclosures/{case.uuid}/assign/" in before  # the steward's other controls are there
    DisclosureCase.objects.filter(pk=case.pk).update(review_deadline=timezone.now() - timedelta(minutes=1))
    after = steward.get(f"/disclosures/{case.uuid}/").content.decode()
    assert f"/disclosures/{case.uuid}/decide/" in after and "This cannot be undone." in after
    # a reviewer and the author never see it, deadline or not
    assert (
        f"/disclosures/{case.uuid}/decide/"
        not in _signed_in(lab, "author").get(f"/disclosures/{case.uuid}/").content.decode()
    )


def test_controls_follow_the_policy_and_the_state(lab: dict[str, Any]) -> None:
    case = _case(lab)
    author = _signed_in(lab, "author").get(f"/disclosures/{case.uuid}/").content.decode()
    assert f"/disclosures/{case.uuid}/withdraw/" in author and f"/disclosures/{case.uuid}/vote/" not in author
    assert f"/disclosures/{case.uuid}/repin/" not in author  # no newer revision to pin
    assert f"/disclosures/{case.uuid}/embargo_propose/" in author
    assert f"/disclosures/{case.uuid}/embargo_accept/" not in author  # a steward's, and none proposed
    reviewer = _signed_in(lab, "b1").get(f"/disclosures/{case.uuid}/").content.decode()
    assert f"/disclosures/{case.uuid}/withdraw/" not in reviewer
    assert f"/disclosures/{case.uuid}/assign/" not in reviewer


def test_open_calls_say_what_they_are_and_reach_only_eligible_people(lab: dict[str, Any]) -> None:
    network = lab["network"]
    case = _case(lab, reviewers=())
    html = _signed_in(lab, "c1").get("/disclosures/").content.decode()
    assert f"/disclosures/{case.uuid}/volunteer/" in html
    assert "Induction heads form at the loss bump" in html and "Owner Lab" in html and "H0" in html
    assert "The whole network" in html and SECRET not in html
    # an owner-organisation colleague, and a person below the finding's tier, are not eligible
    lab["finding"].hazard_tier = 1
    lab["finding"].save(update_fields=["hazard_tier"])
    lab["low"] = network.person(lab["gamma"], clearance=0)
    for name in ("colleague", "low"):
        assert (
            f"/disclosures/{case.uuid}/volunteer/"
            not in _signed_in(lab, name).get("/disclosures/").content.decode()
        )


def test_the_deciding_voter_sees_the_outcome_and_others_do_not(lab: dict[str, Any]) -> None:
    case = _case(lab)
    reviewer = _signed_in(lab, "b1")
    voted = reviewer.post(
        f"/disclosures/{case.uuid}/vote/", {"choice": "approve", "rationale": "The redaction suffices."}
    )
    assert voted["Location"] == f"/disclosures/{case.uuid}/outcome/"
    outcome = reviewer.get(voted["Location"]).content.decode()
    assert "Approved" in outcome and "by the quorum, at the deciding vote" in outcome
    assert "The redaction suffices." in outcome and SECRET not in outcome
    assert reviewer.get(f"/disclosures/{case.uuid}/").status_code == 404  # the case itself: access ended
    for name in ("c1", "colleague"):  # never reviewers: no outcome either
        assert _signed_in(lab, name).get(f"/disclosures/{case.uuid}/outcome/").status_code == 404
    # the author reads the decision on the case page, as a record
    author = _signed_in(lab, "author").get(f"/disclosures/{case.uuid}/").content.decode()
    assert "Decision" in author and "by the quorum, at the deciding vote" in author
    assert "<strong>Reviewer A</strong>: Approve — The redaction suffices." in author
    assert "Quorum rule</dt><dd>1 approval from 1 organisation" in author


def test_the_outcome_page_ends_with_the_reviewers_clearance(lab: dict[str, Any]) -> None:
    case = _case(lab)
    case_vote(actor=principal_for(lab["b1"]), case_uuid=case.uuid, choice="approve", rationale="Fine to go.")
    reviewer = _signed_in(lab, "b1")
    assert reviewer.get(f"/disclosures/{case.uuid}/outcome/").status_code == 200
    lab["b1"].clearance = 0
    lab["b1"].save(update_fields=["clearance"])
    lab["finding"].hazard_tier = 1
    lab["finding"].save(update_fields=["hazard_tier"])
    assert reviewer.get(f"/disclosures/{case.uuid}/outcome/").status_code == 404


def test_the_new_case_form_names_the_finding_and_starts_from_its_text(lab: dict[str, Any]) -> None:
    author = _signed_in(lab, "author")
    html = author.get(f"/findings/{lab['finding'].uuid}/disclose/").content.decode()
    assert "Request a disclosure review of “Induction heads form at the loss bump”" in html
    body = html.split('id="redacted_body"', 1)[1].split("</textarea>", 1)[0]
    assert SECRET in body  # the pinned text, to delete from
    assert 'value="Induction heads form at the loss bump"' in html
