"""Containment for one job inside the worker process: a private scratch directory that is wiped
afterwards, and (optionally) an address-space limit for the process.

This complements, and does not replace, what the deployment does (an unprivileged user,
systemd `MemoryMax=` / Kubernetes limits, no database credentials): approval is not a sandbox,
so a job must not leave files behind for the next one, and a runaway job must fail instead of
taking the machine down.
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def job_sandbox(*, memory_limit_mb: int = 0) -> Iterator[Path]:
    """Run the body with TMPDIR (and `tempfile`) pointing at a fresh private directory, removed on exit.

    `memory_limit_mb` > 0 caps the process's address space (RLIMIT_AS) from now on: it can only
    be lowered, never raised again, so it is set once per worker child (which Celery recycles).
    """
    if memory_limit_mb > 0:
        limit = memory_limit_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    previous_env = os.environ.get("TMPDIR")
    previous_tempdir = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="interlock-job-") as scratch:
        os.chmod(scratch, 0o700)
        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch
        try:
            yield Path(scratch)
        finally:
            tempfile.tempdir = previous_tempdir
            if previous_env is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = previous_env
