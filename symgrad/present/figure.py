"""Figures that show themselves in notebooks and save the same bytes on every run.

matplotlib's object API only: a :class:`ShownFigure` is a ``matplotlib.figure.Figure``
with its own Agg canvas (no pyplot, no backend switched, no global state changed).

>>> fig = ShownFigure(figsize=(2, 1))
>>> _ = fig.add_subplot().plot([0, 1], [1, 0])
>>> figure_bytes(fig, "svg") == figure_bytes(fig, "svg"), fig._repr_svg_().startswith("<?xml")
(True, True)
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import SymgradError

__all__ = ["FORMATS", "ShownFigure", "figure_bytes", "save_figure"]

FORMATS = ("svg", "png", "pdf")

_METADATA = {
    "svg": {"Date": None, "Creator": "symgrad"},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "symgrad", "Producer": "symgrad"},
    "png": {"Software": "symgrad"},
}


class ShownFigure(Figure):
    """A matplotlib Figure on an Agg canvas that notebooks display as SVG."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)

    def svg(self) -> str:
        """The figure as SVG text."""
        return figure_bytes(self, "svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg()


def figure_bytes(fig: Figure, fmt: str = "svg", dpi: int = 110) -> bytes:
    """``fig`` saved as ``svg``, ``png`` or ``pdf``, with no date and fixed ids: the same bytes every run."""
    if fmt not in _METADATA:
        raise SymgradError(f"cannot save a figure as {fmt!r} (use svg, png or pdf)", token=str(fmt))
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # rc_context restores every setting afterwards: the hash salt fixes the SVG's ids for this save only.
    with rc_context({"svg.hashsalt": "symgrad", "svg.fonttype": "path"}):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buffer.getvalue()


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path``; the suffix (.svg, .png, .pdf) picks the format."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SymgradError(f"cannot tell the picture format of {str(path)!r}: use .svg, .png or .pdf", token=str(path))
    path.write_bytes(figure_bytes(fig, fmt))
    return path
