"""The public line of a job's failure: what a requester may read of a worker's exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interlock_wire import error_class_of, is_error_class, public_message
from interlock_wire.failures import MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "message",
    [
        "list index out of range",
        "num_draws must be between 10 and 20000",
        "shape mismatch: expected [8, 3] got [3, 8] for layers.0.weight",
        "'Linear' object has no attribute 'foo'",
        "ratio 3/4 of input/output rows",
        "the checkpoint's SHA-256 differs from the approved one; nothing was loaded",
    ],
)
def test_an_ordinary_message_is_kept_as_it_is(message: str) -> None:
    assert public_message(message) == message


@pytest.mark.parametrize(
    ("message", "public"),
    [
        (
            "[Errno 2] No such file or directory: '/tmp/interlock-job-3k2/chains.npy'",
            "[Errno 2] No such file or directory: '<path>'",
        ),
        ("cannot read ~/.config/worker.key", "cannot read <path>"),
        ("in ./scratch/a and ../up", "in <path> and <path>"),
        ("bad line in analysis_workers/runners/llc.py", "bad line in <path>"),
        ("site-packages/torch/nn/modules", "<path>"),
        (r"opened C:\workers\fleet.key twice", "opened <path> twice"),
    ],
)
def test_a_worker_path_becomes_a_placeholder(message: str, public: str) -> None:
    assert public_message(message) == public


SECRET = "Zx8Qm3Rt7Yw2Pk5Lh9Nc4Vb6Jd1Fg0S"


@pytest.mark.parametrize(
    "message",
    [
        f"ticket ilkt1.{SECRET}.{SECRET[::-1]} was refused",
        f"Authorization: Bearer ilk_0a1b2c3d4e5f_{SECRET}",
        f"could not connect to amqp://worker:{SECRET}@rabbit.internal:5672//",
        f"credential={SECRET}",
        "password: hunter2",
        f"data key {SECRET} does not open",
        "key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 refused",
        "seed b'\\x8f\\x12\\x00\\x01\\x02\\x03\\x04\\x05' rejected",
        f"-----BEGIN PRIVATE KEY-----{SECRET}",
    ],
)
def test_key_material_tickets_tokens_and_passwords_are_withheld(message: str) -> None:
    public = public_message(message)
    for secret in (SECRET, SECRET[::-1], "hunter2", "9f86d081884c7d659a2f", "\\x8f", "rabbit.internal"):
        assert secret not in public, public
    assert "<redacted>" in public or "<url>" in public


def test_only_the_first_non_blank_line_is_kept() -> None:
    assert public_message("\n  \nfirst line\nFile '/srv/worker/x.py', line 3") == "first line"


def test_a_long_message_is_cut_to_the_limit_with_an_ellipsis() -> None:
    public = public_message("word " * 1000)
    assert len(public) == MAX_MESSAGE_CHARS and public.endswith("…")
    assert public_message("x" * 10_000) == "x" * (MAX_MESSAGE_CHARS - 1) + "…"


def test_a_secret_far_down_a_long_line_never_shows_in_part() -> None:
    """The line is cut before the patterns run; the cut drops the word it lands in whole, so no
    prefix of a key too short to look like one survives."""
    paths = ("/" + "d" * 199 + " ") * 19 + "/" + "d" * 169 + " "  # 3990 characters, 20 paths
    public = public_message(paths + SECRET)  # the secret straddles the cut at 4000
    assert public == " ".join(["<path>"] * 20)


def test_control_characters_and_bidirectional_overrides_become_spaces() -> None:
    """The line is printed in terminals by the command line: no escape sequences."""
    assert public_message("red \x1b[31malert\x1b[0m \u202egnirts\x00") == "red [31malert [0m gnirts"


def test_an_empty_message_stays_empty() -> None:
    assert public_message("") == "" and public_message(" \n ") == ""


TEXT = st.lists(
    st.sampled_from(
        [
            *"abXY09f/._-:=' \"\\~<>\n\x1b",
            *("ilkt1.", "ilk_", "://", "password=", "b'", "-----BEGIN K-----", "…"),
            "0123456789abcdef" * 2,
            SECRET,
        ]
    ),
    max_size=400,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(TEXT)
def test_the_public_line_is_its_own_cleaning_and_fits(text: str) -> None:
    """The platform cleans again what the worker cleaned: the second pass must change nothing."""
    public = public_message(text)
    assert public_message(public) == public
    assert len(public) <= MAX_MESSAGE_CHARS and "\n" not in public and SECRET not in public


def test_the_error_class_is_the_exception_class_name() -> None:
    assert error_class_of(IndexError("list index out of range")) == "IndexError"

    class Renamed(ValueError):
        pass

    Renamed.__name__ = "not an <identifier>"
    assert error_class_of(Renamed()) == "ValueError"  # the nearest base with a proper name


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("IndexError", True),
        ("_Private2", True),
        ("A" * 80, True),
        ("A" * 81, False),
        ("", False),
        ("Index Error", False),
        ("torch.OutOfMemoryError", False),
        ("<script>", False),
        ("Ошибка", False),
        ("2Fast", False),
    ],
)
def test_an_error_class_is_an_ascii_identifier_of_at_most_80_characters(name: str, valid: bool) -> None:
    assert is_error_class(name) is valid
