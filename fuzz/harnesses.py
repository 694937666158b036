"""Coverage-guided fuzz targets (atheris / libFuzzer) for the four parsers that read untrusted bytes.

    python fuzz/harnesses.py stream    -runs=200000      # or -max_total_time=600
    python fuzz/harnesses.py safetensors -runs=200000
    python fuzz/harnesses.py ticket    -runs=200000
    python fuzz/harnesses.py markdown  -runs=200000

Each target starts from a valid input, lets libFuzzer mutate it, and fails (an uncaught
exception, which libFuzzer reports as a crash) when the parser raises anything but its own
refusal, or *accepts* a malformed input: a decryption that succeeds on bytes other than the
valid ciphertext, a ticket that verifies when its bytes changed, a safetensors header accepted
with tensors the spec does not expect, rendered markdown that carries script. The CI version is
`tests/security/test_fuzz.py` (a fixed number of runs per target).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time

import atheris
import markdown_it  # noqa: F401 - third-party libraries load uninstrumented (instrumenting torch takes a minute)
import nh3  # noqa: F401
import torch  # noqa: F401

with atheris.instrument_imports(include=["interlock_wire", "analysis_workers", "interlock"]):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from analysis_workers.specs import CheckpointError
    from analysis_workers.zoo.safetensors_check import validate_safetensors_header
    from interlock.core.markdown import render_markdown
    from interlock_wire import (
        IntegrityError,
        JobTicket,
        TicketError,
        decrypt_stream,
        encrypt_stream,
        sign_ticket,
    )
    from interlock_wire import verify_ticket as verify

KEY = bytes(range(32))
AD = b"interlock/fuzz|artifact"
PLAINTEXT = b"the pinned revision of a finding\n" * 5


def _valid_ciphertext() -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(PLAINTEXT), out, KEY, AD, segment_size=64)
    return out.getvalue()


CIPHERTEXT = _valid_ciphertext()


class Accepted(Exception):
    """A malformed input was accepted: the bug this fuzzing looks for."""


def fuzz_stream(data: bytes) -> None:
    out = io.BytesIO()
    try:
        decrypt_stream(io.BytesIO(data), out, KEY, AD)
    except (IntegrityError, ValueError):
        return
    if data != CIPHERTEXT:
        raise Accepted(f"decrypted a mutated ciphertext ({len(data)} bytes)")


SIGNING = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NOW = time.time()
TICKET = sign_ticket(
    JobTicket(
        ticket_id="00000000-0000-4000-8000-000000000001",
        request_id="00000000-0000-4000-8000-000000000002",
        kind="llc",
        params={"num_draws": 10},
        blobs=(),
        fleet_id="cpu-fleet",
        issued_at=NOW,
        expires_at=NOW + 10**8,
        extra={},
    ),
    SIGNING,
)


def fuzz_ticket(data: bytes) -> None:
    try:
        verify(data, platform_public_key=SIGNING.public_key(), fleet_id="cpu-fleet")
    except TicketError:
        return
    if data != TICKET:
        raise Accepted("a changed ticket verified")


EXPECTED = {"0.weight": ((2, 3), "F32"), "0.bias": ((2,), "F32")}


def _valid_safetensors() -> bytes:
    import json
    import struct

    header = json.dumps(
        {
            "0.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
            "0.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]},
        }
    ).encode()
    return struct.pack("<Q", len(header)) + header + bytes(32)


SAFETENSORS = _valid_safetensors()


def fuzz_safetensors(data: bytes) -> None:
    try:
        entries = validate_safetensors_header(data, EXPECTED)
    except CheckpointError:
        return
    found = {entry.name: (tuple(entry.shape), entry.dtype) for entry in entries}
    if found != EXPECTED:
        raise Accepted(f"accepted tensors the spec does not expect: {sorted(found)}")


def fuzz_markdown(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    html = render_markdown(text).lower()
    for needle in (
        "<script",
        "javascript:",
        " onerror=",
        " onload=",
        "<iframe",
        "<object",
        "<embed",
        "<style",
    ):
        if needle in html:
            raise Accepted(f"rendered markdown carries {needle!r}")


TARGETS = {
    "stream": (fuzz_stream, CIPHERTEXT),
    "ticket": (fuzz_ticket, TICKET),
    "safetensors": (fuzz_safetensors, SAFETENSORS),
    "markdown": (fuzz_markdown, b"# title\n\n[link](https://example.org) <b>x</b> `code`"),
}


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in TARGETS:
        raise SystemExit(f"usage: python fuzz/harnesses.py {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    target, seed = TARGETS[name]
    corpus = os.path.join(tempfile.gettempdir(), f"interlock-fuzz-{name}")
    os.makedirs(corpus, exist_ok=True)
    with open(os.path.join(corpus, "seed"), "wb") as handle:
        handle.write(seed)
    target(seed)  # the seed itself must pass
    options = sys.argv[2:]
    if not any(option.startswith("-artifact_prefix=") for option in options):
        options.append(f"-artifact_prefix={corpus}{os.sep}")  # crash inputs go here, not into the checkout
    atheris.Setup([sys.argv[0], *options, corpus], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
