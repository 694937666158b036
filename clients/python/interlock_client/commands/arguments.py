"""Argument types and options shared by the subcommands.

A type refuses a bad value with `argparse.ArgumentTypeError`, so argparse reports it as one usage
line (exit 2) before anything is sent.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from interlock_client.client import InterlockError
from interlock_client.labels import tlp_label


def label(text: str) -> str:
    """A TLP label as `amber`, `TLP:AMBER`, `amber_strict` or `TLP:AMBER+STRICT`."""
    try:
        return tlp_label(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r} (e.g. '{{\"num_draws\": 300}}')") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"not a JSON object: {text!r}")
    return value


def aware_time(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is read as UTC (never as the machine's local time)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2030-01-31T12:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a whole number, 1 or more: {text!r}")
    return number


def add_expiry(parser: argparse.ArgumentParser, *, default_days: int, what: str) -> None:
    """`--days N` (from now) or `--until TIME`, for grants and approvals that expire."""
    ends = parser.add_mutually_exclusive_group()
    ends.add_argument(
        "--days", type=positive_int, default=default_days, help=f"{what} ends this many days from now"
    )
    ends.add_argument("--until", type=aware_time, help=f"{what} ends at this ISO 8601 time (UTC if no zone)")


def expiry(args: argparse.Namespace) -> str:
    """The expiry `add_expiry` asked for, as the ISO 8601 UTC time the API takes."""
    moment = args.until or datetime.now(UTC) + timedelta(days=args.days)
    return str(moment.astimezone(UTC).isoformat())


def add_text(parser: argparse.ArgumentParser, name: str, *, help: str) -> None:
    """`--NAME TEXT` or `--NAME-file FILE` (`-` for standard input), one of them required."""
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument(f"--{name}", help=help)
    given.add_argument(
        f"--{name}-file", type=Path, metavar="FILE", help=f"read the {name} from FILE (- for stdin)"
    )


def text(args: argparse.Namespace, name: str) -> str:
    """The text `add_text` asked for; InterlockError (usage) for an unreadable file."""
    inline: str | None = getattr(args, name)
    if inline is not None:
        return inline
    path: Path = getattr(args, f"{name}_file")
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise InterlockError(0, "usage", f"cannot read the {name} from {path}: {problem}") from None


def add_listing(parser: argparse.ArgumentParser, *, paged: bool = True) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    if paged:
        parser.add_argument("--page", type=positive_int, metavar="N", help="the page to show (50 a page)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of text")
