"""The researcher client and its command line against a live server started by the test."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.test import Client

from interlock.accounts.services import api_token_create
from interlock.analyses.services import requester
from interlock.analyses.services.dispatch import analysis_ticket
from interlock.analyses.services.requester import analysis_request_create
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from interlock_client import InterlockClient, InterlockError
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, signed_post, uploaded_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)
# The command line runs in a subprocess: this checkout's client, not whichever one is installed.
CLI_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "clients" / "python")}


@pytest.fixture
def researcher(network):
    person = network.person(clearance=1)
    token = api_token_create(
        actor=principal_for(person), name="client", scopes=["read", "write"], days=1
    ).secret
    return person, token


def test_client_reads_findings_and_moves_artifacts(live_server, researcher, tmp_path: Path) -> None:
    person, token = researcher
    finding = finding_create(
        actor=principal_for(person), title="Client-visible finding", body="body text", label="green"
    )
    finding_share(
        actor=principal_for(person), finding_uuid=finding.uuid, label="green", audience=Audience(network=True)
    )
    with InterlockClient(live_server.url, token) as client:
        assert client.me()["email"] == person.email
        listing = client.findings(label="green")
        assert [f["title"] for f in listing["results"]] == ["Client-visible finding"]
        assert client.finding(str(finding.uuid))["body"] == "body text"
        source = tmp_path / "activations.bin"
        source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
        sent: list[int] = []
        artifact = client.upload(
            source, parent_type="finding", parent_id=str(finding.uuid), progress=sent.append
        )
        assert sum(sent) == source.stat().st_size
        out = io.BytesIO()
        digest = client.download(artifact["id"], out)
        assert (
            out.getvalue() == source.read_bytes()
            and digest == hashlib.sha256(source.read_bytes()).hexdigest()
        )
        with pytest.raises(InterlockError) as missing:
            client.finding("00000000-0000-0000-0000-000000000000")
        assert missing.value.status == 404 and missing.value.code == "not_found"
        with pytest.raises(InterlockError) as invalid:
            client.create_finding(title="", body="x")
        assert invalid.value.status == 400 and "title" in invalid.value.fields


def test_transient_errors_are_retried_and_then_reported() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            return httpx.Response(
                503, json={"error": {"code": "unavailable", "message": "busy", "fields": {}}}
            )
        return httpx.Response(200, json={"email": "x@example.org"})

    client = InterlockClient("http://test", "ilk_x_y", transport=httpx.MockTransport(flaky), backoff=0.0)
    assert client.me()["email"] == "x@example.org" and len(calls) == 3

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    broken = InterlockClient(
        "http://test", "ilk_x_y", transport=httpx.MockTransport(down), backoff=0.0, retries=2
    )
    with pytest.raises(InterlockError, match="could not reach"):
        broken.me()


def test_cli_prints_one_readable_line_and_exits_non_zero_on_errors(
    live_server, researcher, tmp_path: Path
) -> None:
    person, token = researcher
    env = {**CLI_ENV, "INTERLOCK_URL": live_server.url}

    def cli(*args: str, token_value: str | None = token) -> subprocess.CompletedProcess[str]:
        extra = {"INTERLOCK_TOKEN": token_value} if token_value else {}
        command = [sys.executable, "-c", "from interlock_client.cli import main; main()", *args]
        return subprocess.run(command, env={**env, **extra}, capture_output=True, text=True, timeout=60)

    ok = cli("findings", "list")
    assert ok.returncode == 0 and "finding" in ok.stdout.splitlines()[-1]
    bad_token = cli("me", token_value="ilk_bad_token")
    assert bad_token.returncode == 3 and bad_token.stderr.strip().startswith("interlock: ")
    assert len(bad_token.stderr.strip().splitlines()) == 1
    missing_file = cli("upload", str(tmp_path / "nope.bin"), "--parent-type", "library", "--parent-id", "x")
    assert missing_file.returncode == 2 and "is not a file" in missing_file.stderr
    upload = tmp_path / "notes.txt"
    upload.write_text("hello")
    done = cli(
        "upload", str(upload), "--parent-type", "library", "--parent-id", str(person.organisation.uuid)
    )
    assert done.returncode == 0, done.stderr
    artifact_id = done.stdout.split()[0]
    target = tmp_path / "back.txt"
    fetched = cli("download", artifact_id, "-o", str(target))
    assert fetched.returncode == 0 and target.read_text() == "hello"


def test_cli_shows_why_an_analysis_failed(live_server, network, api_client_for, monkeypatch) -> None:
    """`interlock analysis show` of a failed analysis names the exception's class and the public
    line of its message, as the worker reported them through the internal job API."""
    monkeypatch.setattr(requester, "analysis_dispatch", lambda **_: None)  # no queue: the test is the worker
    owner, checkpoint = uploaded_checkpoint(network, api_client_for)
    request = analysis_request_create(
        actor=principal_for(owner), checkpoint_uuid=checkpoint.uuid, kind="llc", params=FAST
    )
    ticket = analysis_ticket(request)
    worker = Client()
    assert signed_post(worker, "/internal/jobs/claim/", {"ticket": ticket}).status_code == 200
    failed = signed_post(
        worker,
        "/internal/jobs/fail/",
        {
            "ticket": ticket,
            "error_class": "IndexError",
            "message": "list index out of range",
            "permanent": True,
        },
    )
    assert failed.json() == {"state": "failed"}
    token = api_token_create(
        actor=principal_for(owner), name="cli", scopes=["read", "analyses"], days=1
    ).secret
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from interlock_client.cli import main; main()",
            "analysis",
            "show",
            str(request.uuid),
        ],
        env={**CLI_ENV, "INTERLOCK_URL": live_server.url, "INTERLOCK_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{request.uuid}  llc  failed  IndexError — list index out of range"


def test_a_researcher_uploads_and_lists_their_organisations_datasets(
    live_server, network, researcher, tmp_path: Path
) -> None:
    import torch
    from safetensors.torch import save_file

    person, token = researcher
    env = {**CLI_ENV, "INTERLOCK_URL": live_server.url, "INTERLOCK_TOKEN": token}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from interlock_client.cli import main; main()", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    ids = tmp_path / "ids.safetensors"
    save_file(
        {"input_ids": torch.randint(0, 50, (6, 9)), "attention_mask": torch.ones(6, 9, dtype=torch.int64)},
        ids,
    )
    done = cli(
        "dataset", "upload", str(ids), "--name", "our corpus", "--format", "token_ids", "--label", "TLP:AMBER"
    )
    assert done.returncode == 0, done.stderr
    dataset_id = done.stdout.split()[0]
    assert f"{dataset_id}  6 rows  sha256 {hashlib.sha256(ids.read_bytes()).hexdigest()}" in done.stdout
    text = tmp_path / "lines.jsonl"
    text.write_text('{"text": "one"}\n{"text": "two"}\n')
    with InterlockClient(live_server.url, token) as client:
        uploaded = client.upload_dataset(text, name="notes", file_format="jsonl_text")
        assert (uploaded["rows"], uploaded["label"], uploaded["state"]) == (2, "amber_strict", "uploaded")
        assert {d["id"] for d in client.datasets()["results"]} == {dataset_id, uploaded["id"]}
    listed = cli("dataset", "list")
    assert listed.returncode == 0 and "2 datasets" in listed.stdout and "6×9" in listed.stdout
    as_json = cli("dataset", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    page = json.loads(as_json.stdout)
    assert page["count"] == 2 and {d["id"] for d in page["results"]} == {dataset_id, uploaded["id"]}
    assert {d["label"] for d in page["results"]} == {"amber", "amber_strict"}
    # a colleague sees the AMBER one only; bad input is one readable line and a non-zero exit
    colleague = network.person(person.organisation, clearance=1)
    colleague_token = api_token_create(
        actor=principal_for(colleague), name="c", scopes=["read"], days=1
    ).secret
    with InterlockClient(live_server.url, colleague_token) as client:
        assert [d["id"] for d in client.datasets()["results"]] == [dataset_id]
    for bad in (
        ("dataset", "upload", str(ids), "--name", "x", "--format", "parquet"),
        ("dataset", "upload", str(ids), "--name", "x", "--format", "token_ids", "--label", "red"),
        ("dataset", "upload", str(text), "--name", "x", "--format", "token_ids"),
    ):
        refused = cli(*bad)
        assert refused.returncode == 4 and refused.stderr.startswith("interlock: "), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    missing = cli("dataset", "upload", str(tmp_path / "nope"), "--name", "x", "--format", "token_ids")
    assert missing.returncode == 2 and "is not a file" in missing.stderr
    misspelt = cli("dataset", "upload", str(ids), "--name", "x", "--format", "token_ids", "--label", "ambre")
    assert misspelt.returncode == 2 and "unknown TLP label 'ambre'" in misspelt.stderr
    assert len(misspelt.stderr.strip().splitlines()) == 1


def test_cli_upload_hf_sends_a_folder_and_refuses_bad_folders_in_one_line(
    live_server, researcher, tmp_path: Path
) -> None:
    _, token = researcher
    env = {**CLI_ENV, "INTERLOCK_URL": live_server.url, "INTERLOCK_TOKEN": token}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from interlock_client.cli import main; main()", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    config = {
        "model_type": "gpt2",
        "vocab_size": 32,
        "n_positions": 16,
        "n_embd": 16,
        "n_layer": 1,
        "n_head": 2,
    }
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(
        b"weights"
    )  # the worker validates the tensors, not the web tier
    (folder / "README.md").write_text("left behind")
    done = cli("checkpoint", "upload-hf", str(folder), "--name", "gpt2 step 1")
    assert done.returncode == 0, done.stderr
    assert "2 files  manifest sha256 " in done.stdout
    refusals = {
        "not a folder": (tmp_path / "missing", "is not a folder"),
        "no config": (tmp_path, "has no config.json"),
    }
    for what, (path, message) in refusals.items():
        refused = cli("checkpoint", "upload-hf", str(path), "--name", "x")
        assert refused.returncode == 2, what
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    pickled = cli("checkpoint", "upload-hf", str(folder), "--name", "x")
    assert pickled.returncode == 4
    # no progress bar off a terminal: the refusal is the one line
    errors = pickled.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("interlock: ")
    assert "pickled weights are never loaded" in errors[0]
    (folder / "pytorch_model.bin").unlink()
    (folder / "config.json").write_text("{not json")
    broken = cli("checkpoint", "upload-hf", str(folder), "--name", "x")
    assert broken.returncode == 2 and "is not JSON" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
