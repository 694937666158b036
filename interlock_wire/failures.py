"""A job's failure as the worker reports it and the platform shows it: the exception's class
name and one safe line of its message.

The requester reads both on the analysis page, in the API and in the command line, so the
line must not carry what the worker knows and they do not: the worker's file paths (its
scratch directory, its installation), key material, the job ticket, an API token, a URL with
a password in it. The worker cleans the line before it sends it and the platform cleans it
again before it stores it (`public_message` is idempotent), so neither an older worker nor a
message built by hand reaches a page unclean. What cannot be told apart from a secret is
removed: a redacted word costs readability, a leaked one cannot be taken back.

The full exception with its traceback stays in the worker's own log, for its operators.
"""

from __future__ import annotations

import re
import unicodedata

MAX_MESSAGE_CHARS = 300
MAX_ERROR_CLASS_CHARS = 80
# Longer input is cut (at a word boundary) before the patterns run, so a huge message (a tensor's
# repr) costs bounded time; the cut is far past what survives the final truncation.
_SCAN_CHARS = 4000
_MAX_PASSES = 6

ERROR_CLASS = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_ERROR_CLASS_CHARS - 1}}}")

PATH = "<path>"
URL = "<url>"
REDACTED = "<redacted>"

# Each (pattern, replacement), applied in this order: the wider shapes first, so that a URL is
# not half taken for a path, nor a ticket for a run of base64.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # a PEM block: everything after its BEGIN line on this line
    (re.compile(r"-----BEGIN[^-]*-----.*"), REDACTED),
    # a job ticket ("ilkt1." ‖ payload ‖ "." ‖ signature) and an API token ("ilk_" ‖ lookup ‖ secret)
    (re.compile(r"\bilkt1\.\S*"), REDACTED),
    (re.compile(r"\bilk_\S+"), REDACTED),
    # any URL: it may carry a password (amqp://user:password@host) or name an internal host
    (re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S*"), URL),
    # password=…, token: …, secret=…
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|ticket|credential|signature|api[_-]?key|private[_-]?key)"
            r"(\s*[=:]\s*)\S+"
        ),
        rf"\1\2{REDACTED}",
    ),
    # a bytes literal long enough to be key material
    (re.compile(r"\bb'[^']{16,}'|\bb\"[^\"]{16,}\""), REDACTED),
    # absolute, home-relative and dot-relative paths, and Windows drive paths
    (re.compile(r"(?:^|(?<=[\s'\"(\[{=,:]))(?:~|\.{1,2})?/[^\s'\"),\]}]+"), PATH),
    (re.compile(r"\b[A-Za-z]:\\[^\s'\"),\]}]*"), PATH),
    # relative paths: two or more separators, or one separator and a file extension
    (re.compile(r"(?<![\w.-])(?:[\w.-]+(?:[/\\][\w.-]+){2,}|[\w.-]+[/\\][\w-]+\.[A-Za-z]\w{0,5}\b)"), PATH),
    # hex key material or a digest of one
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), REDACTED),
)
# a run of base64 / base64url long enough to be a key: redacted when it mixes cases and digits
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_=-]{24,}")


def _looks_random(run: str) -> bool:
    upper = any(c.isupper() for c in run)
    lower = any(c.islower() for c in run)
    digit = any(c.isdigit() for c in run)
    return (upper and lower and digit) or (upper and lower and len(run) >= 40)


def _printable(text: str) -> str:
    """Control and format characters (terminal escapes, bidirectional overrides) become spaces:
    the line is printed by the command line and rendered on a page."""
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def _clean_once(line: str) -> str:
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    line = _BASE64_RUN.sub(lambda run: REDACTED if _looks_random(run.group()) else run.group(), line)
    line = " ".join(line.split())
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return line


def public_message(text: str) -> str:
    """The first non-blank line of `text`, without paths, URLs or anything like key material,
    at most MAX_MESSAGE_CHARS characters (cut with "…").

    The rules run until nothing changes (a placeholder or the cut can complete a new match:
    `b'ilkt1. /b'` becomes a long bytes literal), so what comes out is its own cleaning;
    a line that does not settle in a few passes is withheld whole.
    """
    line = next((line for line in text.splitlines() if line.strip()), "")
    if len(line) > _SCAN_CHARS:
        line = line[:_SCAN_CHARS].rsplit(None, 1)[0]  # never keep the cut-off start of a word
    line = _printable(line)
    for _ in range(_MAX_PASSES):
        cleaner = _clean_once(line)
        if cleaner == line:
            return line
        line = cleaner
    return REDACTED


def is_error_class(name: str) -> bool:
    """An ASCII identifier of at most MAX_ERROR_CLASS_CHARS characters."""
    return ERROR_CLASS.fullmatch(name) is not None


def error_class_of(problem: BaseException) -> str:
    """The exception's class name (`IndexError`), or that of its nearest base class whose name is
    an identifier (a class can be given any name at run time)."""
    return next(cls.__name__ for cls in type(problem).__mro__ if is_error_class(cls.__name__))
