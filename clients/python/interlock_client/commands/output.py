"""How the subcommands print: JSON for scripts (`--json`), aligned lines for people."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def print_page(
    page: dict[str, Any],
    *,
    as_json: bool,
    line: Callable[[dict[str, Any]], str],
    noun: str,
    plural: str | None = None,
) -> None:
    """A listing: the page as JSON, or one line a result and the count (`1 checkpoint`, `12
    analyses`; `1000+ findings` where the API stops counting)."""
    if as_json:
        print_json(page)
        return
    for item in page["results"]:
        print(line(item).rstrip())
    total = page.get("count", len(page["results"]))
    more = "+" if page.get("count_is_lower_bound") else ""
    print(f"{total}{more} {noun if total == 1 and not more else plural or noun + 's'}")


def day(timestamp: str | None) -> str:
    """The date of an ISO 8601 time from the API (in UTC, as it is sent), or '-'."""
    return timestamp[:10] if timestamp else "-"


def minute(timestamp: str | None) -> str:
    """`2030-01-31 12:00Z` from an ISO 8601 UTC time from the API, or '-'."""
    return f"{timestamp[:10]} {timestamp[11:16]}Z" if timestamp else "-"
