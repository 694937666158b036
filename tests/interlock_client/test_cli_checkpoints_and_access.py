"""`interlock checkpoint list|show|approve|revoke` and `interlock access request|list|decide`
against a live server."""

from __future__ import annotations

import pytest

from interlock.accounts.models import Role
from interlock.checkpoints.models import AnalysisAccessGrant, Checkpoint
from tests.support.analyses import uploaded_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)
MISSING = "00000000-0000-0000-0000-000000000000"


def test_checkpoint_list_and_show_with_json_parsed_back(network, api_client_for, cli_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for, level=2)
    cli = cli_for(owner)
    listed = cli.json("checkpoint", "list")
    assert [row["id"] for row in listed["results"]] == [str(checkpoint.uuid)]
    assert listed["results"][0]["approval"]["access_level"] == 2
    table = cli.ok("checkpoint", "list")
    assert f"{checkpoint.uuid}  uploaded" in table and "AL2 until " in table
    assert table.strip().endswith("1 checkpoint")
    shown = cli.json("checkpoint", "show", str(checkpoint.uuid))
    assert (shown["sha256"], shown["state"]) == (checkpoint.sha256, "uploaded")
    text = cli.ok("checkpoint", "show", str(checkpoint.uuid))
    assert f"sha256   {checkpoint.sha256}" in text and "analyses " in text
    stranger = cli_for(network.person(clearance=3))
    assert stranger.json("checkpoint", "list")["count"] == 0
    assert stranger.refused("checkpoint", "show", str(checkpoint.uuid), code=3) == stranger.refused(
        "checkpoint", "show", MISSING, code=3
    )
    cli.refused("checkpoint", "list", "--page", "0", code=2)


def test_checkpoint_approve_with_a_token_is_refused_in_one_line_saying_to_use_the_web(
    network, api_client_for, cli_for
) -> None:
    """Approving needs a re-authentication younger than ten minutes (SECURITY.md), which only a
    browser session gives: the command line says so, and nothing is approved."""
    _, checkpoint = uploaded_checkpoint(network, api_client_for, approve=False)
    steward = cli_for(network.person(steward=True, clearance=1))
    line = steward.refused(
        "checkpoint", "approve", str(checkpoint.uuid), "--level", "1", "--sha256", checkpoint.sha256, code=3
    )
    assert "re-authentication" in line and "web page" in line
    assert steward.json("checkpoint", "show", str(checkpoint.uuid))["approval"] is None
    # bad input is refused before that, as input
    assert "sha256" in steward.refused(
        "checkpoint", "approve", str(checkpoint.uuid), "--level", "1", "--sha256", "abc", code=4
    )
    steward.refused(
        "checkpoint", "approve", str(checkpoint.uuid), "--level", "4", "--sha256", checkpoint.sha256, code=2
    )


def test_checkpoint_revoke_by_a_steward(network, api_client_for, cli_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    steward = cli_for(network.person(steward=True, clearance=1))
    revoked = steward.ok("checkpoint", "revoke", str(checkpoint.uuid), "--reason", "weights leaked upstream")
    assert revoked.startswith(f"{checkpoint.uuid}  ") and "not approved" in revoked
    assert cli_for(owner).json("checkpoint", "show", str(checkpoint.uuid))["approval"] is None
    assert "reason" in steward.refused("checkpoint", "revoke", str(checkpoint.uuid), code=2)
    cli_for(owner).refused("checkpoint", "revoke", str(checkpoint.uuid), "--reason", "mine", code=3)


def test_access_request_list_and_decide(network, api_client_for, cli_for) -> None:
    owner, checkpoint = uploaded_checkpoint(network, api_client_for, level=1)
    admin = network.person(owner.organisation, role=Role.ORG_ADMIN, clearance=1)
    asker = network.person(clearance=1)
    cli = cli_for(asker)
    said = cli.ok("access", "request", str(checkpoint.uuid), "--reason", "replicate the LLC curve")
    # the same answer whether or not the checkpoint exists
    assert said == cli.ok("access", "request", MISSING, "--reason", "replicate the LLC curve")
    assert cli.json("access", "list")["results"] == []  # not an admin of the owner organisation
    admins = cli_for(admin)
    pending = admins.json("access", "list")["results"]
    assert [(row["checkpoint"], row["reason"]) for row in pending] == [
        (str(checkpoint.uuid), "replicate the LLC curve")
    ]
    assert "1 pending request" in admins.ok("access", "list")
    decided = admins.ok("access", "decide", pending[0]["id"], "approve", "--days", "7")
    assert decided.startswith(f"{pending[0]['id']}  approved  until ")
    assert AnalysisAccessGrant.objects.get(uuid=pending[0]["id"]).state == "approved"
    assert "decision" in admins.refused("access", "decide", pending[0]["id"], "maybe", code=2)
    admins.refused("access", "decide", MISSING, "refuse", code=3)
    cli.refused("access", "request", "not-an-id", "--reason", "x", code=4)
    assert Checkpoint.objects.filter(uuid=checkpoint.uuid).exists()
