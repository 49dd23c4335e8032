"""Pictures of a training run: the loss curve, the gradient norm, and a 2-input classifier's
decision boundary over its data.

Each function takes what a :class:`symgrad.train.History` holds (``loss``, ``mode``,
``lr``; ``grad_norm`` for the gradient norm) and returns a :class:`~symgrad.present.figure.ShownFigure`;
long runs are thinned to at most :data:`MAX_POINTS` points per curve (every k-th point,
the last always kept), so an SVG of 400,000 updates stays small.

>>> fig = curve_figure([5.0, 4.68, 4.36], "loss", mode="batch")
>>> fig.axes[0].get_ylabel(), fig.axes[0].get_yscale()
('loss', 'log')
"""

from __future__ import annotations

import numpy as np
import sympy

from ..errors import SymgradError
from ..model import functions as fn
from ..model.network import Network
from .figure import ShownFigure

__all__ = ["MAX_POINTS", "curve_figure", "decision_boundary_figure", "network_outputs", "thinned_index"]

MAX_POINTS = 2000


def thinned_index(n: int) -> np.ndarray:
    """At most MAX_POINTS indices into ``n`` recorded points, evenly spread, first and last kept.

    >>> thinned_index(5).tolist(), len(thinned_index(400_001))
    ([0, 1, 2, 3, 4], 2000)
    """
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(int))


def curve_figure(values, what: str, *, steps=None, mode: str = "batch", title: str | None = None, log: bool = True):
    """One curve over the updates (``what`` labels the y axis: "loss", "gradient norm");
    ``steps`` are the values' update numbers when they are not 0, 1, 2 …"""
    values = np.asarray(values, dtype=float)
    if steps is None:
        steps = thinned_index(len(values))
        values = values[steps]
    fig = ShownFigure(figsize=(6, 3.4))
    ax = fig.add_subplot()
    x, y = np.asarray(steps), values
    ax.plot(x, y, lw=1.2)
    if log and len(values) and np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("update" if mode == "sgd" else "epoch")
    ax.set_ylabel(what)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def network_outputs(net: Network, params, X) -> np.ndarray:
    """The network's output (the step the loss compares with the single target) at each row of ``X``.

    >>> import symgrad as sg
    >>> net = sg.Network.from_equations("o = w*x; L = (o - y)**2", params="w", inputs="x", targets="y")
    >>> network_outputs(net, [2.0], [[1.0], [3.0]]).tolist()
    [2.0, 6.0]
    """
    if len(net.targets) != 1:
        raise SymgradError(f"network {net.name!r} has {len(net.targets)} targets; a decision boundary needs one", token=net.name)
    loss_expr = net.step_map[net.loss]
    outputs = [s for s in loss_expr.free_symbols if s in net.step_map]
    if len(outputs) != 1:
        raise SymgradError(f"cannot tell the output of {net.name!r}: its loss uses {len(outputs)} steps", token=net.name)
    output = outputs[0]
    program = []
    for st in net.steps:
        program.append((st.target, fn.to_elementary(st.expr)))
        if st.target == output:
            break
    f = sympy.lambdify([*net.params, *net.inputs], output, modules="numpy", cse=lambda e: (program, e))
    X = np.asarray(X, dtype=float)
    with np.errstate(all="ignore"):
        out = f(*np.asarray(params, dtype=float), *X.T)
    return np.broadcast_to(np.asarray(out, dtype=float), (len(X),)).copy()


def decision_boundary_figure(net: Network, params, X, Y, *, title: str | None = None, resolution: int = 160):
    """A 2-input, 1-output network's output over the plane of its data, the boundary at the
    midpoint of the targets drawn, and the data points on top."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    if X.ndim != 2 or X.shape[1] != 2 or Y.shape[1] != 1 or len(net.inputs) != 2:
        raise SymgradError("a decision boundary needs a network with 2 inputs and 1 target, and data of that shape", token=net.name)
    pad = 0.25 * max(1e-9, float(np.ptp(X)))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    z = network_outputs(net, params, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    level = float((Y.min() + Y.max()) / 2)
    fig = ShownFigure(figsize=(4.8, 4.0))
    ax = fig.add_subplot()
    image = ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.75)
    fig.colorbar(image, ax=ax, label="output")
    if np.nanmin(z) < level < np.nanmax(z):
        ax.contour(gx, gy, z, levels=[level], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap="RdBu_r", edgecolors="k", s=60, zorder=3, vmin=Y.min(), vmax=Y.max())
    ax.set_xlabel(net.inputs[0].name)
    ax.set_ylabel(net.inputs[1].name)
    ax.set_title(title or f"decision boundary (output = {level:g})", fontsize=10)
    fig.tight_layout()
    return fig
