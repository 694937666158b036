"""`interlock disclosure list|show|vote` against a live server."""

from __future__ import annotations

import pytest

from interlock.disclosure.models import Vote
from interlock.disclosure.services.cases import case_assign, case_open
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import principal_for
from tests.support.disclosure import ASSESSMENT, redacted_body

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def review(network):
    """A case widening an AMBER finding to the network, two reviewers of other organisations seated."""
    owner, beta, gamma = network.org(), network.org(), network.org()
    author = network.person(owner, clearance=1)
    finding = finding_create(
        actor=principal_for(author), title="Induction heads at the bump", body="Body.", label="amber"
    )
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    case = case_open(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Useful to every lab.",
        assessment=ASSESSMENT,
        redacted_body=redacted_body(),
    )
    steward = network.person(beta, steward=True, clearance=1)
    reviewers = [network.person(beta, clearance=1), network.person(gamma, clearance=1)]
    for person in reviewers:
        case_assign(actor=principal_for(steward), case_uuid=case.uuid, person_uuid=person.uuid)
    outsider = network.person(network.org(), clearance=1)
    return {"case": case, "author": author, "reviewers": reviewers, "outsider": outsider}


def test_disclosure_list_and_show_with_json_parsed_back(review, cli_for) -> None:
    case_id = str(review["case"].uuid)
    author = cli_for(review["author"])
    listed = author.json("disclosure", "list")
    assert [(row["id"], row["state"], row["target"]) for row in listed["results"]] == [
        (case_id, "review", "network")
    ]
    assert author.ok("disclosure", "list").strip().endswith("1 case")
    shown = cli_for(review["reviewers"][0]).json("disclosure", "show", case_id)
    assert (shown["state"], shown["pinned_revision"]["number"]) == ("review", 1)
    text = author.ok("disclosure", "show", case_id)
    assert text.startswith(f"{case_id}  review  to network")
    assert "quorum    0/" in text and "Induction heads at the bump" in text
    outsider = cli_for(review["outsider"])
    assert outsider.json("disclosure", "list")["results"] == []
    assert outsider.refused("disclosure", "show", case_id, code=3) == outsider.refused(
        "disclosure", "show", MISSING, code=3
    )
    assert isinstance(outsider.json("disclosure", "list", "--calls")["results"], list)


def test_disclosure_vote_by_seated_reviewers_and_refusals_in_one_line(review, cli_for) -> None:
    case_id = str(review["case"].uuid)
    first, second = (cli_for(person) for person in review["reviewers"])
    voted = first.ok("disclosure", "vote", case_id, "reject", "--rationale", "Too close to a recipe.")
    assert voted.startswith(f"{case_id}  review")
    vote = Vote.objects.get(reviewer__person=review["reviewers"][0])
    assert (vote.choice, vote.rationale) == ("reject", "Too close to a recipe.")
    shown = first.json("disclosure", "show", case_id)
    assert [(v["choice"], v["rationale"]) for v in shown["votes"]] == [("reject", "Too close to a recipe.")]
    refused = first.refused("disclosure", "vote", case_id, "approve", "--rationale", "", code=4)
    assert "rationale" in refused.lower()
    assert "choice" in first.refused("disclosure", "vote", case_id, "maybe", "--rationale", "x", code=2)
    # not a reviewer of the case; an outsider who cannot see it reads it as missing
    cli_for(review["author"]).refused("disclosure", "vote", case_id, "approve", "--rationale", "mine", code=3)
    cli_for(review["outsider"]).refused("disclosure", "vote", case_id, "approve", "--rationale", "x", code=3)
    # the vote that meets the quorum approves the case; the reviewer's access ends with it
    approved = second.ok(
        "disclosure",
        "vote",
        case_id,
        "approve-with-changes",
        "--rationale-file",
        "-",
        stdin="Fine once the table is redacted.",
    )
    assert approved.strip() == f"{case_id}  approved  Your access to this case has ended."
    assert Vote.objects.get(reviewer__person=review["reviewers"][1]).choice == "approve_with_changes"
    assert cli_for(review["author"]).json("disclosure", "show", case_id)["state"] == "approved"
