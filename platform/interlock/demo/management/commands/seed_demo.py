"""`manage.py seed_demo [--json PATH]`: create the demo network and say who and what was created."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from interlock.demo.network import seed_demo_network


class Command(BaseCommand):
    help = "Create (or refresh) the demo network; write who and what was created as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", dest="json_path", help="write the created network to this file")
        parser.add_argument("--password", help="demo password for every demo person (default: random)")

    def handle(
        self, *args: Any, json_path: str | None = None, password: str | None = None, **options: Any
    ) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates known credentials and is refused when INTERLOCK_ENV=production"
            )
        created = seed_demo_network(password=password)
        if json_path:
            path = Path(json_path)
            path.write_text(json.dumps(created, indent=2))
            path.chmod(0o600)
        people = created["people"]
        self.stdout.write(
            f"demo network: {len(created['organisations'])} organisations, {len(people)} people"
        )
        if json_path:
            self.stdout.write(f"wrote {json_path}")
