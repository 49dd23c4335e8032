"""Layered networks by their sizes: ``LayerSpec`` and :func:`mlp`.

A layered network keeps its layer description, so that later stages can work at
layer level (the matrix form, the loop-based kernel) and its scalar steps are
expanded only when a formula asks for them.

>>> net = mlp([2, 3, 1], activation="tanh")
>>> net.layers.sizes, net.params[:3]
((2, 3, 1), (W1_1_1, W1_1_2, W1_2_1))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import sympy

from ..errors import LossError, ShapeError, UnknownSymbolError
from . import functions as fn
from . import names
from .canonical import product as canonical_product
from .names import real_symbol
from .network import Network
from .step import Step

__all__ = ["LayerSpec", "mlp"]


@dataclass(frozen=True)
class LayerSpec:
    """A layered network by its layer description, kept so later stages can work at
    layer level; :meth:`expand` gives the scalar steps.

    Names: inputs ``x1..xn``, targets ``y1..ym``, pre-activations ``u{l}_{i}``,
    activations ``x{l}_{i}``, weights ``W{l}_{i}_{j}``, biases ``b{l}_{i}``, loss ``L``.
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    bias: bool = True

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    weight_name = staticmethod(names.weight_name)
    bias_name = staticmethod(names.bias_name)

    def weight(self, l: int, i: int, j: int) -> sympy.Symbol:
        return real_symbol(self.weight_name(l, i, j))

    def bias_symbol(self, l: int, i: int) -> sympy.Symbol:
        return real_symbol(self.bias_name(l, i))

    def param_names(self) -> tuple[str, ...]:
        """The parameters' names in gradient order: per layer ``W{l}`` row by row, then ``b{l}``.

        Names only, for code that must not build 200,000 sympy symbols to learn them.
        """
        return _param_names(self.sizes, self.bias)

    def params(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(name) for name in self.param_names())

    def inputs(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(names.input_name(j)) for j in range(1, self.sizes[0] + 1))

    def targets(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(names.target_name(k)) for k in range(1, self.sizes[-1] + 1))

    def expand(self) -> tuple[Step, ...]:
        steps: list[Step] = []
        prev: list[sympy.Expr] = list(self.inputs())
        L = self.n_layers
        for l in range(1, L + 1):
            act = self.activations[l - 1]
            fused = l == L and self.loss == "softmax_cross_entropy"
            us = []
            for i in range(1, self.sizes[l] + 1):
                terms = [canonical_product(self.weight(l, i, j), x) for j, x in enumerate(prev, start=1)]
                if self.bias:
                    terms.append(self.bias_symbol(l, i))
                u = real_symbol(names.pre_activation_name(l, i))
                steps.append(Step(u, sympy.Add(*terms)))
                us.append(u)
            if fused:
                lse = real_symbol(names.lse_name(l))
                steps.append(Step(lse, fn.logsumexp(*us)))
                prev = [lse] + us  # consumed by the loss below
            elif act == "identity":
                prev = us
            elif act == "softmax":
                lse = real_symbol(names.lse_name(l))
                steps.append(Step(lse, fn.logsumexp(*us)))
                prev = []
                for i, u in enumerate(us, start=1):
                    x = real_symbol(names.activation_name(l, i))
                    steps.append(Step(x, sympy.exp(u - lse)))
                    prev.append(x)
            else:
                f = fn.resolve(act)
                prev = []
                for i, u in enumerate(us, start=1):
                    x = real_symbol(names.activation_name(l, i))
                    steps.append(Step(x, f(u)))
                    prev.append(x)
        ys = self.targets()
        if self.loss == "mse":
            loss = sympy.Rational(1, 2) * sympy.Add(*[(o - y) ** 2 for o, y in zip(prev, ys)])
        elif self.loss == "mae":
            loss = sympy.Add(*[sympy.Abs(o - y) for o, y in zip(prev, ys)])
        elif self.loss == "cross_entropy":
            if self.activations[-1] == "softmax":
                loss = -sympy.Add(*[y * sympy.log(o) for o, y in zip(prev, ys)])
            else:
                loss = -sympy.Add(*[y * sympy.log(o) + (1 - y) * sympy.log(1 - o) for o, y in zip(prev, ys)])
        else:  # softmax_cross_entropy: −Σ y_k log softmax_k(u) = lse·Σy − Σ y_k u_k
            lse, us = prev[0], prev[1:]
            loss = lse * sympy.Add(*ys) - sympy.Add(*[y * u for u, y in zip(us, ys)])
        steps.append(Step(real_symbol(names.LAYERED_LOSS), loss))
        return tuple(steps)


@lru_cache(maxsize=16)
def _param_names(sizes: tuple[int, ...], bias: bool) -> tuple[str, ...]:
    out: list[str] = []
    for l in range(1, len(sizes)):
        rows, cols = sizes[l], sizes[l - 1]
        out += [names.weight_name(l, i, j) for i in range(1, rows + 1) for j in range(1, cols + 1)]
        if bias:
            out += [names.bias_name(l, i) for i in range(1, rows + 1)]
    return tuple(out)


def _is_activation(kind) -> bool:
    """Whether ``kind`` names a layer activation: softmax, or an activation row (with
    its constants, if any: "leaky_relu(0.2)")."""
    if kind == "softmax":
        return True
    try:
        return fn.parse_kind(kind)[0].activation
    except UnknownSymbolError:
        return False


def _lies_in_unit_interval(kind: str) -> bool:
    """Whether a layer's outputs lie in (0, 1), so that a cross-entropy may take their log."""
    return kind == "softmax" or fn.parse_kind(kind)[0].output_range == (0.0, 1.0)


def mlp(sizes: Sequence[int], activation: str | Sequence[str] = "sigmoid", loss: str = "mse", bias: bool = True) -> "Network":
    """A fully connected layered network, u⁽ˡ⁾ = W⁽ˡ⁾x⁽ˡ⁻¹⁾ + b⁽ˡ⁾, x⁽ˡ⁾ = f(u⁽ˡ⁾).

    ``activation`` is one name for every layer or a list with one per layer
    (sigmoid, tanh, relu, softplus, identity; softmax for the output layer).
    ``loss`` is ``"mse"`` (½‖o − y‖², the textbook convention), ``"mae"``
    (Σ|o − y|), ``"cross_entropy"`` (on a sigmoid or softmax output only: its outputs
    must lie in (0, 1)) or ``"softmax_cross_entropy"`` (softmax output fused with its
    cross-entropy). Parameters are ordered layer by layer: ``W{l}`` row by
    row (``W{l}_{i}_{j}``), then ``b{l}``.

    >>> net = mlp([3, 4, 2])
    >>> len(net.params), net.params[0], net.params[12]
    (26, W1_1_1, b1_1)
    """
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ShapeError(f"mlp sizes must be two or more positive integers, got {list(sizes)!r}", token=str(list(sizes)))
    n_layers = len(sizes) - 1
    if isinstance(activation, str):
        acts = (activation,) * n_layers
    else:
        acts = tuple(activation)
        if len(acts) != n_layers:
            raise ShapeError(
                f"mlp with sizes {list(sizes)} has {n_layers} layers but {len(acts)} activation(s) were given: {list(acts)}",
                token=str(list(acts)),
            )
    for l, a in enumerate(acts, start=1):
        if not _is_activation(a):
            raise UnknownSymbolError(f"unknown activation {a!r} for layer {l} (known: {', '.join(fn.ACTIVATION_NAMES)})", token=str(a))
        if a == "softmax" and l != n_layers:
            raise ShapeError(f"softmax is an output activation; layer {l} of {n_layers} is hidden", token=a)
    if loss not in fn.LOSSES:
        raise UnknownSymbolError(f"unknown loss {loss!r} (known: {', '.join(fn.LOSSES)})", token=loss)
    if loss == "softmax_cross_entropy":
        if isinstance(activation, str):
            acts = acts[:-1] + ("softmax",)
        elif acts[-1] not in ("softmax", "identity"):
            raise ShapeError(
                f"softmax_cross_entropy fuses the softmax into the loss; the output activation must be softmax or identity, not {acts[-1]!r}",
                token=acts[-1],
            )
        else:
            acts = acts[:-1] + ("softmax",)
    if loss == "cross_entropy" and not _lies_in_unit_interval(acts[-1]):
        # Its logs need outputs in (0, 1); another activation would make the loss NaN or
        # complex for some inputs, silently.
        raise LossError(
            f"cross_entropy takes the logarithm of the outputs, which must lie in (0, 1): the output activation must be "
            f"sigmoid or softmax, not {acts[-1]!r} (softmax_cross_entropy puts a softmax on any output layer)",
            token=acts[-1],
        )
    spec = LayerSpec(sizes, acts, loss, bool(bias))
    return Network(
        None,
        params=None,  # built from the spec when first asked for: mlp([784, 256, 10]) has 203,530
        inputs=spec.inputs(),
        targets=spec.targets(),
        loss=names.LAYERED_LOSS,
        name=f"mlp {'-'.join(map(str, sizes))} {'/'.join(acts)} {loss}",
        layers=spec,
    )
