"""Every plot of every kind, read as a matplotlib Figure before it is rendered to PNG (the report
`analysis_workers.jobs.run_report` returns, which the worker renders afterwards): a title, both
axis labels wherever an axis has tick labels, tick labels that do not overlap, every heatmap with a
labelled colour bar whose ticks carry their own scale — and unreliable λ̂ marked as such."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.text import Text

from analysis_workers.jobs import run_report
from analysis_workers.kinds import registry
from tests.support.kinds import CASES, kind_inputs

UNRELIABLE_MARKS = ("unreliable estimate (see reasons)", "diverged (no λ̂)")


def _is_colour_bar(ax: Axes) -> bool:
    return ax.get_label() == "<colorbar>"


def _is_twin(ax: Axes) -> bool:
    """A twinx/twiny axes: drawn over another one, with its background hidden."""
    return not ax.patch.get_visible()


def _shown(labels: list[Text]) -> list[Text]:
    return [label for label in labels if label.get_visible() and label.get_text().strip()]


def _overlaps(figure: Figure, labels: list[Text]) -> list[tuple[str, str]]:
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(label.get_window_extent(renderer), label.get_text()) for label in labels]
    return [
        (first_text, second_text)
        for index, (first, first_text) in enumerate(boxes)
        for second, second_text in boxes[index + 1 :]
        if first.overlaps(second)
        and min(first.x1, second.x1) - max(first.x0, second.x0) > 0.5  # more than touching
        and min(first.y1, second.y1) - max(first.y0, second.y0) > 0.5
    ]


def _problems(figure: Figure) -> list[str]:
    """What a reader would stumble on in `figure` (empty when it reads well)."""
    figure.draw_without_rendering()  # lays out text and ticks; nothing is rasterised
    found = []
    suptitle = figure.get_suptitle() if hasattr(figure, "get_suptitle") else ""
    main = [ax for ax in figure.axes if not _is_colour_bar(ax) and not _is_twin(ax)]
    for ax in main:
        if not (ax.get_title() or suptitle):
            found.append("an axes without a title (and no figure title)")
    for ax in figure.axes:
        bar = _is_colour_bar(ax)
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _shown(axis.get_ticklabels()) if axis.get_visible() else []
            if labels and not axis.get_label_text().strip():
                found.append(
                    f"{'a colour bar' if bar else 'an axes'} has {name} tick labels but no {name} label"
                )
            clashes = _overlaps(figure, labels)
            if clashes:
                found.append(f"overlapping {name} tick labels {clashes[:3]}")
            if bar and axis.get_offset_text().get_text().strip():
                found.append(
                    f"a colour bar's scale {axis.get_offset_text().get_text()!r} sits apart from its ticks"
                )
    bars = [ax for ax in figure.axes if _is_colour_bar(ax)]
    for ax in main:
        if any(isinstance(image, AxesImage) for image in ax.images) and not bars:
            found.append(f"a heatmap ({ax.get_title()!r}) without a colour bar")
    return found


def _unreliable_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = metrics.get("llc_checkpoints") or metrics.get("checkpoints") or []
    return [row for row in rows if isinstance(row, dict) and not row["reliability"]["reliable"]]


def _check_unreliable_marked(kind_name: str, metrics: dict[str, Any], figures: dict[str, Figure]) -> None:
    verdict = metrics.get("reliability")
    if kind_name == "llc":
        title = figures["loss_trace"].axes[0].get_title()
        assert title.startswith("UNRELIABLE") == (not verdict["reliable"]), title
        return
    if kind_name not in ("llc_trajectory", "essential_dynamics"):
        assert verdict is None
        return
    name = "llc_trajectory" if kind_name == "llc_trajectory" else "overlay"
    ax = next(ax for ax in figures[name].axes if ax.get_ylabel().startswith("λ̂"))
    handles, labels = ax.get_legend_handles_labels()
    marked = 0
    for handle, label in zip(handles, labels, strict=True):
        if label in UNRELIABLE_MARKS:
            points = handle.get_offsets() if hasattr(handle, "get_offsets") else handle.lines[0].get_xdata()
            marked += len(points)
    assert marked == len(_unreliable_rows(metrics)), (marked, labels)


def _run(kind_name: str, family: str, labels: list[str] | None = None) -> Any:
    return run_report(kind_name, kind_inputs(kind_name, family, labels))


@pytest.mark.parametrize(("kind_name", "family"), CASES)
def test_every_plot_has_titles_axis_labels_readable_ticks_and_scaled_colour_bars(
    kind_name: str, family: str
) -> None:
    report = _run(kind_name, family)
    for name in registry()[kind_name].plots:
        assert _problems(report.figures[name]) == [], f"{kind_name} on {family}: {name}"
    _check_unreliable_marked(kind_name, report.metrics, report.figures)


@pytest.mark.parametrize("kind_name", sorted(kind.name for kind in registry().values() if kind.series))
def test_series_plots_named_by_checkpoint_keep_their_ticks_apart(kind_name: str) -> None:
    """A series without positions is drawn in series order under its (shortened) names."""
    family = "mlp" if "mlp" in registry()[kind_name].families else "transformer"
    report = _run(
        kind_name, family, ["checkpoint-alpha-early", "checkpoint-beta-middle", "checkpoint-gamma-late"]
    )
    for name in registry()[kind_name].plots:
        assert _problems(report.figures[name]) == [], name


def test_the_checks_see_a_bad_figure() -> None:
    """The mutant: a figure with no labels, colliding ticks and a colour bar with a detached scale fails."""
    from analysis_workers.interp.report import new_figure

    figure = new_figure(width=2.0, height=2.0)
    ax = figure.subplots()
    image = ax.imshow([[1e-7, 2e-7], [3e-7, 4e-7]])
    ax.set_xticks(range(2), ["a rather long label", "another long label"])
    figure.colorbar(image, ax=ax)
    problems = " | ".join(_problems(figure))
    assert (
        "without a title" in problems and "no x label" in problems and "overlapping x tick labels" in problems
    )
    assert "a colour bar has y tick labels but no y label" in problems
