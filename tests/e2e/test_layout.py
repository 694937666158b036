"""The site's layout in a real browser, page by page, for a steward who is also an organisation
admin (the role with the most navigation): under the strict CSP nothing is blocked, axe-core
finds no serious or critical violation, the navigation holds one line at 1280 px and folds
behind a Menu button at 390 px, no page is wider than a 390 px screen, and the API docs render.

Seen red on the defects it guards while this layout was built: unlabelled file inputs and revision
fields (axe `label`, critical), tables scrolling without a keyboard stop (axe
`scrollable-region-focusable`, serious), a visually hidden header cell widening pages to 569 px at
390 px.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from interlock.accounts.models import Role
from interlock.disclosure.services.cases import case_open
from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import PASSWORD, principal_for, sharing_group_of
from tests.support.browser import (
    RECORD_CSP_VIOLATIONS,
    axe_failures,
    csp_violations,
    inline_code,
    sign_in,
)
from tests.support.disclosure import ASSESSMENT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _pages(network: Any) -> tuple[Any, list[str]]:
    own = network.org("Aletheia Alignment Lab")
    partner = network.org("Beacon Safety Institute")
    steward = network.person(own, role=Role.ORG_ADMIN, steward=True, clearance=1, password=PASSWORD)
    network.person(partner, clearance=1)
    sharing_group_of(own, "Interpretability circle").members.add(partner)
    finding = finding_create(
        actor=principal_for(steward),
        title="Induction heads form at the loss bump",
        body="**Bump**.",
        label="amber",
    )
    finding_share(
        actor=principal_for(steward),
        finding_uuid=finding.uuid,
        label="amber",
        audience=Audience(own_org=True),
    )
    case = case_open(
        actor=principal_for(steward),
        finding_uuid=finding.uuid,
        target="network",
        rationale="Others should compare with their runs.",
        assessment=ASSESSMENT,
    )
    pages = [
        "/",
        "/findings/",
        "/findings/new/",
        f"/findings/{finding.uuid}/",
        f"/findings/{finding.uuid}/disclose/",
        "/disclosures/",
        f"/disclosures/{case.uuid}/",
        "/inbox/",
        "/network/",
        f"/network/organisations/{partner.uuid}/",
        "/network/sharing-groups/",
        "/network/library/",
        "/network/my-organisation/",
        "/network/vetting/",
        "/network/audit/",
        "/network/keys/",
        "/accounts/tokens/",
        "/accounts/security/",
        "/no/such/page/",  # 404
        f"/findings/{finding.uuid}/grant/",  # 405: an action URL opened directly
    ]
    return steward, pages


def _check_page(page: Any, base: str, path: str) -> list[str]:
    response = page.goto(base + path)
    page.wait_for_load_state("networkidle")
    problems = [f"inline code: {snippet}" for snippet in inline_code(response.text())]
    problems += [f"CSP blocked: {v}" for v in csp_violations(page)]
    problems += axe_failures(page)
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > page.viewport_size["width"]:
        problems.append(f"{wide} px wide")
    return [f"{path}: {problem}" for problem in problems]


def test_every_page_keeps_the_csp_passes_axe_and_fits_at_1280_and_390_px(
    live_server: Any, browser: Any, network: Any
) -> None:
    steward, pages = _pages(network)
    base = live_server.url
    problems: list[str] = []
    # one sign-in for both widths: a TOTP code works once, and two sign-ins inside one 30 s step fail
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, base, steward)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in pages:
            problems += [f"{width} px {problem}" for problem in _check_page(page, base, path)]
        for path in (
            "/analyses/",
            "/checkpoints/",
            "/checkpoints/awaiting-approval/",
            "/checkpoints/access-requests/",
        ):
            problems += [f"{width} px {problem}" for problem in _check_page(page, base, path)]
        page.goto(base + "/findings/")
        if width == 1280:
            # the navigation's items all sit on one line, whatever the role
            tops = page.eval_on_selector_all(
                ".nav-primary > li, .nav-menus > li",
                "items => items.map(i => Math.round(i.getBoundingClientRect().top))",
            )
            assert len(tops) >= 8 and max(tops) - min(tops) <= 4, tops
            assert page.locator("header").bounding_box()["height"] < 70
        else:
            header = page.locator("header").bounding_box()
            assert header["width"] <= 390 and header["height"] < 70, header  # folded
            assert not page.locator("#site-nav").is_visible()
            page.click("button.menu-toggle")
            assert page.locator("#site-nav").is_visible()
            assert page.get_attribute("button.menu-toggle", "aria-expanded") == "true"
            page.click("text=Findings")
            page.wait_for_url("**/findings/")
    context.close()
    assert problems == [], "\n".join(problems)


def test_signed_out_pages_and_the_api_docs_keep_the_csp_and_pass_axe(live_server: Any, browser: Any) -> None:
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    problems: list[str] = []
    for path in ("/accounts/login/", "/public/"):
        problems += _check_page(page, base, path)
    response = page.goto(base + "/api/docs/")
    problems += [f"inline code: {snippet}" for snippet in inline_code(response.text())]
    # Swagger UI renders the schema's operations: the page is not blank
    page.wait_for_selector(".opblock-tag", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    problems += [f"/api/docs/ CSP blocked: {v}" for v in csp_violations(page)]
    assert problems == [], "\n".join(problems)
