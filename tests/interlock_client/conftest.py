"""The `interlock` command run as people run it: a subprocess against a live server.

`cli_for(person)` gives a runner holding a fresh token of theirs. `run(...)` returns the completed
process; `ok(...)` its stdout (asserting exit 0); `json(...)` the parsed `--json` output;
`refused(..., code=N)` asserts the failure people must see — exit code N and exactly one line on
stderr, `interlock: …`, with no traceback — and returns that line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlock.accounts.services import api_token_create
from tests.interlock.builders import principal_for

# This checkout's client, not whichever one is installed.
CLIENT = str(Path(__file__).resolve().parents[2] / "clients" / "python")
SCOPES = ("read", "write", "analyses")


class Cli:
    def __init__(self, url: str, token: str) -> None:
        self.token = token
        self.env = {**os.environ, "PYTHONPATH": CLIENT, "INTERLOCK_URL": url, "INTERLOCK_TOKEN": token}

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from interlock_client.cli import main; main()", *args]
        return subprocess.run(command, env=self.env, input=stdin, capture_output=True, text=True, timeout=120)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, (args, done.returncode, done.stderr)
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str, code: int, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("interlock: "), done.stderr
        assert "Traceback" not in done.stderr
        return lines[0]


@pytest.fixture
def cli_for(live_server: Any) -> Callable[..., Cli]:
    def make(person: Any, scopes: tuple[str, ...] = SCOPES) -> Cli:
        token = api_token_create(actor=principal_for(person), name="cli", scopes=list(scopes), days=1)
        return Cli(live_server.url, token.secret)

    return make
