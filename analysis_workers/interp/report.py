"""What every analysis returns: JSON-serialisable metrics plus named matplotlib figures."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


@dataclass
class AnalysisReport:
    """`metrics` holds only JSON types (dict, list, str, float, int, bool, None)."""

    metrics: dict[str, Any]
    figures: dict[str, Figure] = field(default_factory=dict)

    def png_bytes(self, name: str, *, dpi: int = 80) -> bytes:
        buffer = io.BytesIO()
        self.figures[name].savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()

    def svg_bytes(self, name: str) -> bytes:
        """The same figure as SVG (vector, for papers); text stays paths, so no fonts leak in."""
        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.fonttype": "path"}):
            self.figures[name].savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        return buffer.getvalue()


def new_figure(*, width: float = 6.0, height: float = 4.0) -> Figure:
    """A figure on an Agg canvas, outside pyplot's global registry (nothing leaks between jobs)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def finite(value: float) -> float | None:
    """A float JSON can carry: NaN and infinities become None."""
    return value if math.isfinite(value) else None


def head_label(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


MAX_NAMED_TICKS = 8
TICK_NAME_LENGTH = 12


def series_positions(labels: Sequence[str]) -> list[float] | None:
    """Each checkpoint's series position as a number (the platform labels a checkpoint by its
    position, the training step, when it has one); None when some label is a name instead."""
    positions = []
    for label in labels:
        try:
            positions.append(float(label))
        except ValueError:
            return None
    return positions


def series_x(ax: Axes, labels: Sequence[str]) -> list[float]:
    """The x coordinates of a developmental plot's checkpoints, with the axis labelled: the series
    position (training step) when every label is a number, else the series order with at most
    `MAX_NAMED_TICKS` horizontal, shortened names, so tick labels never overlap."""
    positions = series_positions(labels)
    if positions is not None:
        ax.set_xlabel("training step (series position)")
        return positions
    xs = [float(index) for index in range(len(labels))]
    stride = max(1, math.ceil(len(labels) / MAX_NAMED_TICKS))
    ax.set_xticks(xs[::stride], [_short(label) for label in labels[::stride]])
    ax.set_xlabel(f"checkpoint (series order{', every ' + str(stride) + ' named' if stride > 1 else ''})")
    return xs


def _short(label: str) -> str:
    return label if len(label) <= TICK_NAME_LENGTH else label[: TICK_NAME_LENGTH - 1] + "…"
