"""Every domain app has the same rooms (docs/architecture.md): `models`, `access` (its rule and
`access_<entity>_by_id`), `selectors` (reads) and `services` (writes), each a module or a package.

The import-linter contracts keep the rooms from importing upwards; this keeps a room from being
missing, so a newcomer finds a read in `selectors` in every app, not in `services` in some.
"""

from __future__ import annotations

import importlib.util

import pytest

DOMAIN_APPS = (
    "accounts",
    "network",
    "artifacts",
    "findings",
    "checkpoints",
    "datasets",
    "analyses",
    "disclosure",
)
ROOMS = ("models", "access", "selectors", "services")


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_domain_app_has_the_four_rooms(app: str) -> None:
    missing = [room for room in ROOMS if importlib.util.find_spec(f"interlock.{app}.{room}") is None]
    assert missing == [], f"interlock.{app} has no {', '.join(missing)}"
