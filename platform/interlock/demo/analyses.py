"""The demo's analysis story, driven the way a researcher would drive it: through the API.

1. train the modular-addition transformer and write its checkpoint series (a subprocess: the
   platform never imports torch);
2. the researcher registers and uploads every checkpoint (encrypted as it streams in);
3. a steward of another organisation approves each at AL3, bound to its hash;
4. the researcher requests the LLC trajectory over the series and a head ablation on the last
   checkpoint, which a real worker runs from signed tickets;
5. the results (λ̂ per checkpoint, and the plots) are attached to a finding shared with the
   researcher's organisation, and a disclosure review to widen it to the network is opened;
6. the same researcher brings a Hugging Face GPT-2 and its own token data
   (`interlock.demo.hf_analyses`).

Every step is idempotent: a rerun reuses the trained files, the uploaded checkpoints, their
approvals, finished analyses and the finding.
"""

from __future__ import annotations

import io
import json
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
from interlock.demo.hf_analyses import run_hf_demo
from interlock.demo.steps import APPROVER, RESEARCHER, Say, approve_series, finished_analysis, llc_table
from interlock.findings.models import Finding
from interlock.findings.rules import Audience
from interlock.findings.selectors import revision_title
from interlock.findings.services import finding_create, finding_share
from interlock_client import InterlockClient

SERIES = "modadd-p53"
DATASET = {"name": "modular_addition", "params": {"p": 53, "train_fraction": 0.5, "seed": 3}}
SGLD = {"num_chains": 4, "num_draws": 300, "num_burnin": 100, "step_size": 1e-4, "localization": 100.0}
FINDING_TITLE = "LLC along the training of the demo's modular-addition transformer, as measured"


def run_demo_analyses(
    *, base_url: str, created: dict[str, Any], say: Say, healthy: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """The whole story above; returns the ids it made or reused (for demo.json). `healthy()` is
    called while waiting for the worker and raises if a demo process died."""
    folder = Path(settings.DATA_DIR) / "demo-modadd"
    say("  training the modular-addition transformer (≈ 30 s on 2 cores; reused on a rerun)")
    subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "analysis_workers.demo", "--out", str(folder)],
        check=True,
        cwd=settings.REPO_DIR,
    )
    token = next(p["api_token"] for p in created["people"] if p["email"] == RESEARCHER)
    with InterlockClient(base_url, token, timeout=300) as client:
        series = _upload_series(client, folder, say)
        approve_series(series, say)
        trajectory = finished_analysis(client, series[-1], "llc_trajectory", SGLD, DATASET, say, healthy)
        ablation = finished_analysis(
            client, series[-1], "head_ablation", {"method": "mean"}, DATASET, say, healthy
        )
        finding = _attach(client, trajectory, ablation, say)
        say("  the researcher's own Hugging Face model and token data")
        hf = run_hf_demo(client=client, say=say, healthy=healthy)
    case = _open_disclosure(finding, say)
    return {
        "checkpoints": [str(c.uuid) for c in series],
        "analyses": {"llc_trajectory": trajectory["id"], "head_ablation": ablation["id"]},
        "finding": finding,
        "disclosure_case": case,
        "hugging_face": hf,
    }


def _upload_series(client: InterlockClient, folder: Path, say: Say) -> list[Checkpoint]:
    researcher = Person.objects.get(email=RESEARCHER)
    spec = json.loads((folder / "spec.json").read_text())
    files = sorted(folder.glob("step-*.safetensors"))
    say(f"  uploading {len(files)} checkpoints, encrypted as they stream in")
    series = []
    with tqdm(total=sum(f.stat().st_size for f in files), unit="B", unit_scale=True, desc="upload") as bar:
        for file in files:
            step = int(file.stem.split("-")[1])
            checkpoint = Checkpoint.objects.filter(
                owner_org=researcher.organisation, series=SERIES, position=step
            ).first()
            if checkpoint is None:
                registered = client.register_checkpoint(
                    name=f"modadd step {step}", spec=spec, series=SERIES, position=step
                )
                checkpoint = Checkpoint.objects.get(uuid=registered["id"])
            if checkpoint.state == CheckpointState.AWAITING_UPLOAD:
                client.upload(
                    file, parent_type="checkpoint", parent_id=str(checkpoint.uuid), progress=bar.update
                )
                checkpoint.refresh_from_db()
            else:
                bar.update(file.stat().st_size)
            series.append(checkpoint)
    return series


def _attach(client: InterlockClient, trajectory: dict[str, Any], ablation: dict[str, Any], say: Say) -> str:
    researcher = Person.objects.select_related("organisation").get(email=RESEARCHER)
    rows = trajectory["metrics"]["checkpoints"]
    body = (
        "A 1-layer transformer trained on (a + b) mod 53 with half the pairs, its local learning "
        f"coefficient estimated by the platform at every checkpoint of the series. {_measured(rows)}\n\n"
        "λ̂ is given ± its Monte-Carlo standard error (MCSE); a checkpoint whose sampler diagnostics "
        "failed is marked **unreliable** with the failed checks, and its λ̂ is not quoted.\n\n"
        f"{llc_table(rows)}\n\n"
        f"Analyses: [LLC trajectory](/analyses/{trajectory['id']}/) and "
        f"[head ablation](/analyses/{ablation['id']}/); the plots are attached."
    )
    existing = [
        f
        for f in Finding.objects.filter(authors=researcher).select_related("current_revision")
        if f.current_revision and revision_title(f.current_revision, f) == FINDING_TITLE
    ]
    if existing:
        say("  the finding with the results exists; its attachments are kept")
        return str(existing[0].uuid)
    finding = finding_create(
        actor=Principal.on_behalf_of(researcher),
        title=FINDING_TITLE,
        body=body,
        label="amber",
        hazard_tier=1,
        tags=["demo", "llc"],
    )
    # The finding stays inside the organisation (the analysis's own result audience); going wider
    # is what the disclosure review opened next is for.
    finding_share(
        actor=Principal.on_behalf_of(researcher),
        finding_uuid=finding.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    say("  attaching the plots to a finding shared with the researcher's organisation")
    with tempfile.TemporaryDirectory() as scratch:
        for plot in trajectory["plots"] + ablation["plots"]:
            buffer = io.BytesIO()
            client.download(plot["id"], buffer)
            path = Path(scratch) / Path(plot["name"]).name
            path.write_bytes(buffer.getvalue())
            client.upload(path, parent_type="finding", parent_id=str(finding.uuid))
    return str(finding.uuid)


def _measured(rows: list[dict[str, Any]]) -> str:
    """What this run measured, in words made from the numbers (never a claim written beforehand)."""
    valued = [row for row in rows if row["llc"] is not None]
    if not valued:
        return "No checkpoint's estimate passed the reliability checks (each row says which failed)."
    peak = max(valued, key=lambda row: row["llc"])
    last = rows[-1]
    ending = (
        f"at the last (step {last['checkpoint']}) it is {last['llc']:.1f}"
        if last["llc"] is not None
        else f"the last (step {last['checkpoint']}) is unreliable"
    )
    return (
        f"{len(valued)} of {len(rows)} checkpoints got a reliable λ̂; the highest, {peak['llc']:.1f}, at step "
        f"{peak['checkpoint']}; {ending}."
    )


def _open_disclosure(finding_uuid: str, say: Say) -> str:
    """The researcher asks to widen the finding to the whole network; a steward of another
    organisation assigns a reviewer from a third one. The case waits for that review."""
    from interlock.disclosure.models import OPEN_STATES, DisclosureCase
    from interlock.disclosure.services.cases import case_assign, case_open

    existing = DisclosureCase.objects.filter(finding__uuid=finding_uuid).order_by("-created_at").first()
    if existing is not None:
        say("  the disclosure case exists (reused)")
        return str(existing.uuid)
    researcher = Person.objects.get(email=RESEARCHER)
    steward = Person.objects.get(email=APPROVER)
    case = case_open(
        actor=Principal.on_behalf_of(researcher),
        finding_uuid=finding_uuid,
        target="network",
        rationale="An LLC trajectory over a training run is a measurement, not a recipe; the network "
        "should be able to compare it with their own runs.",
        assessment={
            "enables": "Recognising memorisation and generalisation phases in small models.",
            "generality": "Shown on one algorithmic task; the method applies to any checkpoint series.",
            "novelty": "Reproduces published observations with our estimator.",
            "mitigations": "No training recipe beyond published hyperparameters is included.",
        },
    )
    reviewer = Person.objects.get(email="member@cairn.example")
    case_assign(actor=Principal.on_behalf_of(steward), case_uuid=case.uuid, person_uuid=reviewer.uuid)
    if case.state not in OPEN_STATES:
        raise RuntimeError(f"the demo's disclosure case is {case.state}, not open")
    say(f"  opened a disclosure review to the whole network; {reviewer.display_name} reviews it")
    return str(case.uuid)
