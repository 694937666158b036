"""The demo's Hugging Face story: a researcher's own GPT-2 and token data, analysed on the platform.

1. train a small `transformers` GPT-2 on a token language with planted induction structure (a
   subprocess, `analysis_workers.demo.hf_induction`: the platform never imports torch), saved
   with `save_pretrained` at a few steps of its training;
2. the researcher uploads every step's folder as one Hugging Face checkpoint of a series
   (`upload_hf_checkpoint`, what `interlock checkpoint upload-hf` does) and the held-out token
   sequences as the organisation's own dataset (`upload_dataset`, TLP:AMBER);
3. a steward of another organisation approves each checkpoint at AL3, bound to its manifest hash;
4. the researcher requests, on the uploaded dataset: the LLC trajectory over the series, the
   attention scores and a head ablation of the last checkpoint;
5. a finding states what those analyses measured (the sentences are made from the numbers) with
   the plots attached, shared inside the organisation.

Idempotent like the rest of the demo: a rerun reuses the trained folders, the uploads, the
approvals, finished analyses and the finding.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from tqdm import tqdm

from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.checkpoints.models import Checkpoint, CheckpointState
from interlock.datasets.models import DatasetState, UploadedDataset
from interlock.demo.steps import RESEARCHER, Say, approve_series, finished_analysis, llc_table
from interlock.findings.models import Finding
from interlock.findings.rules import Audience
from interlock.findings.selectors import revision_title
from interlock.findings.services import finding_create, finding_share
from interlock_client import InterlockClient

SERIES = "hf-gpt2-induction"
FOLDER = "demo-hf-gpt2"
# 2,400 training steps, a checkpoint every 1,000 and the last: steps 0, 1000, 2000 and 2400, before
# and after the induction head forms (between steps 1800 and 2000, docs/demo-hf-model.md)
TRAINING = ["--steps", "2400", "--every", "1000"]
DATASET_NAME = "demo language: held-out sequences"
# SGLD on the 46,464-parameter GPT-2, per-token loss on 32-token sequences: with ε = 3e-4 and 200
# draws the chains disagreed (R-hat 1.09-1.34); ε = 1e-3 and 400 draws pass every check
# (R-hat ≤ 1.032, docs/demo-hf-model.md)
SGLD = {
    "num_chains": 4,
    "num_draws": 400,
    "num_burnin": 100,
    "step_size": 1e-3,
    "localization": 100.0,
    "batch_size": 32,
}
FINDING_TITLE = "The demo GPT-2 on its own token data: attention, head ablation and LLC, as measured"


def run_hf_demo(
    *, client: InterlockClient, say: Say, healthy: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """The story above, through the researcher's `client`; returns the ids it made or reused."""
    folder = Path(settings.DATA_DIR) / FOLDER
    say("  training a Hugging Face GPT-2 on the demo's token language (≈ 1 min; reused on a rerun)")
    subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "analysis_workers.demo.hf_induction", "--out", str(folder), *TRAINING],
        check=True,
        cwd=settings.REPO_DIR,
    )
    series = _upload_series(client, folder, say)
    dataset = _upload_dataset(client, folder, say)
    approve_series(series, say)
    on_data = {"id": dataset, "params": {}}
    last = series[-1]
    trajectory = finished_analysis(client, last, "llc_trajectory", SGLD, on_data, say, healthy)
    attention = finished_analysis(
        client, last, "attention_patterns", {"max_prompts": 256}, on_data, say, healthy
    )
    ablation = finished_analysis(
        client, last, "head_ablation", {"method": "mean", "max_prompts": 256}, on_data, say, healthy
    )
    finding = _attach(client, trajectory, attention, ablation, say)
    return {
        "checkpoints": [str(c.uuid) for c in series],
        "dataset": dataset,
        "analyses": {
            "llc_trajectory": trajectory["id"],
            "attention_patterns": attention["id"],
            "head_ablation": ablation["id"],
        },
        "finding": finding,
    }


def _upload_series(client: InterlockClient, folder: Path, say: Say) -> list[Checkpoint]:
    """One checkpoint per step folder, in training order; a rerun reuses what was uploaded."""
    researcher = Person.objects.get(email=RESEARCHER)
    uploaded = {
        checkpoint.position: checkpoint
        for checkpoint in Checkpoint.objects.filter(owner_org=researcher.organisation, series=SERIES).exclude(
            state=CheckpointState.AWAITING_UPLOAD
        )
    }
    steps = {int(path.name.split("-")[1]): path for path in folder.glob("step-[0-9][0-9][0-9][0-9][0-9]")}
    pending = {step: path for step, path in steps.items() if step not in uploaded}
    if pending:
        say(f"  uploading {len(pending)} Hugging Face folders (config, weights, tokenizer), encrypted")
        # hashing and sending: the client reports twice each folder's size
        total = 2 * sum(file.stat().st_size for path in pending.values() for file in path.iterdir())
        with tqdm(total=total, unit="B", unit_scale=True, desc="upload-hf") as bar:
            for step, path in sorted(pending.items()):
                answer = client.upload_hf_checkpoint(
                    path, name=f"gpt2 step {step}", series=SERIES, position=step, progress=bar.update
                )
                uploaded[step] = Checkpoint.objects.get(uuid=answer["id"])
    return [uploaded[step] for step in sorted(steps)]


def _upload_dataset(client: InterlockClient, folder: Path, say: Say) -> str:
    researcher = Person.objects.get(email=RESEARCHER)
    existing = UploadedDataset.objects.filter(
        owner_org=researcher.organisation, name=DATASET_NAME, state=DatasetState.UPLOADED
    ).first()
    if existing is not None:
        return str(existing.uuid)
    say("  uploading the held-out token sequences as the organisation's dataset (TLP:AMBER)")
    uploaded = client.upload_dataset(
        folder / "dataset.safetensors", name=DATASET_NAME, file_format="token_ids", label="amber"
    )
    return str(uploaded["id"])


def _attach(
    client: InterlockClient,
    trajectory: dict[str, Any],
    attention: dict[str, Any],
    ablation: dict[str, Any],
    say: Say,
) -> str:
    researcher = Person.objects.select_related("organisation").get(email=RESEARCHER)
    existing = [
        f
        for f in Finding.objects.filter(authors=researcher).select_related("current_revision")
        if f.current_revision and revision_title(f.current_revision, f) == FINDING_TITLE
    ]
    if existing:
        say("  the finding with the GPT-2 results exists; its attachments are kept")
        return str(existing[0].uuid)
    body = measured_text(trajectory["metrics"], attention["metrics"], ablation["metrics"]) + (
        f"\n\nAnalyses: [LLC trajectory](/analyses/{trajectory['id']}/), "
        f"[attention scores](/analyses/{attention['id']}/) and "
        f"[head ablation](/analyses/{ablation['id']}/); the plots are attached."
    )
    finding = finding_create(
        actor=Principal.on_behalf_of(researcher),
        title=FINDING_TITLE,
        body=body,
        label="amber",
        hazard_tier=1,
        tags=["demo", "hugging-face", "induction"],
    )
    finding_share(
        actor=Principal.on_behalf_of(researcher),
        finding_uuid=finding.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    say("  attaching the GPT-2's plots to a finding shared with the researcher's organisation")
    with tempfile.TemporaryDirectory() as scratch:
        for plot in trajectory["plots"] + attention["plots"] + ablation["plots"]:
            buffer = io.BytesIO()
            client.download(plot["id"], buffer)
            path = Path(scratch) / Path(plot["name"]).name
            path.write_bytes(buffer.getvalue())
            client.upload(path, parent_type="finding", parent_id=str(finding.uuid))
    return str(finding.uuid)


def measured_text(trajectory: dict[str, Any], attention: dict[str, Any], ablation: dict[str, Any]) -> str:
    """The finding's words, made from the three analyses' numbers: which head the attention scores
    rank first for induction and by how much, what ablating it costs against the other heads, and
    the LLC along the series with its verdict. Nothing here is written before the numbers are in."""
    ranked = attention["top_heads"].get("induction") or []
    if not ranked:
        return "The attention analysis could not score induction on this model (its page says why)."
    induction = ranked[0]
    second = f" (next: {ranked[1]['head']}, {ranked[1]['score']:.2f})" if len(ranked) > 1 else ""
    heads = sorted(ablation["heads"], key=lambda head: head["total_effect"], reverse=True)
    ablated = next(head for head in ablation["heads"] if head["head"] == induction["head"])
    rows = trajectory["checkpoints"]
    reliable = sum(row["llc"] is not None for row in rows)
    return (
        "A 2-layer GPT-2 (46,464 parameters) trained by the researcher on a synthetic token language "
        "whose sequences repeat a block of random tokens, uploaded as Hugging Face folders; the "
        "ablation and the LLC use 256 held-out sequences of that language.\n\n"
        f"- Attention scores ({attention['construction']['description']}): {induction['head']} has the "
        f"highest induction score, {induction['score']:.2f}{second}.\n"
        f"- Head ablation ({ablation['method']} ablation, clean loss {ablation['clean_loss']:.3f} nats): "
        f"removing {ablated['head']} raises the loss by {ablated['total_effect']:.3f} nats, rank "
        f"{heads.index(ablated) + 1} of {len(heads)} heads by total effect (largest: {heads[0]['head']}, "
        f"{heads[0]['total_effect']:.3f}).\n"
        f"- LLC over the training series: {reliable} of {len(rows)} checkpoints have a reliable λ̂, given "
        "± its Monte-Carlo standard error; an unreliable one is marked with the failed checks and its "
        "λ̂ is not quoted.\n\n"
        f"{llc_table(rows)}"
    )
