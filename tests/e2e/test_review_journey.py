"""A reviewer's journey in Debian's Chromium: the open call names what it is, the review request
waits in the inbox (counted in the navigation) and opens the case, the case page shows
the pinned and the proposed texts rendered and the redaction as a coloured diff without growing
wider than the window (it was 2,329 px wide), the vote is cast from the page, and the voter lands
on the outcome. Every page passes axe-core and the strict CSP at 1280 and 390 px.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from interlock.disclosure.services.cases import case_assign, case_open
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import PASSWORD, principal_for
from tests.support.browser import RECORD_CSP_VIOLATIONS, page_problems, sign_in
from tests.support.disclosure import ASSESSMENT
from tests.support.notifications import notifications_delivered_at_commit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LONG_LINE = "loss-curve-" * 60  # one unbroken 660-character word: it must wrap, not widen the page
BODY = (
    "The bump coincides with the **induction score**.\n\n"
    f"{LONG_LINE}\n\n"
    "```\n" + "step,loss," * 40 + "\n```\n\n"
    "SECRET-PASSAGE: the exact training recipe\n\nMore detail."
)
REDACTED = BODY.replace("SECRET-PASSAGE: the exact training recipe\n\n", "")


def _case(network: Any) -> tuple[Any, Any, Any]:
    owner, beta, gamma = (
        network.org("Owner Lab"),
        network.org("Beta Institute"),
        network.org("Gamma Collective"),
    )
    author = network.person(owner, clearance=1)
    reviewer = network.person(beta, clearance=1, password=PASSWORD)
    steward = network.person(gamma, steward=True, clearance=1)
    volunteer = network.person(gamma, clearance=1, password=PASSWORD)
    finding = finding_create(
        actor=principal_for(author), title="Induction heads form at the loss bump", body=BODY, label="amber"
    )
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    case = case_open(
        actor=principal_for(author),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Others should compare with their runs.",
        assessment=ASSESSMENT,
        redacted_body=REDACTED,
    )
    with notifications_delivered_at_commit():  # the reviewer is told, in this process
        case_assign(actor=principal_for(steward), case_uuid=case.uuid, person_uuid=reviewer.uuid)
    return case, reviewer, volunteer


def _open(page: Any, base: str, path: str) -> list[str]:
    response = page.goto(base + path)
    page.wait_for_load_state("networkidle")
    return [f"{path}: {problem}" for problem in page_problems(page, response.text())]


def _signed_in_page(browser: Any, base: str, person: Any) -> tuple[Any, Any]:
    """One context per person (a TOTP code works once, so each person signs in once)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, base, person)
    return context, page


def test_a_reviewer_reads_the_case_votes_and_sees_the_outcome(
    live_server: Any, browser: Any, network: Any
) -> None:
    case, reviewer, volunteer = _case(network)
    base, problems = live_server.url, []
    # someone who could review sees the call in words
    context, page = _signed_in_page(browser, base, volunteer)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{width} px {p}" for p in _open(page, base, "/disclosures/")]
    row = page.locator("tr", has=page.locator(f"form[action='/disclosures/{case.uuid}/volunteer/']"))
    assert "Induction heads form at the loss bump" in row.inner_text() and "Owner Lab" in row.inner_text()
    context.close()
    # the reviewer finds the request in the inbox (the navigation counts it) and opens it
    context, page = _signed_in_page(browser, base, reviewer)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{width} px {p}" for p in _open(page, base, "/inbox/")]
    assert "1" in page.locator("nav .count").inner_text()
    page.click("tr.unread button:has-text('Open')")
    page.wait_for_url(f"**/disclosures/{case.uuid}/")
    assert page.locator("nav .count").count() == 0  # read now
    # the reviewer reads the case: rendered texts, a coloured diff, nothing wider than the window
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{width} px {p}" for p in _open(page, base, f"/disclosures/{case.uuid}/")]
    assert page.locator(".body strong", has_text="induction score").count() == 2  # rendered Markdown
    removed = page.locator("ol.diff li.diff-removed").first
    assert "SECRET-PASSAGE" in removed.inner_text()
    colour = removed.evaluate("li => getComputedStyle(li).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
    # the deciding vote lands on the outcome
    page.select_option("#vote_choice", "approve")
    page.fill("#vote_rationale", "The redaction removes the recipe.")
    page.click("form[action$='/vote/'] button[type=submit]")
    page.wait_for_url(f"**/disclosures/{case.uuid}/outcome/")
    page.wait_for_load_state("networkidle")
    main = page.locator("main").inner_text()
    assert "Approved" in main and "The redaction removes the recipe." in main
    assert "SECRET-PASSAGE" not in page.content()
    problems += [f"outcome: {p}" for p in _open(page, base, f"/disclosures/{case.uuid}/outcome/")]
    context.close()
    assert problems == [], "\n".join(problems)
