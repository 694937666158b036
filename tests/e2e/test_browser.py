"""Browser end to end: Debian's Chromium driven by Playwright against a live server and a real
analysis worker. Signs in with password + TOTP, writes a finding, attaches a file, shares it,
requests an analysis and sees its plot. Screenshots of the main pages land in docs/screenshots/
(shown in the README); set INTERLOCK_SCREENSHOTS=0 to skip writing them.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
from django.utils import timezone

from analysis_workers import zoo
from interlock.artifacts.models import Artifact
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from interlock.findings.models import Finding
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.analyses import reset_connections, start_worker, wait_until
from tests.support.browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes between
# browser steps are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SPEC = {
    "family": "transformer",
    "config": {
        "d_vocab": 8,
        "n_ctx": 3,
        "d_model": 16,
        "n_heads": 2,
        "d_head": 8,
        "d_mlp": 32,
        "n_layers": 1,
        "act_fn": "relu",
        "normalization": None,
        "attn_only": False,
    },
}


def _shot(page: Any, name: str) -> None:
    if os.environ.get("INTERLOCK_SCREENSHOTS", "1") != "0":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_sign_in_write_attach_share_and_analyse_in_a_real_browser(
    live_server: Any, browser: Any, network: Any, api_client_for: Any, tmp_path: Path
) -> None:
    org = network.org("Aletheia Alignment Lab")
    partner = network.org("Cairn Interpretability Collective")
    researcher = network.person(org, clearance=1, password=PASSWORD)
    network.person(partner, password=PASSWORD)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    sign_in(page, base, researcher)
    _shot(page, "home")

    # write a finding and attach a file
    page.goto(f"{base}/findings/new/")
    page.fill("#title", "Induction heads form at the loss bump")
    page.fill("#body", "The **bump** in the loss coincides with the induction score rising.")
    page.click("text=Save draft")
    page.wait_for_url("**/findings/*/")
    finding = Finding.objects.get()
    attachment = tmp_path / "scores.csv"
    attachment.write_text("step,induction\n100,0.1\n200,0.9\n")
    page.set_input_files("input[type=file][name=file]", str(attachment))
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=scores.csv").count() >= 1
    assert Artifact.objects.filter(parent_type="finding", parent_id=finding.uuid).count() == 1

    # share it with the own organisation, previewing who will read it
    page.select_option("#share_label", "amber")
    page.check("#own_org")
    page.wait_for_load_state("networkidle")
    page.click("text=Save audience")
    page.wait_for_load_state("networkidle")
    finding.refresh_from_db()
    assert finding.label == "amber" and finding.audience_own_org
    _shot(page, "finding")

    # an approved checkpoint, analysed by a real worker; the plot appears on the page
    checkpoint = checkpoint_register(actor=principal_for(researcher), name="modadd step 0", spec=SPEC)
    weights = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)
    uploaded = api_client_for(researcher).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        weights,
        content_type="application/octet-stream",
    )
    assert uploaded.status_code == 201
    checkpoint.refresh_from_db()
    steward = network.person(partner, steward=True)
    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint.uuid,
        access_level=2,
        expires_at=timezone.now() + timedelta(days=1),
        sha256=checkpoint.sha256,
    )
    from interlock.celery import app

    reset_connections(app)
    worker = start_worker(base)
    try:
        wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)
        page.goto(f"{base}/analyses/")
        _shot(page, "analyses")
        page.goto(f"{base}/checkpoints/{checkpoint.uuid}/analyse/?kind=attention_patterns")
        page.check("input[name=dataset][value='builtin:modular_addition']")
        page.fill("input[name='builtin:modular_addition.train_fraction']", "0.5")
        page.fill("input[name='p.max_prompts']", "16")
        page.click("form.analysis-form button[type=submit]")
        page.wait_for_url("**/analyses/*/")
        # htmx polls the status every 2 s until the worker's result is in
        page.wait_for_selector("figure.plot img", timeout=120_000)
        loaded = page.eval_on_selector("figure.plot img", "img => img.complete && img.naturalWidth > 0")
        assert loaded, "the plot did not load"
        assert page.locator("text=Succeeded").count() >= 1
        _shot(page, "analysis")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def test_request_review_and_decide_a_disclosure_in_a_real_browser(
    live_server: Any, browser: Any, network: Any
) -> None:
    from interlock.disclosure.models import CaseState, DisclosureCase
    from interlock.findings.rules import Audience
    from interlock.findings.services import finding_create, finding_share

    owner, partner = network.org("Aletheia Alignment Lab"), network.org("Beacon Safety Institute")
    author = network.person(owner, clearance=1, password=PASSWORD)
    reviewer = network.person(partner, clearance=1, password=PASSWORD)
    steward = network.person(
        network.org("Cairn Interpretability Collective"), steward=True, password=PASSWORD
    )
    finding = finding_create(
        actor=principal_for(author),
        title="The LLC peaks at memorisation",
        body="λ̂ rises to a peak at step 100 and falls through grokking.\n\nInternal: our exact data split.",
        label="amber",
    )
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    base = live_server.url

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(30_000)
    sign_in(page, base, author)
    page.goto(f"{base}/findings/{finding.uuid}/")
    page.click("text=Request a disclosure review")
    page.select_option("#target", "network")
    page.fill("#rationale", "A measurement others should compare with their runs.")
    page.fill("#enables", "Recognising training phases.")
    page.fill("#generality", "One algorithmic task.")
    page.fill("#novelty", "Reproduces published results.")
    page.fill("#mitigations", "The data split is redacted.")
    page.fill("#redacted_body", "λ̂ rises to a peak at step 100 and falls through grokking.")
    page.click("text=Open the review")
    page.wait_for_url("**/disclosures/*/")
    case = DisclosureCase.objects.get()

    steward_page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    sign_in(steward_page, base, steward)
    steward_page.goto(f"{base}/disclosures/{case.uuid}/")
    # the people picker: typing part of a name brings suggestions (htmx fills the datalist) of
    # people the steward may see; the chosen "Name (Organisation)" is resolved on the server
    steward_page.locator("input[name=person]").press_sequentially(reviewer.display_name[:5], delay=50)
    suggestion = f"{reviewer.display_name} (Beacon Safety Institute)"
    steward_page.wait_for_selector(f'#assign_person-options option[value="{suggestion}"]', state="attached")
    steward_page.fill("input[name=person]", suggestion)
    steward_page.click("text=Assign reviewer")
    steward_page.wait_for_load_state("networkidle")
    assert steward_page.locator(f"text={reviewer.display_name}").count() >= 1  # stewards see names

    reviewer_page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    sign_in(reviewer_page, base, reviewer)
    reviewer_page.goto(f"{base}/disclosures/{case.uuid}/")
    # the pinned revision's rendered body has the line the redaction removes, the proposed text not
    # (the redaction diff shows it again, as removed)
    assert reviewer_page.locator("div.body", has_text="Internal: our exact data split.").count() == 1
    _shot(reviewer_page, "disclosure")
    reviewer_page.select_option("select[name=choice]", "approve")
    reviewer_page.fill("textarea[name=rationale]", "The redaction removes the split; fine for the network.")
    reviewer_page.click("form:has(select[name=choice]) button[type=submit]")
    reviewer_page.wait_for_load_state("networkidle")
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    page.goto(f"{base}/disclosures/{case.uuid}/")
    assert (
        page.locator("text=Reviewer A").count() >= 1
        and page.locator(f"text={reviewer.display_name}").count() == 0
    )
    # the decision is a record: its outcome, who decided and the votes counted
    decision = page.locator("section[aria-labelledby=decision-heading]")
    assert decision.count() == 1
    assert "Approved" in decision.inner_text() and "by the quorum" in decision.inner_text()
