"""The steps every demo story takes through the API and the services: approve a series as the
steward of another organisation, and follow an analysis to its end (or reuse a finished one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone
from tqdm import tqdm

from interlock.access.principal import Principal
from interlock.accounts.models import Person
from interlock.analyses.models import AnalysisRequest, AnalysisState
from interlock.checkpoints.models import Checkpoint
from interlock.checkpoints.selectors import checkpoint_current_approval
from interlock.checkpoints.services import checkpoint_approve
from interlock_client import InterlockClient

RESEARCHER = "researcher@aletheia.example"
APPROVER = "steward@beacon.example"

Say = Callable[[str], None]


def approve_series(series: list[Checkpoint], say: Say) -> None:
    steward = Person.objects.get(email=APPROVER)
    # The demo acts for the steward in-process; on the site, approving needs a fresh sign-in with MFA.
    pending = [c for c in series if checkpoint_current_approval(c) is None]
    say(f"  {steward.display_name} (another organisation) approves {len(pending)} checkpoint(s) at AL3")
    for checkpoint in pending:
        checkpoint_approve(
            actor=Principal.on_behalf_of(steward),
            checkpoint_uuid=checkpoint.uuid,
            access_level=3,
            expires_at=timezone.now() + timedelta(days=30),
            sha256=checkpoint.sha256,
        )


def finished_analysis(
    client: InterlockClient,
    checkpoint: Checkpoint,
    kind: str,
    params: dict[str, Any],
    dataset: dict[str, Any],
    say: Say,
    healthy: Callable[[], None],
) -> dict[str, Any]:
    """The finished `kind` analysis of `checkpoint`: one that already succeeded, or a new request
    followed to its end with a progress bar (a failure stops the demo with the recorded message)."""
    done = (
        AnalysisRequest.objects.filter(checkpoint=checkpoint, kind=kind, state=AnalysisState.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )
    if done is not None:
        say(f"  {kind}: reusing the finished analysis {done.uuid}")
        return client.analysis(str(done.uuid))
    created = client.request_analysis(
        checkpoint=str(checkpoint.uuid), kind=kind, params=params, dataset=dataset
    )
    with tqdm(total=100, unit="%", desc=kind) as bar:

        def update(state: dict[str, Any]) -> None:
            healthy()
            bar.update(round(100 * float(state["progress"])) - bar.n)

        state = client.wait_for_analysis(created["id"], timeout=900, poll=1.0, progress=update)
    if state["state"] != "succeeded":
        raise RuntimeError(f"the demo's {kind} analysis {state['state']}: {state['message']}")
    return state


def llc_table(rows: list[dict[str, Any]]) -> str:
    """A trajectory's rows as a finding's Markdown table, one line per checkpoint."""
    head = "| step | λ̂ ± MCSE | R-hat | training loss L_n(w*) |\n|---|---|---|---|\n"
    return head + "\n".join(llc_table_row(row) for row in rows)


def llc_table_row(row: dict[str, Any]) -> str:
    """One checkpoint of the finding's table: λ̂ ± MCSE when reliable, never a plain number otherwise."""
    loss = "—" if row["init_loss"] is None else f"{row['init_loss']:.2e}"
    r_hat = "—" if row.get("r_hat") is None else f"{row['r_hat']:.3f}"
    if row["llc"] is not None:
        return (
            f"| {row['checkpoint']} | {row['llc']:.1f} ± {row.get('llc_mcse') or 0:.1f} | {r_hat} | {loss} |"
        )
    verdict = row.get("reliability") or {"reasons": []}
    failed = ", ".join(reason["diagnostic"] for reason in verdict["reasons"]) or "unjudged"
    return f"| {row['checkpoint']} | **unreliable** ({failed}) | {r_hat} | {loss} |"
