"""`interlock findings list|show|comment|share|grant` against a live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from interlock.findings.models import Finding, FindingGrant
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock_client import InterlockClient
from tests.interlock.builders import principal_for

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def lab(network):
    org = network.org()
    author = network.person(org, clearance=1)
    colleague = network.person(org, clearance=1)
    outsider = network.person(clearance=1)
    finding = finding_create(
        actor=principal_for(author),
        title="Probe directions drift",
        body="They drift by step 400.",
        label="amber",
    )
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    return {"author": author, "colleague": colleague, "outsider": outsider, "finding": finding}


def test_findings_list_filters_by_a_tlp_label_and_its_json_parses_back(lab, cli_for) -> None:
    cli = cli_for(lab["colleague"])
    listed = cli.json("findings", "list", "--label", "TLP:AMBER")
    assert [row["id"] for row in listed["results"]] == [str(lab["finding"].uuid)]
    assert listed["results"][0]["state"] == "shared"
    assert cli.json("findings", "list", "--label", "green")["results"] == []
    table = cli.ok("findings", "list", "--label", "amber")
    assert "TLP:AMBER" in table and "shared" in table and table.strip().endswith("1 finding")
    assert "unknown TLP label 'AMBRE'" in cli.refused("findings", "list", "--label", "AMBRE", code=2)


def test_findings_show_prints_state_and_label(lab, cli_for) -> None:
    cli = cli_for(lab["colleague"])
    finding_id = str(lab["finding"].uuid)
    first = cli.ok("findings", "show", finding_id).splitlines()[0]
    assert first.startswith(f"{finding_id}  shared  TLP:AMBER  H0  revision 1")
    assert "They drift by step 400." in cli.ok("findings", "show", finding_id)
    shown = cli.json("findings", "show", finding_id)
    assert (shown["state"], shown["label"], shown["body"]) == ("shared", "amber", "They drift by step 400.")
    # an outsider is told exactly what a missing id tells them
    outsider = cli_for(lab["outsider"])
    assert outsider.refused("findings", "show", finding_id, code=3) == outsider.refused(
        "findings", "show", MISSING, code=3
    )


def test_findings_comment_adds_a_comment_and_refuses_bad_ones_in_one_line(
    lab, cli_for, live_server, tmp_path
) -> None:
    cli = cli_for(lab["colleague"])
    finding_id = str(lab["finding"].uuid)
    first = cli.ok("findings", "comment", finding_id, "--body", "Same in our runs.").strip()
    note = tmp_path / "reply.txt"
    note.write_text("And at step 800.")
    reply = cli.ok("findings", "comment", finding_id, "--body-file", str(note), "--reply-to", first).strip()
    piped = cli.ok("findings", "comment", finding_id, "--body-file", "-", stdin="From stdin.").strip()
    with InterlockClient(live_server.url, cli.token) as client:
        thread = {c["id"]: c for c in client.finding_comments(finding_id)}
    assert thread[first]["body"] == "Same in our runs." and thread[first]["parent"] is None
    assert (thread[reply]["body"], thread[reply]["parent"]) == ("And at step 800.", first)
    assert thread[piped]["body"] == "From stdin."
    assert "body" in cli.refused("findings", "comment", finding_id, "--body", "", code=4)
    assert "--body" in cli.refused("findings", "comment", finding_id, code=2)
    assert "cannot read the body" in cli.refused(
        "findings", "comment", finding_id, "--body-file", str(tmp_path / "nope.txt"), code=2
    )
    cli_for(lab["outsider"]).refused("findings", "comment", finding_id, "--body", "hi", code=3)


def test_findings_share_takes_tlp_labels_and_refuses_what_tlp_forbids(lab, cli_for) -> None:
    cli = cli_for(lab["author"])
    finding_id = str(lab["finding"].uuid)
    shared = cli.ok("findings", "share", finding_id, "--label", "TLP:GREEN", "--network").strip()
    assert shared == f"{finding_id}  shared  TLP:GREEN"
    finding = Finding.objects.get(uuid=lab["finding"].uuid)
    assert (finding.label, finding.audience_network) == ("green", True)
    # AMBER+STRICT never reaches the whole network: refused by the platform, one line
    refused = cli.refused("findings", "share", finding_id, "--label", "TLP:AMBER+STRICT", "--network", code=4)
    assert refused.startswith("interlock: ")
    assert Finding.objects.get(uuid=lab["finding"].uuid).label == "green"
    cli.refused("findings", "share", finding_id, "--label", "purple", "--own-org", code=2)
    cli.refused("findings", "share", MISSING, "--label", "amber", "--own-org", code=3)


def test_findings_grant_names_a_person_until_a_time(lab, cli_for, network) -> None:
    cli = cli_for(lab["author"])
    finding_id = str(lab["finding"].uuid)
    reader = network.person(clearance=1)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    granted = cli.ok(
        "findings", "grant", finding_id, "--person", str(reader.uuid), "--capability", "comment",
        "--until", until.isoformat(), "--reason", "co-author of the follow-up",
    )  # fmt: skip
    assert granted.startswith(f"{reader.uuid}  comment  until ")
    grant = FindingGrant.objects.get(user=reader)
    assert (grant.permission.codename, grant.expires_at) == ("comment_finding", until)
    # the grantee now reads it from the command line too
    assert cli_for(reader).json("findings", "show", finding_id)["title"] == "Probe directions drift"
    person = ("--person", str(reader.uuid), "--reason", "x")
    assert "--until" in cli.refused("findings", "grant", finding_id, *person, "--until", "tomorrow", code=2)
    assert "--days" in cli.refused("findings", "grant", finding_id, *person, "--days", "0", code=2)
    cli.refused("findings", "grant", finding_id, "--person", "nobody", "--reason", "x", code=4)
    cli_for(lab["outsider"]).refused("findings", "grant", finding_id, *person, code=3)
