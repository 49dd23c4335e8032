"""Numeric backpropagation: the independent engine the symbolic gradients are checked against.

It shares no derivative code with ``derive.py``: no ``sympy.diff``, no ``fdiff``, no
generated or jitted code. The forward pass walks each step's sympy expression tree
and records every value on a tape, with the *numbers* of its local derivatives taken
from this module's own small rule table (micrograd-style); the backward pass sweeps
the tape in reverse, adding ``adjoint × local`` into each child. Reading the tree's
structure and recognising a function by its kind is all it takes from sympy.

Layered (:func:`symgrad.mlp`) networks also get the vectorised δ-recursion, on
rows of samples: δ⁽ᴸ⁾ = ∇ₐL ⊙ f'(u⁽ᴸ⁾), δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(u⁽ˡ⁾),
∇W⁽ˡ⁾ = δ⁽ˡ⁾(x⁽ˡ⁻¹⁾)ᵀ, ∇b⁽ˡ⁾ = δ⁽ˡ⁾ (a mean over samples in batch mode).

>>> from symgrad import Network
>>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> loss, g = numeric_backprop(net, [1.0, 1.0])
>>> float(loss), g.tolist()
(5.0, [-4.0, -4.0])
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy

from ..errors import ShapeError, SymgradError
from ..model import functions as fn

__all__ = ["as_arrays", "forward", "numeric_backprop", "numeric_backprop_batch", "numeric_loss"]


# --------------------------------------------------------------------------- input checks


def _names(symbols, limit: int = 6) -> str:
    shown = [s.name for s in symbols[:limit]]
    return ", ".join(shown + (["..."] if len(symbols) > limit else []))


def _array(value, name: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SymgradError(f"{name} must be numbers: {exc}", token=name) from None


def as_arrays(net, params, x=None, y=None, *, batch: bool = False):
    """``params``, ``x`` and ``y`` as float64 arrays of the shapes ``net`` expects.

    Single sample: ``(P,)``, ``(n_inputs,)``, ``(n_targets,)``; ``batch=True``: ``x`` and
    ``y`` are ``(n, n_inputs)`` and ``(n, n_targets)``. A missing ``x``/``y`` is allowed
    only for a network without inputs/targets. Anything else is a ShapeError naming
    the argument and the shape expected.

    >>> from symgrad import Network
    >>> net = Network.from_expr("w*x", params="w", inputs="x")
    >>> as_arrays(net, [2.0], [3.0])
    (array([2.]), array([3.]), array([], dtype=float64))
    >>> as_arrays(net, [2.0, 1.0], [3.0])
    Traceback (most recent call last):
    symgrad.errors.ShapeError: params must have shape (1,) (w), got shape (2,)
    """
    theta = _array(params, "params")
    if theta.shape != (len(net.params),):
        raise ShapeError(f"params must have shape ({len(net.params)},) ({_names(net.params)}), got shape {theta.shape}", token="params")
    arrays = []
    for name, value, symbols, what in (("x", x, net.inputs, "inputs"), ("y", y, net.targets, "targets")):
        name = name.upper() if batch else name
        if value is None:
            if symbols:
                raise ShapeError(f"{name} is missing: network {net.name!r} has {len(symbols)} {what} ({_names(symbols)})", token=name)
            arrays.append(None)
            continue
        arr = _array(value, name)
        want = f"(n, {len(symbols)})" if batch else f"({len(symbols)},)"
        if arr.ndim != (2 if batch else 1) or arr.shape[-1] != len(symbols):
            raise ShapeError(f"{name} must have shape {want} ({_names(symbols) or f'no {what}'}), got shape {arr.shape}", token=name)
        arrays.append(arr)
    if not batch:
        return (theta,) + tuple(np.zeros(0) if a is None else a for a in arrays)
    rows = [len(a) for a in arrays if a is not None]
    if not rows:
        raise ShapeError(f"batch mode needs rows of X or Y (network {net.name!r} has no inputs or targets)", token="X")
    if len(set(rows)) > 1:
        raise ShapeError(f"X has {rows[0]} rows but Y has {rows[1]}", token="Y")
    return (theta,) + tuple(np.zeros((rows[0], 0)) if a is None else a for a in arrays)


# --------------------------------------------------------------------------- the rule table

# Plain float arithmetic that returns inf/nan where NumPy would, instead of raising.
# The rules of the elementwise functions are their rows' (symgrad.model.functions,
# ``FunctionRow.numeric``): written by hand, apart from the sympy derivatives.


def _pow(b, e):
    try:
        v = b**e
    except ZeroDivisionError:
        return math.inf
    except OverflowError:
        return math.inf
    return math.nan if isinstance(v, complex) else v


def _log(a):
    return math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)


def _mul(*a):
    # ∂(a₀a₁…)/∂aₖ is the product of the others; prefix/suffix products keep it right when a factor is 0.
    n = len(a)
    pre, suf = [1.0] * (n + 1), [1.0] * (n + 1)
    for k in range(n):
        pre[k + 1] = pre[k] * a[k]
        suf[n - 1 - k] = suf[n - k] * a[n - 1 - k]
    return pre[n], tuple(pre[k] * suf[k + 1] for k in range(n))


def _power(b, e):
    v = _pow(b, e)
    return v, (e * _pow(b, e - 1), v * _log(b) if v != 0 else 0.0)


def _logsumexp(*a):
    m = max(a)
    if math.isinf(m):
        return m, tuple(1.0 if v == m else 0.0 for v in a)
    s = math.log(sum(math.exp(v - m) for v in a)) + m
    return s, tuple(math.exp(v - s) for v in a)  # the softmax


def _extreme(pick):
    def rule(*a):
        k = a.index(pick(a))
        return a[k], tuple(1.0 if i == k else 0.0 for i in range(len(a)))

    return rule


#: kind -> rule(*argument values) -> (value, local derivatives, one per argument): the
#: arithmetic, the vector function logsumexp, and every row of the functions table.
RULES = {
    "add": lambda *a: (math.fsum(a), (1.0,) * len(a)),
    "mul": _mul,
    "pow": _power,
    "logsumexp": _logsumexp,
    "max": _extreme(max),
    "min": _extreme(min),
    **{name: row.numeric.rule for name, row in fn.FUNCTIONS.items()},
}

#: Kinds whose derivative jumps where their argument (for max/min: the gap between the two largest) is 0.
_KINKED = {"max", "min"} | {name for name, row in fn.FUNCTIONS.items() if row.kinked}

_SYMPY_KINDS = {sympy.Max: "max", sympy.Min: "min"}


def _kind(expr) -> str:
    if expr.is_Add:
        return "add"
    if expr.is_Mul:
        return "mul"
    if expr.is_Pow:
        return "pow"
    kind = fn.kind_of(type(expr)) or _SYMPY_KINDS.get(type(expr))
    if kind not in RULES:
        raise SymgradError(f"numeric backprop has no rule for {type(expr).__name__} (in {expr})", token=type(expr).__name__)
    return kind


def _kink_gap(kind, args) -> float:
    """Distance from the kink: |argument|, or for max/min the gap between the two best arguments."""
    if kind in ("max", "min") and len(args) > 1:
        best = sorted(args, reverse=kind == "max")
        return abs(best[0] - best[1])
    return abs(args[0])


# --------------------------------------------------------------------------- the tape


class Tape:
    """One forward pass of the scalar engine: every value, with its children and local derivatives.

    Nodes are numbered as they are created, children first, so the reverse of that
    order is a valid order for the backward sweep.
    """

    def __init__(self, net, theta, x, y):
        self.values: list[float] = []
        self.children: list[tuple[int, ...]] = []
        self.locals: list[tuple[float, ...]] = []
        self.kinks: list[tuple[sympy.Expr, float]] = []  # (where, the argument's distance from its kink)
        self._memo: dict = {}
        env = {}
        for symbols, values in ((net.params, theta), (net.inputs, x), (net.targets, y)):
            for s, v in zip(symbols, values):
                env[s] = self._node(float(v))
        self._env = env
        for st in net.steps:
            env[st.target] = self._eval(st.expr)
        self._params = [env[p] for p in net.params]
        self._root = env[net.loss]

    def _node(self, value, children=(), local=()):
        self.values.append(value)
        self.children.append(children)
        self.locals.append(local)
        return len(self.values) - 1

    def _eval(self, expr) -> int:
        if expr in self._memo:
            return self._memo[expr]
        if expr.is_Symbol:
            node = self._env[expr]
        elif expr.is_Number or expr.is_NumberSymbol:
            try:
                node = self._node(float(expr))
            except TypeError:
                raise SymgradError(f"{expr} is not a real number", token=str(expr)) from None
        elif (row := fn.row_of(type(expr))) is not None and row.numeric is None:
            node = self._eval(row.expand(expr.args[0]))  # defined by an expression: the tape takes it apart
        else:
            kind = _kind(expr)
            children = tuple(self._eval(a) for a in expr.args)
            args = [self.values[c] for c in children]
            value, local = RULES[kind](*args, **fn.float_parameters(type(expr)))
            if kind in _KINKED:
                self.kinks.append((expr, _kink_gap(kind, args)))
            node = self._node(value, children, local)
        self._memo[expr] = node
        return node

    @property
    def loss(self) -> float:
        return self.values[self._root]

    @property
    def nearest_kink(self) -> tuple[str, float]:
        """The nearest kink (relu, abs, max…) as (the expression, |its argument|); ("", inf) if none."""
        where, gap = min(self.kinks, key=lambda k: k[1], default=("", math.inf))
        return str(where), gap

    @property
    def kink_distance(self) -> float:
        return self.nearest_kink[1]

    def backward(self) -> np.ndarray:
        adjoint = [0.0] * len(self.values)
        adjoint[self._root] = 1.0
        for node in range(self._root, -1, -1):
            a = adjoint[node]
            for child, d in zip(self.children[node], self.locals[node]):
                adjoint[child] += a * d
        return np.array([adjoint[p] for p in self._params], dtype=np.float64)


# --------------------------------------------------------------------------- layered networks


def _defaults(row) -> dict[str, float]:
    return fn.float_parameters(row.builtin)


def _array_value(activation: str, U: np.ndarray) -> np.ndarray:
    """f(U) of a layer's elementwise activation (a kind such as "tanh" or "leaky_relu(0.2)")."""
    row, constants = fn.parse_kind(activation)
    return row.numeric.array_value(U, **{k: float(v) for k, v in constants.items()} or _defaults(row))


def _array_slope(activation: str, U: np.ndarray, A: np.ndarray) -> np.ndarray:
    """f'(U) of a layer's elementwise activation, given U and A = f(U)."""
    row, constants = fn.parse_kind(activation)
    return row.numeric.array_slope(U, A, **{k: float(v) for k, v in constants.items()} or _defaults(row))


def _lse(u):
    m = np.max(u, axis=1, keepdims=True)
    return (m + np.log(np.sum(np.exp(u - m), axis=1, keepdims=True)))[:, 0]


class LayerPass:
    """One forward pass of a layered network over rows of samples; :meth:`backward` is the δ-recursion."""

    def __init__(self, spec, theta, X, Y):
        self.spec, self.Y = spec, Y
        self.W, self.b = [], []
        at = 0
        for l in range(1, spec.n_layers + 1):
            rows, cols = spec.sizes[l], spec.sizes[l - 1]
            self.W.append(theta[at : at + rows * cols].reshape(rows, cols))  # row by row
            at += rows * cols
            self.b.append(theta[at : at + rows] if spec.bias else np.zeros(rows))
            at += rows if spec.bias else 0
        # Row convention, one sample per row: U = A Wᵀ + b.
        self.A, self.U = [X], []
        for l, act in enumerate(spec.activations):
            U = self.A[-1] @ self.W[l].T + self.b[l]
            self.U.append(U)
            self.A.append(np.exp(U - _lse(U)[:, None]) if act == "softmax" else _array_value(act, U))
        self.losses, self._grad_out = self._loss()

    def _loss(self):
        """Per-sample loss and ∇_a L at the output (for the fused softmax cross-entropy: ∇_u L)."""
        o, Y, loss = self.A[-1], self.Y, self.spec.loss
        if loss == "mse":
            return 0.5 * np.sum((o - Y) ** 2, axis=1), o - Y
        if loss == "mae":
            return np.sum(np.abs(o - Y), axis=1), np.sign(o - Y)
        if loss == "softmax_cross_entropy":  # lse(u)·Σy − Σ y_k u_k; its u-gradient is softmax(u)·Σy − y
            U, s = self.U[-1], np.sum(Y, axis=1)
            return _lse(U) * s - np.sum(Y * U, axis=1), o * s[:, None] - Y
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.spec.activations[-1] == "softmax":
                return -np.sum(Y * np.log(o), axis=1), -Y / o
            return -np.sum(Y * np.log(o) + (1 - Y) * np.log(1 - o), axis=1), -Y / o + (1 - Y) / (1 - o)

    @property
    def loss(self) -> float:
        return float(np.mean(self.losses))

    @property
    def nearest_kink(self) -> tuple[str, float]:
        """The nearest kink: a relu's u⁽ˡ⁾ or, for the L1 loss, an output minus its target."""
        L = self.spec.n_layers
        gaps = [(f"relu(u{l}_{{i}})", np.abs(U)) for l, (U, act) in enumerate(zip(self.U, self.spec.activations), 1) if act == "relu"]
        if self.spec.loss == "mae":
            gaps.append((f"abs(x{L}_{{i}} - y{{i}})", np.abs(self.A[-1] - self.Y)))
        best = ("", math.inf)
        for where, gap in gaps:
            row, i = np.unravel_index(np.argmin(gap), gap.shape)
            if gap[row, i] < best[1]:
                best = (where.format(i=i + 1), float(gap[row, i]))
        return best

    @property
    def kink_distance(self) -> float:
        return self.nearest_kink[1]

    def backward(self) -> np.ndarray:
        acts, n = self.spec.activations, len(self.Y)
        g, o = self._grad_out, self.A[-1]
        if self.spec.loss == "softmax_cross_entropy":
            delta = g
        elif acts[-1] == "softmax":  # δ = J_softmaxᵀ g = o ⊙ (g − ⟨g, o⟩)
            delta = o * (g - np.sum(g * o, axis=1, keepdims=True))
        else:
            delta = g * _array_slope(acts[-1], self.U[-1], o)
        layers = []
        for l in range(self.spec.n_layers - 1, -1, -1):
            grad_W = (delta.T @ self.A[l]) / n  # ∇W⁽ˡ⁾ = δ⁽ˡ⁾(x⁽ˡ⁻¹⁾)ᵀ, averaged over the rows
            layers.insert(0, [grad_W.ravel()] + ([delta.mean(axis=0)] if self.spec.bias else []))  # ∇b⁽ˡ⁾ = δ⁽ˡ⁾
            if l:  # δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾)ᵀδ⁽ˡ⁾ ⊙ f'(u⁽ˡ⁻¹⁾), written for rows: δ W ⊙ f'(U)
                delta = (delta @ self.W[l]) * _array_slope(acts[l - 1], self.U[l - 1], self.A[l])
        return np.concatenate([block for layer in layers for block in layer])


# --------------------------------------------------------------------------- public entry points


@functools.lru_cache(maxsize=64)
def _layer_params(spec) -> tuple:
    return spec.params()


def _use_layers(net, method: str) -> bool:
    if method not in ("auto", "graph", "layers"):
        raise SymgradError(f"method must be 'auto', 'graph' or 'layers', not {method!r}", token=str(method))
    # The δ-recursion assumes the layer order of parameters; a network merely labelled layered is walked as a graph.
    layered = net.layers is not None and tuple(net.params) == _layer_params(net.layers)
    if method == "layers" and not layered:
        raise SymgradError(f"method='layers' needs a layered network (symgrad.mlp); {net.name!r} is not one", token="layers")
    # A user's function has no array rule: such a layer is taken apart by the scalar tape.
    if layered and any(act != "softmax" and fn.parse_kind(act)[0].numeric is None for act in net.layers.activations):
        if method == "layers":
            raise SymgradError(f"method='layers': network {net.name!r} has an activation defined by an expression", token="layers")
        return False
    return layered and method != "graph"


def forward(net, params, x=None, y=None, *, method: str = "auto"):
    """Run ``net`` forward at one sample; the result has ``.loss``, ``.kink_distance`` and ``.backward()``.

    ``method``: ``"graph"`` walks the steps' expression trees (any network), ``"layers"``
    runs the vectorised layer pass (``mlp`` networks); ``"auto"`` takes layers when it can.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("relu(w - 1)", params="w")
    >>> f = forward(net, [1.25])
    >>> f.loss, f.kink_distance, f.backward().tolist()
    (0.25, 0.25, [1.0])
    """
    theta, xs, ys = as_arrays(net, params, x, y)
    if _use_layers(net, method):
        return LayerPass(net.layers, theta, xs[None, :], ys[None, :])
    return Tape(net, theta, xs, ys)


def numeric_loss(net, params, x=None, y=None) -> float:
    """The loss alone, by the same numeric forward pass (what finite differences evaluate).

    >>> import symgrad as sg
    >>> round(numeric_loss(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), [1.04, 1.04]), 10)
    4.68025856
    """
    return forward(net, params, x, y).loss


def numeric_backprop(net, params, x=None, y=None, *, method: str = "auto"):
    """Loss and gradient of ``net`` at one sample by numeric backpropagation.

    ``params`` in ``net.params`` order (1-D), ``x``/``y`` in ``net.inputs``/``net.targets``
    order (omit them when the network has none). Layered networks use the δ-recursion
    unless ``method="graph"``. Returns ``(loss, grad)``: a float and a float64 array.

    >>> import symgrad as sg
    >>> net = sg.mlp([2, 1], activation="identity")        # L = ½(W1_1_1 x1 + W1_1_2 x2 + b1_1 − y1)²
    >>> loss, g = numeric_backprop(net, [1.0, 2.0, 0.5], [1.0, 1.0], [3.0])
    >>> loss, g.tolist()
    (0.125, [0.5, 0.5, 0.5])
    """
    f = forward(net, params, x, y, method=method)
    return f.loss, f.backward()


def numeric_backprop_batch(net, params, X=None, Y=None, *, method: str = "auto"):
    """Mean loss and mean gradient over the rows of ``X`` (n, n_inputs) and ``Y`` (n, n_targets).

    Layered networks run all rows at once (∇W = δᵀX / n); other networks loop over the
    samples with the scalar engine.

    >>> import symgrad as sg
    >>> net = sg.mlp([2, 1], activation="identity")
    >>> loss, g = numeric_backprop_batch(net, [1.0, 2.0, 0.5], [[1.0, 1.0], [0.0, 0.0]], [[3.0], [0.5]])
    >>> loss, g.tolist()
    (0.0625, [0.25, 0.25, 0.25])
    """
    theta, X, Y = as_arrays(net, params, X, Y, batch=True)
    if _use_layers(net, method):
        f = LayerPass(net.layers, theta, X, Y)
        return f.loss, f.backward()
    results = [numeric_backprop(net, theta, xi, yi, method="graph") for xi, yi in zip(X, Y)]
    return float(np.mean([r[0] for r in results])), np.mean([r[1] for r in results], axis=0)
