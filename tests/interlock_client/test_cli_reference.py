"""docs/cli.md names every command and every exit code the command line has; the label and
exit-code tables behave as documented; usage errors are one line. No server needed."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock_client.cli import parser, run
from interlock_client.client import InterlockError
from interlock_client.exits import Exit, exit_for
from interlock_client.labels import tlp_label

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(node: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[str]:
    """Every leaf command, as people type it: `findings list`, `analyse`, …"""
    actions = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield " ".join(words)
        return
    for name, child in actions[0].choices.items():
        yield from _commands(child, (*words, name))


def test_the_reference_names_every_command_and_every_exit_code() -> None:
    text = REFERENCE.read_text()
    documented = set(re.findall(r"^\| `(?:interlock )?([a-z-]+(?: [a-z-]+)?)", text, flags=re.MULTILINE))
    commands = set(_commands(parser()))
    assert len(commands) >= 25
    assert commands - documented == set()
    codes = {int(code) for code in re.findall(r"^\| (\d) \|", text, flags=re.MULTILINE)}
    assert codes == {int(code) for code in Exit}


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("amber", "amber"),
        ("TLP:AMBER", "amber"),
        ("tlp:amber+strict", "amber_strict"),
        ("TLP:AMBER+STRICT", "amber_strict"),
        ("amber_strict", "amber_strict"),
        (" Green ", "green"),
        ("TLP:CLEAR", "clear"),
        ("RED", "red"),
    ],
)
def test_labels_are_taken_as_the_api_writes_them_and_as_documents_do(written: str, value: str) -> None:
    assert tlp_label(written) == value


@pytest.mark.parametrize("written", ["", "TLP:", "amber strict", "TLP:WHITE", "amber+", "tlp:tlp:amber"])
def test_anything_else_is_not_a_label(written: str) -> None:
    with pytest.raises(ValueError, match="unknown TLP label"):
        tlp_label(written)


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (0, "usage", Exit.USAGE),
        (0, "network", Exit.FAILED),
        (0, "integrity", Exit.FAILED),
        (401, "not_authenticated", Exit.NOT_FOUND),
        (403, "permission_denied", Exit.NOT_FOUND),
        (404, "not_found", Exit.NOT_FOUND),
        (400, "invalid", Exit.REFUSED),
        (409, "invalid_state", Exit.REFUSED),
        (413, "too_large", Exit.REFUSED),
        (429, "throttled", Exit.FAILED),
        (500, "error", Exit.FAILED),
        (503, "unavailable", Exit.FAILED),
    ],
)
def test_each_failure_has_its_documented_exit_code(status: int, code: str, exit_code: Exit) -> None:
    assert exit_for(InterlockError(status, code, "m")) == exit_code


def test_usage_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["bogus"],
        ["findings"],
        ["findings", "share", "ID", "--label", "purple"],
        ["analyse", "ID", "--kind", "llc", "--params", "[1]"],
        ["findings", "grant", "ID", "--person", "P", "--reason", "r", "--days", "3", "--until", "2030-01-01"],
    ):
        with pytest.raises(SystemExit) as stopped:
            run(["--token", "ilk_x", *argv])
        assert stopped.value.code == Exit.USAGE, argv
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("interlock: "), (argv, lines)


def test_no_token_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("INTERLOCK_TOKEN", raising=False)
    assert run(["me"]) == Exit.USAGE
    assert capsys.readouterr().err == "interlock: give an API token with --token or INTERLOCK_TOKEN\n"


def test_an_unreachable_server_is_one_line_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once; downloads
    # open their stream outside the retried path, so they are checked too
    for argv in (["disclosure", "list"], ["download", "ID", "-o", "/dev/null"]):
        assert run(["--url", "http://127.0.0.1:9", "--token", "ilk_x", *argv]) == Exit.FAILED
        err = capsys.readouterr().err
        assert err.startswith("interlock: could not reach the server") and err.count("\n") == 1
