"""What every analysis returns: JSON-serialisable metrics plus named matplotlib figures."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import matplotlib
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
