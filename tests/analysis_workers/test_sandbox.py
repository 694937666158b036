"""A job's scratch space is private and wiped; a memory cap makes a runaway allocation fail."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from analysis_workers.sandbox import job_sandbox


def test_files_a_job_leaves_behind_are_gone_and_tmpdir_is_restored() -> None:
    before = os.environ.get("TMPDIR")
    with job_sandbox() as scratch:
        assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
        assert tempfile.gettempdir() == str(scratch) and os.environ["TMPDIR"] == str(scratch)
        left = Path(tempfile.mkstemp()[1])
        left.write_bytes(b"secret activations")
    assert not scratch.exists() and not left.exists()
    assert os.environ.get("TMPDIR") == before and tempfile.gettempdir() != str(scratch)


def test_a_memory_cap_turns_a_runaway_allocation_into_an_error() -> None:
    # in a child process: the cap cannot be raised again once set
    script = (
        "from analysis_workers.sandbox import job_sandbox\n"
        "with job_sandbox(memory_limit_mb=512):\n"
        "    try:\n"
        "        block = bytearray(2 * 1024 ** 3)\n"
        "    except MemoryError:\n"
        "        print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "refused"
