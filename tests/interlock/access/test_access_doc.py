"""docs/access.md carries the rule table generated from the policy's registry, unedited."""

from __future__ import annotations

from pathlib import Path

from interlock.access import registrations
from interlock.access.table import BEGIN, END, rule_table_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "access.md"


def test_the_doc_has_the_table_generated_from_the_registry() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, "run `manage.py access_table --write`"
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == rule_table_markdown(), "docs/access.md is stale: run `manage.py access_table --write`"


def test_the_table_names_every_registered_model_and_action() -> None:
    table = rule_table_markdown()
    for registration in registrations():
        assert registration.model.__name__ in table or registration.model.__name__ == "_Network"
        for action in registration.actions:
            assert action.value in table
    assert len(registrations()) >= 20
