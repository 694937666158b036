"""Checkpoints and analyses in a real browser (Debian's Chromium through Playwright, a live server,
a real analysis worker): the owner uploads a checkpoint from its page, with a progress bar, and a
steward approves it from its page; a person of another
organisation asks for analysis access and the owner's admin grants it; a researcher requests an
attention analysis through the generated form with its defaults, sees it run and finish, re-runs
it with one parameter changed and compares the two; a dataset that does not fit the model is
refused in the form; a failing analysis shows its error on the page within seconds.
Screenshots land in docs/screenshots/ (INTERLOCK_SCREENSHOTS=0 skips them).
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
from django.utils import timezone

from analysis_workers import zoo
from interlock.analyses.models import AnalysisRequest
from interlock.checkpoints.models import AnalysisAccessGrant, CheckpointApproval
from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.analyses import reset_connections, start_worker, wait_until
from tests.support.browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# a one-layer modular-addition transformer: 8 token ids (p = 7 and '='), a context of 3 tokens
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


def _page_of(browser: Any, base: str, person: Any) -> Any:
    """A fresh browser context signed in as `person` with password and TOTP."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    sign_in(page, base, person)
    return page


def _uploaded(owner: Any, api_client_for: Any, name: str) -> Any:
    """A transformer checkpoint registered by `owner`, its weights uploaded over HTTP."""
    checkpoint = checkpoint_register(actor=principal_for(owner), name=name, spec=SPEC)
    weights = zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)
    response = api_client_for(owner).generic(
        "POST",
        f"/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}",
        weights,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    checkpoint.refresh_from_db()
    return checkpoint


def _approve(steward: Any, checkpoint: Any, level: int = 2) -> None:
    checkpoint_approve(
        actor=principal_for(steward),
        checkpoint_uuid=checkpoint.uuid,
        access_level=level,
        expires_at=timezone.now() + timedelta(days=1),
        sha256=checkpoint.sha256,
    )


def test_the_owner_uploads_from_the_page_and_a_steward_approves_it_from_its_page(
    live_server: Any, browser: Any, network: Any, tmp_path: Path
) -> None:
    owner = network.person(network.org("Aletheia Alignment Lab"), clearance=1, password=PASSWORD)
    checkpoint = checkpoint_register(actor=principal_for(owner), name="modadd step 4000", spec=SPEC)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(
        zoo.save_checkpoint(zoo.build(SPEC, generator=torch.Generator().manual_seed(0)), SPEC)
    )
    uploading = _page_of(browser, live_server.url, owner)
    uploading.goto(f"{live_server.url}/checkpoints/{checkpoint.uuid}/")
    uploading.set_input_files("#id_file", str(weights))
    with uploading.expect_response("**/upload/") as answer:
        uploading.click("form.upload button[type=submit]")
    # sent by the page's script (which shows the progress bar), answered with the next page
    assert answer.value.headers["content-type"] == "application/json"
    uploading.wait_for_selector("text=its SHA-256 is pinned")
    checkpoint.refresh_from_db()
    assert checkpoint.state == "uploaded" and checkpoint.sha256
    assert uploading.locator("#checkpoint-sha256").inner_text() == checkpoint.sha256

    steward = network.person(
        network.org("Cairn Interpretability Collective"), steward=True, clearance=1, password=PASSWORD
    )
    page = _page_of(browser, live_server.url, steward)
    page.goto(f"{live_server.url}/checkpoints/awaiting-approval/")
    page.click("text=modadd step 4000")
    page.wait_for_url(f"**/checkpoints/{checkpoint.uuid}/")
    assert page.locator("#checkpoint-sha256").inner_text() == checkpoint.sha256
    assert page.locator("text=Uploaded, awaiting a steward's approval").count() == 1
    page.check("#level-2")
    page.check("#id_confirm")
    _shot(page, "checkpoint")
    page.click("text=Approve these bytes")
    page.wait_for_load_state("networkidle")
    assert page.locator(".standing-approved").first.inner_text().startswith("Approved AL2 until")
    approval = CheckpointApproval.objects.get(checkpoint=checkpoint)
    assert (approval.steward, approval.access_level, approval.sha256) == (steward, 2, checkpoint.sha256)


def test_another_organisation_asks_for_analysis_access_and_the_owners_admin_grants_it(
    live_server: Any, browser: Any, network: Any, api_client_for: Any
) -> None:
    owner_org = network.org("Aletheia Alignment Lab")
    owner = network.person(owner_org, clearance=1)
    admin = network.person(owner_org, role="org_admin", clearance=1, password=PASSWORD)
    checkpoint = _uploaded(owner, api_client_for, "induction 2L")
    _approve(network.person(network.org(), steward=True, clearance=1), checkpoint)
    partner = network.person(network.org("Beacon Safety Institute"), clearance=1, password=PASSWORD)
    base = live_server.url

    asking = _page_of(browser, base, partner)
    asking.goto(f"{base}/checkpoints/{checkpoint.uuid}/")
    assert asking.locator("text=There is nothing here.").count() == 1  # not theirs to see yet
    asking.goto(f"{base}/checkpoints/request-access/?checkpoint={checkpoint.uuid}")
    asking.fill("#id_reason", "To compare its induction-head scores with our own 2-layer run.")
    asking.click("text=Send the request")
    asking.wait_for_load_state("networkidle")
    assert asking.locator("text=its organisation's admins were asked").count() == 1

    deciding = _page_of(browser, base, admin)
    deciding.goto(f"{base}/checkpoints/access-requests/")
    row = deciding.locator("table.access-requests tbody tr", has_text="induction 2L")
    for shown in ("Beacon Safety Institute", partner.display_name, "our own 2-layer run"):
        assert row.locator(f"text={shown}").count() == 1, shown
    _shot(deciding, "access_requests")
    row.locator("input[name=days]").fill("14")
    row.locator("text=Approve").click()
    deciding.wait_for_load_state("networkidle")
    assert deciding.locator("text=Access granted for 14 days.").count() == 1
    grant = AnalysisAccessGrant.objects.get()
    assert grant.state == "approved" and grant.decided_by == admin

    asking.goto(f"{base}/checkpoints/{checkpoint.uuid}/")
    assert asking.locator("text=Request an analysis").count() == 1


def test_request_rerun_and_compare_an_attention_analysis_and_see_a_failure_at_once(
    live_server: Any, browser: Any, network: Any, api_client_for: Any
) -> None:
    researcher = network.person(network.org("Aletheia Alignment Lab"), clearance=1, password=PASSWORD)
    checkpoint = _uploaded(researcher, api_client_for, "modadd 1L")
    _approve(network.person(network.org(), steward=True, clearance=1), checkpoint)
    base = live_server.url
    from interlock.celery import app

    reset_connections(app)
    worker = start_worker(base)
    try:
        wait_until(lambda: bool(app.control.ping(timeout=1.0)), 60)
        page = _page_of(browser, base, researcher)
        page.goto(f"{base}/checkpoints/{checkpoint.uuid}/")
        page.click("text=Request an analysis")
        page.click(".kind-tabs >> text=attention_patterns")
        page.wait_for_url("**/analyse/?kind=attention_patterns")
        # the defaults fit the model: p = d_vocab - 1 = 7
        assert page.input_value("input[name='builtin:modular_addition.p']") == "7"
        assert page.input_value("input[name='p.max_prompts']") == "256"
        _shot(page, "analysis_form")

        # a dataset that does not fit the model is refused in the form, with what was typed kept
        page.fill("input[name='builtin:modular_addition.p']", "50")
        page.click("form.analysis-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "vocabulary has 8" in page.locator("#dataset-errors").inner_text()
        assert page.input_value("input[name='builtin:modular_addition.p']") == "50"
        assert AnalysisRequest.objects.count() == 0

        # the defaults, as offered
        page.goto(f"{base}/checkpoints/{checkpoint.uuid}/analyse/?kind=attention_patterns")
        page.click("form.analysis-form button[type=submit]")
        page.wait_for_url("**/analyses/*/")
        first = AnalysisRequest.objects.get()
        _shot(page, "analysis_running")
        page.wait_for_selector("figure.plot img", timeout=120_000)  # htmx polls every 2 s
        assert page.locator("#analysis-state").inner_text().lower() == "succeeded"
        assert page.locator(".device").inner_text() == "cpu"

        # again with one parameter changed
        page.click("text=Re-run with changed parameters")
        assert page.input_value("input[name='p.max_prompts']") == "256"
        page.fill("input[name='p.max_prompts']", "8")
        page.click("form.analysis-form button[type=submit]")
        page.wait_for_url("**/analyses/*/")
        second = AnalysisRequest.objects.exclude(pk=first.pk).get()
        assert second.params["max_prompts"] == 8 and second.dataset == first.dataset
        page.wait_for_selector("figure.plot img", timeout=120_000)

        page.select_option("#id_compare", str(first.uuid))
        page.click("form.compare button[type=submit]")
        page.wait_for_url("**/analyses/compare/**")
        row = page.locator("tr", has_text="params.max_prompts")
        assert row.locator("td").all_inner_texts()[:3] == ["8", "256", "248.0"]  # A: this one, B: the first
        assert page.locator("tr.group", has_text="Metrics").count() == 1
        assert page.locator("tr.differs", has_text="n_sequences").count() == 1  # 8 prompts against 15
        assert page.locator("table.compare tbody tr").count() > 8
        _shot(page, "analysis_compare")

        # a request the worker cannot run (min_period above max_period) fails; the page says why
        page.goto(f"{base}/checkpoints/{checkpoint.uuid}/analyse/?kind=attention_patterns")
        page.check("input[name=dataset][value='builtin:induction_sequences']")
        page.fill("input[name='builtin:induction_sequences.min_period']", "2")
        submitted = time.monotonic()
        page.click("form.analysis-form button[type=submit]")
        page.wait_for_url("**/analyses/*/")
        failing = AnalysisRequest.objects.exclude(pk__in=[first.pk, second.pk]).get()
        wait_until(lambda: AnalysisRequest.objects.get(pk=failing.pk).state == "failed", 60)
        recorded = time.monotonic()
        page.wait_for_selector(".analysis-error", timeout=10_000)
        shown_after, since_submitted = time.monotonic() - recorded, time.monotonic() - submitted
        failed = AnalysisRequest.objects.get(pk=failing.pk)
        error = page.locator(".analysis-error").inner_text()
        assert failed.message and failed.message in error, (error, failed.message)
        assert not failed.error_class or failed.error_class in error
        assert shown_after < 10
        print(
            f"\nfailure shown {shown_after:.1f} s after it was recorded, {since_submitted:.1f} s after "
            f"the request was sent: {error}"
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
