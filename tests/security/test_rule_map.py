"""docs/security.md maps every rule of SECURITY.md to the tests that fail without its defence.

This keeps the map honest: every test it names must exist (a renamed or deleted test turns
this red instead of leaving a claim without evidence), every row names at least one, and —
where the shared rules file sits beside the checkout, as on a developer's machine — every
rule there has a row.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
RULES = ROOT.parent / "shared" / "SECURITY.md"
RULE_SECTIONS = {
    "Access",
    "Authentication and sessions",
    "Files, checkpoints and jobs",
    "Encryption at rest",
    "Audit",
}


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[*`“”\"]", "", text).lower().split())


def rows() -> list[tuple[str, str, list[str]]]:
    """(section, opening words, test references) for each row of the rules table."""
    text = DOC.read_text()
    table = text.split("## Rules and their tests", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("section", "") or set(cells[0]) <= {"-"}:
            continue
        references = re.findall(r"`([\w/]+\.py(?:::\w+)?)`", cells[2])
        found.append((cells[0], cells[1], references))
    return found


def test_every_row_names_tests_that_exist() -> None:
    table = rows()
    assert sum(1 for section, _, _ in table if section in RULE_SECTIONS) >= 21
    missing = []
    for section, rule, references in table:
        assert references, f"{section} / {rule}: no test named"
        for reference in references:
            path, _, name = reference.partition("::")
            test_file = ROOT / "tests" / path
            if not test_file.is_file():
                missing.append(f"{reference} (no such file)")
            elif name and not re.search(rf"^(async )?def {name}\(", test_file.read_text(), re.M):
                missing.append(f"{reference} (no such test)")
    print(f"\n{len(table)} rules mapped to {sum(len(r) for _, _, r in table)} test references")
    assert missing == []


def test_every_rule_of_the_shared_file_has_a_row() -> None:
    """Checked where the shared rules file is present (a developer's checkout); a clean clone
    in CI has only the table, which the test above checks."""
    if not RULES.is_file():
        return
    openings = [_normalise(rule) for _, rule, _ in rows()]
    section = ""
    unmapped = []
    for line in RULES.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("- ") and section in RULE_SECTIONS:
            bullet = _normalise(line[2:])
            if not any(bullet.startswith(opening) for opening in openings):
                unmapped.append(f"{section}: {line[2:60]}")
    assert unmapped == []
