"""Query-string parameters, read once where a view parses its request: a value that could never
match is a 400 naming the field, not a 500 from the database.

PostgreSQL refuses a NUL character in any text value and a `uuid` column refuses anything that is
not a UUID; an integer beyond 64 bits overflows its `bigint`. Each reader below checks for exactly
those before the value reaches a query. Use it like a form: read every field, then `done()`, which
raises one `ApplicationError` listing every field that was wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from interlock.core.errors import ApplicationError


class QueryParams:
    def __init__(self, params: Mapping[str, str]) -> None:
        self._params = params
        self.errors: dict[str, list[str]] = {}

    def _raw(self, name: str) -> str | None:
        value = self._params.get(name)
        return value or None  # absent and empty are the same: no filter

    def text(self, name: str, *, max_length: int = 200) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if "\x00" in value:
            self.errors[name] = ["must not contain a NUL character"]
            return None
        if len(value) > max_length:
            self.errors[name] = [f"at most {max_length} characters"]
            return None
        return value

    def choice(self, name: str, choices: Iterable[str]) -> str | None:
        allowed = list(choices)
        value = self._raw(name)
        if value is None:
            return None
        if value not in allowed:
            self.errors[name] = [f"one of: {', '.join(allowed)}"]
            return None
        return value

    def uuid(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            self.errors[name] = ["not a valid id"]
            return None

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not minimum <= number <= maximum:
            self.errors[name] = [f"a whole number from {minimum} to {maximum}"]
            return default
        return number

    def done(self) -> None:
        """Raise the collected errors, if any (a 400 in the API; the pages show them)."""
        if self.errors:
            raise ApplicationError("Some query parameters are not valid.", dict(self.errors))
