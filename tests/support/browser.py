"""Driving Debian's Chromium with Playwright: launch it, sign a person in, check a page's layout
and run axe-core (shipped inside the axe-playwright-python package) on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from interlock.accounts.mfa import totp_code
from tests.interlock.builders import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# the violations that fail a page: axe's two highest impacts
FAILING_IMPACTS = ("serious", "critical")
INLINE_STYLE = re.compile(r"""<[^>]*\sstyle\s*=""", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"""<script(?![^>]*\ssrc\s*=)[^>]*>""", re.IGNORECASE)
# every blocked inline style or script is recorded by the page itself (set before any page script)
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Any, base: str, person: Any, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", person.email)
    page.fill("input[name=password]", password)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url("**/accounts/mfa/**")
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    page.fill("#id_code", totp_code(device))
    page.click("form:has(#id_code) button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/accounts/" not in page.url, page.url


def axe_script() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text()


def axe_failures(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:4])
        for violation in results["violations"]
        if violation["impact"] in FAILING_IMPACTS
    ]


def csp_violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def inline_code(html: str) -> list[str]:
    """style attributes and inline <script> elements in served HTML (the CSP blocks both)."""
    return [m.group(0)[:80] for m in INLINE_STYLE.finditer(html)] + [
        m.group(0)[:80] for m in INLINE_SCRIPT.finditer(html)
    ]


def page_problems(page: Any, html: str) -> list[str]:
    """What fails a page as it is now: inline code in its served HTML, CSP violations the browser
    recorded, axe-core's serious and critical violations, and a page wider than the window."""
    problems = [f"inline code: {snippet}" for snippet in inline_code(html)]
    problems += [f"CSP blocked: {v}" for v in csp_violations(page)]
    problems += axe_failures(page)
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > page.viewport_size["width"]:
        problems.append(f"{wide} px wide at {page.viewport_size['width']} px")
    return problems
