"""Coverage-guided fuzzing, CI version: each parser gets a fixed number of libFuzzer runs from a
fixed seed (the long version: `python fuzz/harnesses.py TARGET -max_total_time=600`). A crash,
a hang or an accepted malformed input makes the harness exit non-zero and this test fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = 50_000


@pytest.mark.parametrize("target", ["stream", "ticket", "safetensors", "markdown"])
def test_the_parser_survives_coverage_guided_fuzzing(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "fuzz" / "harnesses.py"),
            target,
            f"-runs={RUNS}",
            "-seed=7",
            "-timeout=10",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}", "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    runs = re.search(r"Done (\d+) runs", output)
    assert runs is not None and int(runs.group(1)) == RUNS, output[-2000:]
    print(f"\nfuzz {target}: {RUNS} executions, 0 crashes, 0 malformed inputs accepted")
