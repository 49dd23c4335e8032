"""The sympy classes of symgrad's functions, each with its textbook derivative.

σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = step, softplus' = σ: each class's ``fdiff``
writes its derivative the way a hand derivation does, in terms of the function
itself where that reads naturally, so derived gradients read like a textbook. The
``_Alias*`` classes give a built-in sympy function (tanh, exp, …) another name
without losing its derivative rule. :mod:`symgrad.model.functions` holds the table
that says what else each stage needs to know about them.

>>> u = sympy.Symbol("u", real=True)
>>> sigmoid(u).diff(u), relu(u).diff(u)
((1 - sigmoid(u))*sigmoid(u), Heaviside(u, 0))
"""

from __future__ import annotations

import sympy

__all__ = ["Elementwise", "logsumexp", "relu", "sigmoid", "softplus"]


class Elementwise(sympy.Function):
    """Base of symgrad's one-argument functions.

    Subclasses define ``kind`` (the row's name), ``_elementary`` (the definition in
    elementary functions, used for evaluation and for checks against ``sympy.diff``)
    and ``fdiff`` (the textbook derivative).
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
    """max(0, x); its derivative is the step function (0 for x ≤ 0)."""

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
