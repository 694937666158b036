"""docs/disclosure.md carries the transition table generated from `TRANSITIONS`, unedited."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from interlock.disclosure.transition_doc import (
    BEGIN,
    END,
    transition_table_markdown,
    with_transition_table,
)
from interlock.disclosure.transitions import TRANSITIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "disclosure.md"


def test_the_doc_has_the_table_generated_from_the_transitions() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, "run `manage.py disclosure_table --write`"
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == transition_table_markdown(), (
        "docs/disclosure.md is stale: run `manage.py disclosure_table --write`"
    )


def test_the_table_names_every_transition_its_input_and_its_service() -> None:
    table = transition_table_markdown()
    for transition in TRANSITIONS.values():
        assert f"| `{transition.action}` | {transition.who} |" in table
        assert f"`{transition.service_path}`" in table
        for field in transition.input().fields:
            assert f"`{field}`" in table


def test_writing_replaces_only_the_generated_block() -> None:
    stale = f"before\n\n{BEGIN}\n| old row |\n{END}\n\nafter\n"
    assert with_transition_table(stale) == f"before\n\n{transition_table_markdown()}\n\nafter\n"
    assert with_transition_table("no block yet\n").endswith(f"\n\n{transition_table_markdown()}\n")


def test_the_command_prints_the_table_without_write(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("disclosure_table")
    assert capsys.readouterr().out.strip() == transition_table_markdown()
