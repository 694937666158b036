"""`interlock me`: who the token belongs to."""

from __future__ import annotations

import argparse
from typing import Any

from interlock_client.client import InterlockClient
from interlock_client.commands.output import print_json


def register(commands: Any) -> None:
    commands.add_parser("me", help="the account the token belongs to (JSON)").set_defaults(run=me)


def me(client: InterlockClient, args: argparse.Namespace) -> int:
    print_json(client.me())
    return 0
