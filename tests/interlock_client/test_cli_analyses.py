"""`interlock analyse` (following by default, `--no-follow`) and `interlock analysis
list|show|rerun|compare` against a live server. The test plays the worker through the internal
job API (claim, then a result sealed to the platform, or a failure), so the command line sees
analyses finish exactly as a real worker would finish them."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
from django.test import Client

from interlock.analyses import keys
from interlock.analyses.models import AnalysisRequest
from interlock.analyses.services import requester
from interlock.analyses.services.dispatch import analysis_ticket
from interlock.analyses.services.requester import analysis_request_create
from interlock_wire import result_ad, seal
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, signed_post, uploaded_checkpoint, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lab(network, api_client_for, monkeypatch):
    monkeypatch.setattr(requester, "analysis_dispatch", lambda **_: None)  # the test is the worker
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    return owner, checkpoint


def _claimed(request: AnalysisRequest) -> tuple[Client, str]:
    ticket = analysis_ticket(request)
    worker = Client()
    assert signed_post(worker, "/internal/jobs/claim/", {"ticket": ticket}).status_code == 200
    return worker, ticket


def _succeed(request: AnalysisRequest, metrics: dict) -> None:
    worker, ticket = _claimed(request)
    request.refresh_from_db()
    sealed = seal(
        keys.platform_result_key().public_key(),
        json.dumps({"metrics": metrics, "seconds": 1.0}).encode(),
        result_ad(ticket_id=str(request.ticket_id)),
    )
    body = {"ticket": ticket, "sealed_result": base64.urlsafe_b64encode(sealed).decode()}
    assert signed_post(worker, "/internal/jobs/result/", body).status_code == 200


def _fail(request: AnalysisRequest) -> None:
    worker, ticket = _claimed(request)
    body = {"ticket": ticket, "error_class": "ValueError", "message": "chain 1 diverged", "permanent": True}
    assert signed_post(worker, "/internal/jobs/fail/", body).status_code == 200


def _analysis(owner, checkpoint, **params) -> AnalysisRequest:
    return analysis_request_create(
        actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params={**FAST, **params}
    )


@pytest.mark.parametrize(("ending", "flags", "code"), [("succeeded", [], 0), ("failed", ["--follow"], 5)])
def test_analyse_follows_by_default_and_exits_by_how_it_ended(lab, cli_for, ending, flags, code) -> None:
    """`--follow` is the default, and also accepted as written (it was a usage error once)."""
    owner, checkpoint = lab
    cli = cli_for(owner)
    command = [sys.executable, "-c", "from interlock_client.cli import main; main()"]
    args = ["analyse", str(checkpoint.uuid), "--kind", "llc", "--params", json.dumps(FAST), *flags]
    following = subprocess.Popen(
        [*command, *args], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: AnalysisRequest.objects.filter(checkpoint=checkpoint).exists(), seconds=60)
        request = AnalysisRequest.objects.get(checkpoint=checkpoint)
        assert following.poll() is None  # still following a queued analysis
        if ending == "succeeded":
            _succeed(request, {"llc": {"mean": 1.25}})
        else:
            _fail(request)
        out, err = following.communicate(timeout=60)
    finally:
        following.kill()
    assert following.returncode == code, err
    assert out.splitlines()[0].startswith(f"{request.uuid}  llc  {ending}")
    if ending == "succeeded":
        assert json.loads(out.split("\n", 1)[1]) == {"llc": {"mean": 1.25}, "seconds": 1.0}
    else:
        assert "ValueError — chain 1 diverged" in out


def test_analyse_no_follow_returns_the_id_at_once_and_bad_requests_are_one_line(
    lab, cli_for, network
) -> None:
    owner, checkpoint = lab
    cli = cli_for(owner)
    printed = cli.ok(
        "analyse", str(checkpoint.uuid), "--kind", "llc", "--params", json.dumps(FAST), "--no-follow"
    )
    request = AnalysisRequest.objects.get(uuid=printed.strip())
    assert request.state == "queued"
    assert "--params" in cli.refused(
        "analyse", str(checkpoint.uuid), "--kind", "llc", "--params", "{x", code=2
    )
    assert "kind" in cli.refused("analyse", str(checkpoint.uuid), "--kind", "nope", "--no-follow", code=4)
    stranger = cli_for(network.person(clearance=3))
    stranger.refused("analyse", str(checkpoint.uuid), "--kind", "llc", "--no-follow", code=3)


def test_analysis_list_and_show_with_json_parsed_back(lab, cli_for, network) -> None:
    owner, checkpoint = lab
    done, queued = _analysis(owner, checkpoint), _analysis(owner, checkpoint)
    _succeed(done, {"llc": {"mean": 2.0}})
    cli = cli_for(owner)
    listed = cli.json("analysis", "list")
    assert [row["id"] for row in listed["results"]] == [str(queued.uuid), str(done.uuid)]
    only = cli.json("analysis", "list", "--state", "succeeded", "--checkpoint", str(checkpoint.uuid))
    assert [row["id"] for row in only["results"]] == [str(done.uuid)]
    table = cli.ok("analysis", "list")
    assert f"{done.uuid}  llc" in table and "succeeded" in table and table.strip().endswith("2 analyses")
    shown = cli.json("analysis", "show", str(done.uuid))
    assert (shown["state"], shown["metrics"]["llc"]) == ("succeeded", {"mean": 2.0})
    assert cli.ok("analysis", "show", str(done.uuid)).startswith(f"{done.uuid}  llc  succeeded")
    assert "state" in cli.refused("analysis", "list", "--state", "done", code=2)
    assert "checkpoint" in cli.refused("analysis", "list", "--checkpoint", "nope", code=4)
    stranger = cli_for(network.person(clearance=3))
    assert stranger.json("analysis", "list")["results"] == []
    stranger.refused("analysis", "show", str(done.uuid), code=3)


def test_analysis_rerun_requests_the_same_analysis_again(lab, cli_for) -> None:
    owner, checkpoint = lab
    earlier = _analysis(owner, checkpoint, num_draws=40)
    cli = cli_for(owner)
    again = AnalysisRequest.objects.get(
        uuid=cli.ok("analysis", "rerun", str(earlier.uuid), "--no-follow").strip()
    )
    assert again.pk != earlier.pk
    assert (again.checkpoint_id, again.kind, again.params, again.dataset) == (
        earlier.checkpoint_id,
        earlier.kind,
        earlier.params,
        earlier.dataset,
    )
    cli.refused("analysis", "rerun", "00000000-0000-0000-0000-000000000000", "--no-follow", code=3)


def test_analysis_compare_puts_metrics_and_differing_parameters_side_by_side(lab, cli_for) -> None:
    owner, checkpoint = lab
    short, long = _analysis(owner, checkpoint, num_draws=40), _analysis(owner, checkpoint, num_draws=80)
    _succeed(short, {"llc": {"mean": 1.5, "std": 0.25}, "trace": [1, 2, 3]})
    _succeed(long, {"llc": {"mean": 1.75, "std": 0.125}, "trace": [1, 2]})
    cli = cli_for(owner)
    compared = cli.json("analysis", "compare", str(short.uuid), str(long.uuid))
    assert [a["id"] for a in compared["analyses"]] == [str(short.uuid), str(long.uuid)]
    assert compared["metrics"]["llc.mean"] == [1.5, 1.75]
    assert compared["metrics"]["trace"] == ["[3 values]", "[2 values]"]
    assert compared["differing_inputs"] == {"params.num_draws": [40, 80]}
    table = cli.ok("analysis", "compare", str(short.uuid), str(long.uuid)).splitlines()
    assert table[0].split()[:2] == ["metric", str(short.uuid)[:8]]
    assert any(line.split() == ["llc.std", "0.25", "0.125"] for line in table)
    assert any(line.split() == ["≠", "params.num_draws", "40", "80"] for line in table)
    cli.refused("analysis", "compare", str(short.uuid), "00000000-0000-0000-0000-000000000000", code=3)
