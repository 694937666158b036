"""The load test of bench/load_test.py, short enough for every CI run.

Twenty simulated people for fifteen seconds against a throwaway stack of their own (embedded
PostgreSQL and Redis in a temporary directory, gunicorn, the platform worker, an analysis
worker), never the machine's servers. Asserts what must hold at any size: every request of the
workload answered 2xx, every operation ran, and the audit chain still verifies. No timing
assertions: CI machines vary, and the performance figures live in docs/reliability.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_people_for_fifteen_seconds_get_no_errors_and_leave_a_verifiable_audit_chain(
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "report.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "load_test.py"),
        "--people",
        "20",
        "--seconds",
        "15",
        "--seed",
        "7",
        "--workers",
        "2",
        "--json",
        str(report_path),
        "--directory",
        str(tmp_path / "stack"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-5000:]
    report = json.loads(report_path.read_text())
    assert report["errors"] == 0, report["error_samples"]
    for operation in ("list", "read", "comment", "upload", "analyse"):
        assert report["operations"][operation]["requests"] > 0, operation
    assert report["audit_verified"], report["audit"]
    assert report["audit"].startswith("audit chain OK")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
