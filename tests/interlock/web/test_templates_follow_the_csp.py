"""The strict CSP (no 'unsafe-inline') blocks inline styles and scripts in the browser, silently:
a `style="…"` attribute, a `<style>` block or an `onclick=` handler in a template is simply
ignored there, and the layout breaks. Every template keeps them out; the vendored stylesheet
(`web/static/web/interlock.css`) holds the rules instead.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[3] / "platform" / "interlock"
INLINE = re.compile(
    r"""\sstyle\s*=|<style\b|\son[a-z]+\s*=\s*["']|<script(?![^>]*\ssrc\s*=)[^>]*>""", re.IGNORECASE
)


def test_no_template_carries_inline_styles_or_handlers() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20, "the templates were not found"
    offending = [
        f"{path.relative_to(TEMPLATES)}:{number}: {match.group(0).strip()}"
        for path in templates
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for match in INLINE.finditer(line)
    ]
    assert offending == []
