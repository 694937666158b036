"""Every registered analysis kind runs through its runner and returns exactly its registered plots.

This is the contract the platform relies on: the result may carry only the kind's plot names, and
the metrics must be JSON. Small models and budgets; correctness is tested per analysis elsewhere.
"""

from __future__ import annotations

import json

import pytest

from analysis_workers.jobs import run_report
from analysis_workers.kinds import registry
from tests.support.kinds import CASES, kind_inputs


@pytest.mark.parametrize(("kind_name", "family"), CASES)
def test_the_runner_returns_json_metrics_and_exactly_its_registered_plots(
    kind_name: str, family: str
) -> None:
    kind = registry()[kind_name]
    report = run_report(kind_name, kind_inputs(kind_name, family))
    assert set(report.figures) == set(kind.plots)
    json.dumps(report.metrics, allow_nan=False)
    for name in kind.plots:
        figure = report.figures[name]
        axes = figure.get_axes()
        assert axes, f"{name} has no axes"
        # something is drawn: lines, images (heatmaps) or scatter collections, on labelled axes
        drawn = sum(len(ax.lines) + len(ax.images) + len(ax.collections) + len(ax.patches) for ax in axes)
        assert drawn >= 1, f"{name} draws nothing"
        assert any(ax.get_title() or ax.get_xlabel() or ax.get_ylabel() for ax in axes), (
            f"{name} is unlabelled"
        )
        assert report.png_bytes(name).startswith(b"\x89PNG")
        assert b"<svg" in report.svg_bytes(name)[:400]
