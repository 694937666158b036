"""`python -m analysis_workers.llc`: an estimate from a safetensors checkpoint, one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from analysis_workers import zoo
from analysis_workers.llc.__main__ import main

SPEC = {"family": "deep_linear", "config": {"dims": [5, 4, 2]}}


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    model = zoo.build(SPEC, generator=torch.Generator().manual_seed(0))
    weights, spec = tmp_path / "model.safetensors", tmp_path / "spec.json"
    weights.write_bytes(zoo.save_checkpoint(model, SPEC))
    spec.write_text(json.dumps(SPEC))
    return weights, spec


def arguments(weights: Path, spec: Path, *extra: str) -> list[str]:
    return [
        "--checkpoint", str(weights), "--spec", str(spec), "--dataset", "regression",
        "--dataset-param", "n=500", "--dataset-param", "seed=0", "--dataset-param", "noise=0.1",
        "--draws", "40", "--burnin", "10", "--chains", "2", *extra,
    ]  # fmt: skip


def test_prints_the_estimate_as_json(checkpoint, capsys) -> None:
    assert main(arguments(*checkpoint, "--json")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["llc_per_chain"]) == 2 and "r_hat" in printed["diagnostics"]


def test_bad_input_exits_with_one_readable_line(checkpoint, tmp_path: Path, capsys) -> None:
    weights, spec = checkpoint
    assert main(arguments(weights, spec, "--step-size", "-1")) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: step_size")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    assert main(arguments(broken, spec)) == 2
    assert capsys.readouterr().err.strip().startswith("error:")
    assert main(arguments(tmp_path / "missing.safetensors", spec)) == 2
    assert "error:" in capsys.readouterr().err
