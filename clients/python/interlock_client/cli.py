"""`interlock`: the command line for researchers, what they do without a browser.

export INTERLOCK_URL=http://127.0.0.1:8000 INTERLOCK_TOKEN=ilk_…
interlock me
interlock findings list|show|comment|share|grant …
interlock upload FILE --parent-type … --parent-id …  /  interlock download ID -o FILE
interlock checkpoint upload|upload-hf|list|show|approve|revoke …
interlock access request|list|decide …
interlock dataset upload|list …
interlock analyse CHECKPOINT_ID --kind llc [--no-follow]
interlock analysis list|show|rerun|compare|cancel …
interlock disclosure list|show|vote …

The subcommands live in `interlock_client.commands`, one module per noun; `interlock COMMAND
--help` lists each one's options, and docs/cli.md the whole set. Every failure is one line on
stderr, `interlock: <message>`, and an exit code from `interlock_client.exits` — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

import httpx

from interlock_client.client import InterlockClient, InterlockError
from interlock_client.commands import NOUNS
from interlock_client.exits import Exit, exit_for


def fail(message: str, code: Exit) -> int:
    print(f"interlock: {message}", file=sys.stderr)
    return code


class CommandParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (`interlock: …`, exit 2) instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see: {self.prog} --help)", Exit.USAGE)
        sys.exit(Exit.USAGE)


def parser() -> CommandParser:
    top = CommandParser(prog="interlock", description="Interlock command line")
    top.add_argument("--url", default=os.environ.get("INTERLOCK_URL", "http://127.0.0.1:8000"))
    top.add_argument("--token", default=os.environ.get("INTERLOCK_TOKEN"))
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for noun in NOUNS:
        noun.register(commands)
    return top


def run(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.token:
        return fail("give an API token with --token or INTERLOCK_TOKEN", Exit.USAGE)
    try:
        with InterlockClient(args.url, args.token) as client:
            return int(args.run(client, args))
    except InterlockError as error:
        return fail(str(error), exit_for(error))
    except httpx.InvalidURL as error:
        return fail(f"--url {args.url!r} is not a URL: {error}", Exit.USAGE)
    except OSError as error:  # a local file that could not be written or read
        return fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), Exit.FAILED)
    except KeyboardInterrupt:
        return fail("interrupted", Exit.FAILED)


def main() -> None:
    sys.exit(run())
