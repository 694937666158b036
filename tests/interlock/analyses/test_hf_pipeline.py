"""A Hugging Face checkpoint end to end: a GPT-2-style folder saved by `transformers` in shards,
uploaded with the researcher's client (`upload_hf_checkpoint`, as `interlock checkpoint upload-hf`
does), approved by a steward, analysed by a real worker process (LLC and attention scores) on the
organisation's own token dataset (uploaded as `interlock dataset upload` does), the results and
plots reaching only the result's audience: the intersection of the checkpoint's and the dataset's."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from interlock.checkpoints.services import checkpoint_approve
from interlock_client import InterlockClient
from tests.interlock.builders import principal_for
from tests.support.analyses import FAST, start_worker, wait_until

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VOCAB = 24
CONTEXT = 32


def _save_gpt2_folder(folder: Path) -> None:
    """A tiny random GPT-2 saved by `transformers` itself, in shards with their index."""
    import torch
    import transformers

    config = transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=CONTEXT, n_embd=16, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(folder, safe_serialization=True, max_shard_size="20KB")


def _save_token_dataset(path: Path) -> None:
    """Repeated random sequences (an induction language) as safetensors `input_ids` (N, T)."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(1)
    half = torch.randint(0, VOCAB, (64, 8), generator=generator)
    save_file({"input_ids": torch.cat([half, half], dim=1).contiguous()}, str(path))


def _follow(client: InterlockClient, analysis_id: str) -> dict:
    state = client.wait_for_analysis(analysis_id, timeout=240, poll=0.5)
    assert state["state"] == "succeeded", (state["state"], state.get("message"))
    return state


@pytest.mark.django_db(transaction=True)
def test_upload_hf_approve_analyse_and_only_the_audience_sees_the_results(
    live_server, network, api_client_for, settings, tmp_path: Path
) -> None:
    folder = tmp_path / "gpt2-step-100"
    _save_gpt2_folder(folder)
    assert len(list(folder.glob("model-*.safetensors"))) >= 2  # really sharded
    org = network.org()
    owner = network.person(org, clearance=1)
    colleague = network.person(org, clearance=1)
    outsider = network.person(clearance=3)
    token = api_client_for(owner).token_secret
    settings.JOB_LEASE_SECONDS = 10
    worker = start_worker(live_server.url)
    try:
        with InterlockClient(live_server.url, token) as client:
            sent: list[int] = []
            checkpoint = client.upload_hf_checkpoint(folder, name="gpt2 step 100", progress=sent.append)
            on_disk = sum(path.stat().st_size for path in folder.iterdir())
            assert sum(sent) == 2 * on_disk  # hashed, then sent: the progress bar's total
            assert checkpoint["state"] == "uploaded" and checkpoint["layout"] == "hf_folder"
            assert all(entry["uploaded"] for entry in checkpoint["files"])
            steward = network.person(steward=True, clearance=1)
            checkpoint_approve(
                actor=principal_for(steward),
                checkpoint_uuid=checkpoint["id"],
                access_level=3,
                expires_at=timezone.now() + timedelta(days=1),
                sha256=checkpoint["sha256"],
            )
            tokens = tmp_path / "tokens.safetensors"
            _save_token_dataset(tokens)
            uploaded = client.upload_dataset(
                tokens, name="repeated sequences", file_format="token_ids", label="amber"
            )
            assert uploaded["state"] == "uploaded", uploaded
            dataset = {"id": uploaded["id"], "params": {}}
            from interlock.celery import app

            wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)
            started = time.monotonic()
            llc = client.request_analysis(
                checkpoint=checkpoint["id"], kind="llc", params={**FAST, "batch_size": 16}, dataset=dataset
            )
            llc_state = _follow(client, llc["id"])
            seconds = time.monotonic() - started
            assert llc_state["metrics"]["llc_mean"] == pytest.approx(llc_state["metrics"]["llc_mean"])
            assert "r_hat" in llc_state["metrics"]["diagnostics"]
            attention = client.request_analysis(
                checkpoint=checkpoint["id"],
                kind="attention_patterns",
                params={"max_prompts": 32},
                dataset=dataset,
            )
            attention_state = _follow(client, attention["id"])
            assert attention_state["plots"], attention_state
            plot_id = attention_state["plots"][0]["id"]
        print(f"\nHF LLC job: {seconds:.1f} s from request to result")
        # the result's audience: the owner organisation's cleared members, nobody else
        for reader, status in ((colleague, 200), (outsider, 404)):
            api = api_client_for(reader)
            assert api.get(f"/api/v1/analyses/{attention['id']}/").status_code == status
            assert api.get(f"/api/v1/artifacts/{plot_id}/content/").status_code == status
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
