"""Print, or write into docs/access.md, the policy's rule table generated from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from interlock.access.table import rule_table_markdown, with_rule_table


class Command(BaseCommand):
    help = "Print the access rule table, or rewrite it in docs/access.md with --write."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite the table in docs/access.md")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["write"]:
            self.stdout.write(rule_table_markdown())
            return
        path = Path(settings.REPO_DIR) / "docs" / "access.md"
        path.write_text(with_rule_table(path.read_text()))
        self.stdout.write(f"wrote {path}")
