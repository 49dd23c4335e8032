"""The table of activations and losses symgrad knows.

Each activation is a sympy ``Function`` whose derivative is written the way a
textbook writes it (σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = step, softplus' = σ),
so that derived gradients read like a hand derivation. A user may call an
activation by another name (seed 002 calls the sigmoid ``g``); :func:`resolve`
makes a subclass with that name, cached so that the same name always gives the
same class (sympy compares applied functions by class).

The derivative rules live here, apart from the engine in ``derive.py``, in the
manner of autograd's primitive table.

>>> import sympy
>>> u = sympy.Symbol("u", real=True)
>>> g = resolve("g", "sigmoid")
>>> g(u).diff(u)
(1 - g(u))*g(u)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from ..errors import UnknownSymbolError

__all__ = [
    "ACTIVATIONS",
    "FUNCTION_NAMES",
    "LOSSES",
    "ActivationInfo",
    "Elementwise",
    "logsumexp",
    "relu",
    "resolve",
    "sigmoid",
    "softplus",
    "to_elementary",
]


class Elementwise(sympy.Function):
    """Base of symgrad's one-argument activations.

    Subclasses define ``kind`` (the canonical name), ``_elementary`` (the
    definition in elementary functions, used for evaluation and for checks
    against ``sympy.diff``) and ``fdiff`` (the textbook derivative).
    """

    nargs = 1
    kind = "elementwise"

    @classmethod
    def _elementary(cls, x: sympy.Expr) -> sympy.Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self._elementary(self.args[0])._eval_evalf(prec)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return self._elementary(x)


class sigmoid(Elementwise):
    """The logistic function σ(x) = 1/(1 + e^(−x)); σ' = σ(1 − σ)."""

    kind = "sigmoid"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Half

    @classmethod
    def _elementary(cls, x):
        return 1 / (1 + sympy.exp(-x))

    def fdiff(self, argindex=1):
        s = self.func(self.args[0])  # keeps the user's name: g'(u) = g(u)(1 − g(u))
        return s * (1 - s)


class relu(Elementwise):
    """max(0, x); its derivative is the step function (0 for x ≤ 0, as seed 002's table)."""

    kind = "relu"

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sympy.Max(0, x)

    @classmethod
    def _elementary(cls, x):
        return sympy.Max(0, x)

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0], 0)


class softplus(Elementwise):
    """log(1 + e^x); its derivative is σ(x)."""

    kind = "softplus"

    @classmethod
    def _elementary(cls, x):
        return sympy.log(1 + sympy.exp(x))

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class _AliasTanh(Elementwise):
    kind = "tanh"

    @classmethod
    def _elementary(cls, x):
        return sympy.tanh(x)

    def fdiff(self, argindex=1):
        return 1 - self.func(self.args[0]) ** 2


class _AliasExp(Elementwise):
    kind = "exp"

    @classmethod
    def _elementary(cls, x):
        return sympy.exp(x)

    def fdiff(self, argindex=1):
        return self.func(self.args[0])


class _AliasLog(Elementwise):
    kind = "log"

    @classmethod
    def _elementary(cls, x):
        return sympy.log(x)

    def fdiff(self, argindex=1):
        return 1 / self.args[0]


class _AliasAbs(Elementwise):
    kind = "abs"

    @classmethod
    def _elementary(cls, x):
        return sympy.Abs(x)

    def fdiff(self, argindex=1):
        return sympy.sign(self.args[0])


class _AliasSqrt(Elementwise):
    kind = "sqrt"

    @classmethod
    def _elementary(cls, x):
        return sympy.sqrt(x)

    def fdiff(self, argindex=1):
        return 1 / (2 * self.func(self.args[0]))


class _AliasIdentity(Elementwise):
    kind = "identity"

    @classmethod
    def eval(cls, x):
        return x  # an identity is no function at all: it vanishes on construction

    @classmethod
    def _elementary(cls, x):  # pragma: no cover - eval removes it first
        return x


class logsumexp(sympy.Function):
    """log Σ_k e^(x_k), the normaliser of the softmax.

    ∂/∂x_k logsumexp(x) = e^(x_k − logsumexp(x)) = softmax_k(x).
    """

    kind = "logsumexp"

    @classmethod
    def eval(cls, *args):
        if len(args) == 0:
            raise TypeError("logsumexp takes at least one argument")
        if len(args) == 1:
            return args[0]

    def _eval_is_real(self):
        if all(a.is_real for a in self.args):
            return True

    def fdiff(self, argindex=1):
        return sympy.exp(self.args[argindex - 1] - self)

    def _eval_evalf(self, prec):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in self.args]))._eval_evalf(prec)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in args]))


@dataclass(frozen=True)
class ActivationInfo:
    """One row of the activation table.

    ``builtin`` is the class used when the activation is called by its own name;
    ``alias_base`` is subclassed when a user gives it another name; ``latex`` is
    its usual symbol; ``numpy`` is a plain forward implementation (reference
    evaluation only; the numeric backprop keeps its own rules on purpose).
    """

    name: str
    builtin: type | None
    alias_base: type | None
    latex: str
    numpy: Callable[[np.ndarray], np.ndarray]
    derivative_text: str


def _np_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))  # overflow-free form


ACTIVATIONS: dict[str, ActivationInfo] = {
    "sigmoid": ActivationInfo("sigmoid", sigmoid, sigmoid, r"\sigma", _np_sigmoid, "σ(x)(1 − σ(x))"),
    "tanh": ActivationInfo("tanh", sympy.tanh, _AliasTanh, r"\tanh", np.tanh, "1 − tanh(x)²"),
    "relu": ActivationInfo("relu", relu, relu, r"\operatorname{ReLU}", lambda x: np.maximum(0.0, x), "step(x): 0 for x ≤ 0, 1 for x > 0"),
    "softplus": ActivationInfo("softplus", softplus, softplus, r"\operatorname{softplus}", lambda x: np.logaddexp(0.0, x), "σ(x)"),
    "identity": ActivationInfo("identity", None, _AliasIdentity, "", lambda x: np.asarray(x, dtype=float), "1"),
    "exp": ActivationInfo("exp", sympy.exp, _AliasExp, r"\exp", np.exp, "exp(x)"),
    "log": ActivationInfo("log", sympy.log, _AliasLog, r"\log", np.log, "1/x"),
    "abs": ActivationInfo("abs", sympy.Abs, _AliasAbs, r"\operatorname{abs}", np.abs, "sign(x)"),
    "sqrt": ActivationInfo("sqrt", sympy.sqrt, _AliasSqrt, r"\sqrt", np.sqrt, "1/(2 sqrt(x))"),
}

#: Names usable in equations without declaring them.
FUNCTION_NAMES: tuple[str, ...] = ("sigmoid", "tanh", "relu", "softplus", "exp", "log", "abs", "sqrt")

#: Losses known to :func:`symgrad.mlp`, with the single-sample formula each stands for.
LOSSES: dict[str, str] = {
    "mse": "½ Σ_k (o_k − y_k)²",
    "mae": "Σ_k |o_k − y_k|",
    "cross_entropy": "−Σ_k y_k log o_k (softmax output), else −Σ_k [y_k log o_k + (1 − y_k) log(1 − o_k)]",
    "softmax_cross_entropy": "logsumexp(u) Σ_k y_k − Σ_k y_k u_k, the cross-entropy of softmax(u)",
}

_ALIASES: dict[tuple[str, str], type] = {}


def resolve(name: str, kind: str | None = None):
    """The sympy function class for ``name``, an activation called ``kind``.

    ``resolve("tanh")`` is sympy's own ``tanh``; ``resolve("g", "sigmoid")`` is a
    sigmoid that prints as ``g``. The same pair always returns the same class.

    >>> resolve("g", "sigmoid") is resolve("g", "sigmoid")
    True
    """
    kind = kind or name
    if kind not in ACTIVATIONS:
        known = ", ".join(ACTIVATIONS)
        raise UnknownSymbolError(f"unknown function kind {kind!r} for {name!r} (known: {known})", token=kind)
    info = ACTIVATIONS[kind]
    if name == kind and info.builtin is not None:
        return info.builtin
    key = (name, kind)
    if key not in _ALIASES:
        _ALIASES[key] = type(name, (info.alias_base,), {"__module__": __name__})
    return _ALIASES[key]


def kind_of(func) -> str | None:
    """The canonical activation name of a sympy function class, or None.

    >>> kind_of(resolve("g", "sigmoid")), kind_of(sympy.tanh)
    ('sigmoid', 'tanh')
    """
    if isinstance(func, type) and issubclass(func, Elementwise):
        return func.kind
    if func is logsumexp:
        return "logsumexp"
    for info in ACTIVATIONS.values():
        if info.builtin is func:
            return info.name
    return None


def to_elementary(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite symgrad's own functions in elementary functions (exp, log, Max).

    Used to hand an expression to code that knows only sympy's built-ins, such
    as ``sympy.diff`` in the tests or ``lambdify``.

    >>> x = sympy.Symbol("x")
    >>> to_elementary(sigmoid(x))
    1/(1 + exp(-x))
    """
    def is_ours(e):
        return isinstance(e, (Elementwise, logsumexp))

    def rewrite(e):
        if isinstance(e, logsumexp):
            return sympy.log(sympy.Add(*[sympy.exp(a) for a in e.args]))
        return type(e)._elementary(e.args[0])

    return sympy.sympify(expr).replace(is_ours, rewrite)
