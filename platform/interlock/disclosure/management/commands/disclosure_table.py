"""Print, or write into docs/disclosure.md, the transition table generated from `TRANSITIONS`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from interlock.disclosure.transition_doc import transition_table_markdown, with_transition_table


class Command(BaseCommand):
    help = "Print the disclosure transition table, or rewrite it in docs/disclosure.md with --write."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite the table in docs/disclosure.md")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["write"]:
            self.stdout.write(transition_table_markdown())
            return
        path = Path(settings.REPO_DIR) / "docs" / "disclosure.md"
        path.write_text(with_transition_table(path.read_text()))
        self.stdout.write(f"wrote {path}")
