"""The `interlock` command's subcommands, one module per noun of the domain.

Each module's `register(commands)` adds its parsers to the top-level subparsers and sets, on each
leaf, `run=handler`: a function `(client, args) -> exit code`. Handlers raise `InterlockError`
for every failure; `interlock_client.cli` turns it into one line and an exit code.
"""

from __future__ import annotations

from interlock_client.commands import (
    access,
    account,
    analyses,
    artifacts,
    checkpoints,
    datasets,
    disclosures,
    findings,
)

NOUNS = (account, findings, artifacts, checkpoints, access, datasets, analyses, disclosures)

__all__ = ["NOUNS"]
