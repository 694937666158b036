"""The `interlock` command's exit codes, one per kind of failure a script may want to tell apart.

Every failure is also one line on stderr, `interlock: <message>`; the code says what kind it was:

| code | meaning |
|---|---|
| 0 | done |
| 1 | anything else: the server could not be reached, was busy (429) or failed (5xx), a download was cut off |
| 2 | usage: a bad option or argument, a missing local file, a parameter that is not JSON |
| 3 | not found or not allowed: 401, 403, 404 (the API answers a forbidden object as missing) |
| 4 | refused as invalid: 400, 409, 413, 415, 422 (a field, a state or a conflict; the line says which) |
| 5 | an analysis that `analyse` or `analysis rerun` followed ended failed or cancelled |
"""

from __future__ import annotations

from enum import IntEnum

from interlock_client.client import InterlockError


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    ANALYSIS_UNSUCCESSFUL = 5


def exit_for(error: InterlockError) -> Exit:
    """The exit code of a client error: by the HTTP status, or by the code of a local one."""
    if error.status == 0:
        return Exit.USAGE if error.code == "usage" else Exit.FAILED
    if error.status in (401, 403, 404):
        return Exit.NOT_FOUND
    if 400 <= error.status < 500 and error.status != 429:
        return Exit.REFUSED
    return Exit.FAILED
