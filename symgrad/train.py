"""Gradient descent on a network's gradients: per sample (``"sgd"``) or on the mean (``"batch"``).

``History.params[0]`` is the starting point, then one entry per update;
``History.loss[k]`` is the loss at ``params[k]`` (the mean over the data set, or the
function's value when there is no data). Two steps on (x1·x2 − 3)² + 1 from (1, 1):

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> hist = gradient_descent(net, [1.0, 1.0], None, lr=0.01, epochs=2)
>>> float(hist.loss[0]), hist.params[1].tolist(), round(float(hist.loss[1]), 8)
(5.0, [1.04, 1.04], 4.68025856)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping

import numpy as np

from .compile.gradfn import GradFn
from .errors import ShapeError, SymgradError
from .model.network import Network
from .progress import progress

__all__ = ["History", "gradient_descent"]

GradCallable = Callable[..., tuple[float, np.ndarray]]


@dataclass
class History:
    """The path of a descent: ``params`` (updates + 1, n_params) and ``loss`` (updates + 1,)."""

    params: np.ndarray
    loss: np.ndarray
    mode: str
    lr: float
    epochs: int
    param_names: tuple[str, ...] = field(default=())
    #: The mean gradient over the data at a parameter vector (what ``grad_norm`` evaluates).
    mean_gradient: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def final_params(self) -> np.ndarray:
        return self.params[-1]

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    def grad_norm_at(self, index) -> np.ndarray:
        """‖∇L‖ (of the mean loss over the data) at the recorded points ``params[index]``."""
        if self.mean_gradient is None:
            raise SymgradError("this History keeps no gradient to evaluate (it was not made by gradient_descent)", token="grad_norm")
        return np.array([np.linalg.norm(self.mean_gradient(p)) for p in self.params[np.asarray(index, dtype=int)]])

    @cached_property
    def grad_norm(self) -> np.ndarray:
        """‖∇L‖ at every recorded point (index 0 = the start), evaluated on first use:
        one gradient over the data per point, about what the training itself cost."""
        return self.grad_norm_at(np.arange(len(self.params)))

    def plot_grad_norm(self, path=None, *, title: str | None = None):
        """Plot ‖∇L‖ over the updates (at most 2,000 points evaluated); save it to ``path`` when given."""
        from .present.figure import save_figure
        from .present.training import curve_figure, thinned_index

        index = thinned_index(len(self.params))
        fig = curve_figure(self.grad_norm_at(index), "gradient norm", steps=index, mode=self.mode,
                           title=title or f"gradient norm ({self.mode}, lr={self.lr:g})")
        if path is not None:
            save_figure(fig, path)
        return fig

    def plot(self, path=None, *, title: str | None = None, log: bool = True):
        """Plot the loss curve; save it to ``path`` when given (the suffix picks PNG, SVG, PDF…).
        Returns the matplotlib ``Figure``.

        The figure is built with matplotlib's object API on its own Agg canvas: pyplot's
        state and the session's backend are left alone, so a notebook's plots keep showing.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
            raise SymgradError(f"plotting needs matplotlib: {exc}") from None
        fig = Figure(figsize=(6, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(np.arange(len(self.loss)), self.loss)
        if log and np.all(self.loss > 0):
            ax.set_yscale("log")
        ax.set_xlabel("update" if self.mode == "sgd" else "epoch")
        ax.set_ylabel("loss")
        ax.set_title(title or f"gradient descent ({self.mode}, lr={self.lr:g})")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig

    def _repr_png_(self) -> bytes:
        """The loss curve, as a notebook shows a ``History``."""
        buffer = io.BytesIO()
        self.plot().savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def summary(self) -> str:
        return (
            f"{self.mode} descent, lr={self.lr:g}, {self.epochs} epochs, {len(self.loss) - 1} updates: "
            f"loss {self.loss[0]:.6g} -> {self.loss[-1]:.6g}"
        )


def _data(net: Network, data) -> tuple[np.ndarray, np.ndarray] | None:
    if data is None:
        if net.inputs or net.targets:
            raise ShapeError(f"network {net.name!r} has inputs/targets: gradient descent needs data=(X, Y)", token="data")
        return None
    if isinstance(data, Mapping):
        X, Y = data.get("X", ()), data.get("Y", ())
    else:
        try:
            X, Y = data
        except (TypeError, ValueError):
            raise ShapeError("data must be None, a pair (X, Y) or a mapping with 'X' and 'Y'", token="data") from None
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    n = len(X) if X.ndim else 0
    if X.ndim == 1 and len(net.inputs) == 1:
        X = X[:, None]
    if Y.ndim == 1 and len(net.targets) == 1 and len(Y) == n:
        Y = Y[:, None]
    if X.ndim != 2 or X.shape[1] != len(net.inputs):
        raise ShapeError(f"X has shape {X.shape}, expected (n, {len(net.inputs)}) for inputs {', '.join(s.name for s in net.inputs)}", token="X")
    if Y.size == 0 and not net.targets:
        Y = np.zeros((len(X), 0))
    if Y.ndim != 2 or Y.shape != (len(X), len(net.targets)):
        raise ShapeError(f"Y has shape {Y.shape}, expected ({len(X)}, {len(net.targets)}) for targets {', '.join(s.name for s in net.targets)}", token="Y")
    if len(X) == 0:
        raise ShapeError("data has no samples", token="X")
    return X, Y


def _mean_loss_and_grad(grad: GradCallable, batch, p, data) -> tuple[float, np.ndarray]:
    if data is None:
        loss, g = grad(p)
        return float(loss), np.asarray(g, dtype=float)
    X, Y = data
    if batch is not None:
        loss, g = batch(p, X, Y)
        return float(loss), np.asarray(g, dtype=float)
    total, gsum = 0.0, np.zeros_like(p)
    for x, y in zip(X, Y):
        loss, g = grad(p, x, y)
        total += loss
        gsum += g
    return total / len(X), gsum / len(X)


def gradient_descent(
    net: Network,
    params0,
    data=None,
    *,
    lr: float,
    epochs: int,
    mode: str = "batch",
    seed: int | None = None,
    grad: GradCallable | None = None,
    record_every: int = 1,
) -> History:
    """Minimise the loss by gradient descent from ``params0``.

    ``mode="batch"``: one update per epoch with the mean gradient over the data;
    ``mode="sgd"``: one update per sample, in the data's order (shuffled each epoch
    when ``seed`` is given). ``data`` is ``None`` for a plain function, else ``(X, Y)``
    or ``{"X": ..., "Y": ...}`` with one row per sample. ``grad`` is any callable
    ``(params, x, y) -> (loss, grad)``; by default the network's compiled gradient.
    ``record_every=k`` keeps every k-th point only (a long per-sample run would
    otherwise store one parameter vector per update).
    """
    if mode not in ("sgd", "batch"):
        raise SymgradError(f"unknown mode {mode!r} (use 'sgd' or 'batch')", token=str(mode))
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 0):
        raise SymgradError(f"epochs must be a non-negative integer, got {epochs!r}", token=str(epochs))
    if not np.isfinite(lr) or lr <= 0:
        raise SymgradError(f"lr must be a positive number, got {lr!r}", token=str(lr))
    p = np.array(params0, dtype=float)
    if p.shape != (len(net.params),):
        raise ShapeError(f"params0 has shape {p.shape}, expected ({len(net.params)},) for parameters {', '.join(x.name for x in net.params[:8])}...", token="params0")
    samples = _data(net, data)
    if grad is None:
        grad = net.compile()
    # A compiled GradFn (the default, or one passed in) has a batch kernel and, when
    # jitted, kernels the per-sample loop can run in numba; any other callable is
    # called sample by sample.
    compiled = isinstance(grad, GradFn)
    batch = grad.batch if compiled and samples is not None else None  # data implies a batch kernel
    rng = np.random.default_rng(seed) if seed is not None else None

    if not (isinstance(record_every, (int, np.integer)) and record_every >= 1):
        raise SymgradError(f"record_every must be a positive integer, got {record_every!r}", token=str(record_every))
    if mode == "sgd" and samples is not None and compiled and grad.jit:
        return _sgd_compiled(net, grad, p, samples, lr, epochs, rng, int(record_every))

    params, losses = [p.copy()], []
    updates = 0
    if mode == "batch" or samples is None:
        for _ in progress(range(epochs), total=epochs, desc="training"):
            loss, g = _mean_loss_and_grad(grad, batch, p, samples)
            if updates % record_every == 0:
                losses.append(loss)  # the loss at the point just recorded
            p = p - lr * g
            updates += 1
            if updates % record_every == 0:
                params.append(p.copy())
    else:
        X, Y = samples
        for _ in progress(range(epochs), total=epochs * len(X), desc="training"):
            order = rng.permutation(len(X)) if rng is not None else range(len(X))
            for i in order:
                _, g = grad(p, X[i], Y[i])
                p = p - lr * np.asarray(g, dtype=float)
                updates += 1
                if updates % record_every == 0:
                    params.append(p.copy())
    params_arr = np.array(params)
    # The loss at each recorded point not already known (sgd's points, the last
    # point), over the whole data set: one sample's loss says little about a point.
    loss_arr = np.array(losses + [_mean_loss_and_grad(grad, batch, q, samples)[0] for q in params_arr[len(losses):]])
    return History(params_arr, loss_arr, mode, float(lr), int(epochs), tuple(s.name for s in net.params), _gradient_of(grad, batch, samples))


def _gradient_of(grad: GradCallable, batch, samples) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: _mean_loss_and_grad(grad, batch, np.asarray(p, dtype=float), samples)[1]


# --------------------------------------------------------------------------- compiled sgd


def _sgd_compiled(net: Network, f, p: np.ndarray, samples, lr: float, epochs: int, rng, record_every: int) -> History:
    """Per-sample descent in the generated module's ``sgd_kernel`` (compiled and cached with it)."""
    X, Y = samples
    n = len(X)
    order = np.concatenate([rng.permutation(n) if rng is not None else np.arange(n) for _ in range(epochs)]) if epochs else np.zeros(0, np.int64)
    points = len(order) // record_every + 1
    params_out = np.empty((points, len(p)), dtype=f.dtype)
    losses_out = np.empty(points, dtype=f.dtype)
    columns = [np.ascontiguousarray(a, dtype=f.dtype) for a, present in ((X, net.inputs), (Y, net.targets)) if present]
    recorded = f.module.sgd_kernel(p.astype(f.dtype), *columns, f.dtype.type(lr), order.astype(np.int64), record_every, params_out, losses_out)
    if not np.all(np.isfinite(losses_out[:recorded])):
        bad = int(np.argmin(np.isfinite(losses_out[:recorded]))) * record_every
        raise SymgradError(f"the loss is no longer finite after {bad} updates: lr={lr:g} is too large, or the data has NaN", token="lr")
    return History(params_out[:recorded].astype(float), losses_out[:recorded].astype(float), "sgd", float(lr), int(epochs),
                   tuple(s.name for s in net.params), _gradient_of(f, f.batch, samples))
