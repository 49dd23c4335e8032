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

from .compile.distributed import is_dask_array
from .compile.gradfn import GradFn
from .errors import ShapeError, SymgradError
from .model.network import Network
from .progress import progress

__all__ = ["History", "gradient_descent", "newton"]

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
            from .present.figure import save_figure  # a suffix it cannot write (loss.xyz) is an error naming the file

            save_figure(fig, path)
        return fig

    def _repr_png_(self) -> bytes:
        """The loss curve, as a notebook shows a ``History``."""
        buffer = io.BytesIO()
        self.plot().savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def summary(self) -> str:
        if self.mode == "newton":
            return f"Newton's method, {self.epochs} steps: loss {self.loss[0]:.6g} -> {self.loss[-1]:.6g}"
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
    if is_dask_array(X) or is_dask_array(Y):
        return _dask_data(net, X, Y)
    X, Y = _numbers(X, "X"), _numbers(Y, "Y")
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


def _numbers(value, name: str) -> np.ndarray:
    """``value`` as a float array of finite numbers; anything else is a ShapeError naming it."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"{name} must be numbers, one row per sample: {exc}", token=name) from None
    if not np.all(np.isfinite(arr)):
        raise ShapeError(f"{name} holds {arr[~np.isfinite(arr)][0]}: training needs finite numbers", token=name)
    return arr


def _dask_data(net: Network, X, Y):
    """Dask data, its shapes checked and its values left where they are (read chunk by chunk
    by each batch gradient)."""
    for name, array, symbols in (("X", X, net.inputs), ("Y", Y, net.targets)):
        shape = getattr(array, "shape", None)
        if symbols and (shape is None or len(shape) != 2 or shape[1] != len(symbols)):
            raise ShapeError(f"{name} has shape {shape}, expected (n, {len(symbols)}) for {', '.join(s.name for s in symbols)}", token=name)
    if net.inputs and net.targets and X.shape[0] != Y.shape[0]:
        raise ShapeError(f"Y has {Y.shape[0]} rows but X has {X.shape[0]}; one row per sample", token="Y")
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
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise SymgradError(f"seed must be a non-negative integer or None, got {seed!r}", token=str(seed))
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise SymgradError(f"lr must be a positive number, got {lr!r}", token=str(lr))
    p = _numbers(params0, "params0").copy()
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
    if samples is not None and any(is_dask_array(a) for a in samples) and (mode != "batch" or batch is None):
        raise SymgradError(
            "Dask data is read chunk by chunk by the compiled batch gradient: use mode='batch' with the network's own gradient",
            token="mode" if mode != "batch" else "grad",
        )

    if not (isinstance(record_every, (int, np.integer)) and record_every >= 1):
        raise SymgradError(f"record_every must be a positive integer, got {record_every!r}", token=str(record_every))
    if mode == "sgd" and samples is not None and compiled and grad.jit:
        return _sgd_compiled(net, grad, p, samples, lr, epochs, rng, int(record_every))

    params, losses = [p.copy()], []
    updates = 0
    # A run that diverges overflows on the way: it stops with an error naming lr (as the
    # compiled per-sample loop does), and NumPy's warnings about it stay quiet.
    with np.errstate(all="ignore"):
        if mode == "batch" or samples is None:
            for _ in progress(range(epochs), total=epochs, desc="training"):
                loss, g = _mean_loss_and_grad(grad, batch, p, samples)
                if not (np.isfinite(loss) and np.all(np.isfinite(g))):
                    raise _diverged(updates, lr)
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
                    g = np.asarray(g, dtype=float)
                    if not np.all(np.isfinite(g)):
                        raise _diverged(updates, lr)
                    p = p - lr * g
                    updates += 1
                    if updates % record_every == 0:
                        params.append(p.copy())
        params_arr = np.array(params)
        # The loss at each recorded point not already known (sgd's points, the last
        # point), over the whole data set: one sample's loss says little about a point.
        loss_arr = np.array(losses + [_mean_loss_and_grad(grad, batch, q, samples)[0] for q in params_arr[len(losses):]])
    if not np.all(np.isfinite(params_arr)) or not np.all(np.isfinite(loss_arr)):
        raise _diverged(updates, lr)
    return History(params_arr, loss_arr, mode, float(lr), int(epochs), tuple(s.name for s in net.params), _gradient_of(grad, batch, samples))


def _gradient_of(grad: GradCallable, batch, samples) -> Callable[[np.ndarray], np.ndarray]:
    return lambda p: _mean_loss_and_grad(grad, batch, np.asarray(p, dtype=float), samples)[1]


def _diverged(updates: int, lr: float) -> SymgradError:
    return SymgradError(f"the loss is no longer finite after {updates} updates: lr={lr:g} is too large, or the data has NaN", token="lr")


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


# --------------------------------------------------------------------------- Newton's method


def newton(net: Network, params0, data=None, *, steps: int, damping: float = 0.0) -> History:
    """Newton's method, θ ← θ − (H + damping·I)⁻¹ ∇L, with the exact Hessian of the (mean) loss.

    H is assembled from compiled Hessian-vector products, one per parameter
    (:meth:`symgrad.GradFn.hvp`: reverse over the gradient program), so it is meant for
    networks of tens or hundreds of parameters. ``damping`` > 0 (Levenberg) makes a
    singular or indefinite H usable. ``History.params[k]`` is the k-th iterate.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> hist = newton(net, [2.0, 1.0], steps=5)
    >>> [round(float(v), 6) for v in hist.params[-1]], round(hist.final_loss, 12)   # on x1·x2 = 3, as x1 = 2·x2 all along
    ([2.44949, 1.224745], 1.0)
    """
    if not (isinstance(steps, (int, np.integer)) and steps >= 0):
        raise SymgradError(f"steps must be a non-negative integer, got {steps!r}", token=str(steps))
    if not (np.isfinite(damping) and damping >= 0):
        raise SymgradError(f"damping must be a non-negative number, got {damping!r}", token=str(damping))
    p = np.array(params0, dtype=float)
    if p.shape != (len(net.params),):
        raise ShapeError(f"params0 has shape {p.shape}, expected ({len(net.params)},)", token="params0")
    samples = _data(net, data)
    f = net.compile()
    batch = f.batch if samples is not None else None
    columns = np.eye(len(p))

    def hessian(q):
        data_args = () if samples is None else samples
        return np.column_stack([f.hvp(q, e, *data_args) for e in columns])

    params, losses = [p.copy()], []
    for step in range(int(steps)):
        loss, g = _mean_loss_and_grad(f, batch, p, samples)
        losses.append(loss)
        H = hessian(p) + damping * columns
        try:
            p = p - np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            raise SymgradError(
                f"the Hessian is singular at step {step} ({', '.join(f'{s.name}={v:.6g}' for s, v in zip(net.params, p))}); "
                "pass damping > 0",
                token="damping",
            ) from None
        if not np.all(np.isfinite(p)):
            raise SymgradError(f"Newton's step {step} left the finite numbers; pass damping > 0", token="damping")
        params.append(p.copy())
    losses.append(_mean_loss_and_grad(f, batch, p, samples)[0])
    return History(np.array(params), np.array(losses), "newton", 1.0, int(steps), tuple(s.name for s in net.params),
                   _gradient_of(f, batch, samples))
