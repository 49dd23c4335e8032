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

__all__ = [
    "Elementwise",
    "elu",
    "gelu",
    "gelu_tanh",
    "leaky_relu",
    "logsumexp",
    "normal_cdf",
    "normal_pdf",
    "relu",
    "sigmoid",
    "silu",
    "softplus",
    "softsign",
]


class Elementwise(sympy.Function):
    """Base of symgrad's one-argument functions.

    Subclasses define ``kind`` (the row's name), ``_elementary`` (the definition in
    elementary functions, used for evaluation and for checks against ``sympy.diff``)
    and ``fdiff`` (the textbook derivative).
    """

    nargs = 1
    kind = "elementwise"
    #: Constants of the function (leaky_relu's slope α), by name; a class per value.
    parameters: dict[str, sympy.Rational] = {}

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


class leaky_relu(Elementwise):
    """x for x > 0, else αx (α = 1/100 unless given: ``leaky_relu(0.2)``); its derivative
    is 1 above 0 and α below, written α + (1 − α)·step(x)."""

    kind = "leaky_relu"
    parameters = {"alpha": sympy.Rational(1, 100)}

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x if x > 0 else cls.parameters["alpha"] * x

    @classmethod
    def _elementary(cls, x):
        return sympy.Piecewise((x, x > 0), (cls.parameters["alpha"] * x, True))

    def fdiff(self, argindex=1):
        alpha = self.parameters["alpha"]
        return alpha + (1 - alpha) * sympy.Heaviside(self.args[0], 0)


class elu(Elementwise):
    """x for x > 0, else α(eˣ − 1) (α = 1 unless given: ``elu(0.5)``); its derivative is
    1 above 0 and elu(x) + α below, written step(x) + (1 − step(x))(elu(x) + α)."""

    kind = "elu"
    parameters = {"alpha": sympy.S.One}

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Zero

    @classmethod
    def _elementary(cls, x):
        return sympy.Piecewise((x, x > 0), (cls.parameters["alpha"] * (sympy.exp(x) - 1), True))

    def fdiff(self, argindex=1):
        x, step = self.args[0], sympy.Heaviside(self.args[0], 0)
        return step + (1 - step) * (self.func(x) + self.parameters["alpha"])


class normal_pdf(Elementwise):
    """φ(x) = e^(−x²/2)/√(2π), the standard normal density; φ'(x) = −x φ(x)."""

    kind = "normal_pdf"

    @classmethod
    def _elementary(cls, x):
        return sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi)

    def fdiff(self, argindex=1):
        return -self.args[0] * self.func(self.args[0])


class normal_cdf(Elementwise):
    """Φ(x) = (1 + erf(x/√2))/2, the standard normal distribution function; Φ' = φ."""

    kind = "normal_cdf"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Half

    @classmethod
    def _elementary(cls, x):
        return (1 + sympy.erf(x / sympy.sqrt(2))) / 2

    def fdiff(self, argindex=1):
        return normal_pdf(self.args[0])


class gelu(Elementwise):
    """x Φ(x), the Gaussian error linear unit; gelu'(x) = Φ(x) + x φ(x)."""

    kind = "gelu"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Zero

    @classmethod
    def _elementary(cls, x):
        return x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2

    def fdiff(self, argindex=1):
        x = self.args[0]
        return normal_cdf(x) + x * normal_pdf(x)


#: The tanh approximation of the GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
GELU_TANH_C = sympy.sqrt(2 / sympy.pi)
GELU_TANH_A = sympy.Rational(44715, 1000000)


class gelu_tanh(Elementwise):
    """½x(1 + tanh(c(x + a x³))), c = √(2/π), a = 0.044715 (the tanh approximation of the
    GELU); its derivative ½(1 + t) + ½x(1 − t²)c(1 + 3a x²) with t the tanh."""

    kind = "gelu_tanh"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Zero

    @classmethod
    def _elementary(cls, x):
        return x * (1 + sympy.tanh(GELU_TANH_C * (x + GELU_TANH_A * x**3))) / 2

    def fdiff(self, argindex=1):
        x = self.args[0]
        t = sympy.tanh(GELU_TANH_C * (x + GELU_TANH_A * x**3))
        return (1 + t) / 2 + x * (1 - t**2) * GELU_TANH_C * (1 + 3 * GELU_TANH_A * x**2) / 2


class silu(Elementwise):
    """x σ(x), the sigmoid-weighted linear unit (swish); silu'(x) = σ(x)(1 + x(1 − σ(x)))."""

    kind = "silu"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Zero

    @classmethod
    def _elementary(cls, x):
        return x / (1 + sympy.exp(-x))

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * (1 + x * (1 - sigmoid(x)))


class softsign(Elementwise):
    """x/(1 + |x|); softsign'(x) = 1/(1 + |x|)²."""

    kind = "softsign"

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.S.Zero

    @classmethod
    def _elementary(cls, x):
        return x / (1 + sympy.Abs(x))

    def fdiff(self, argindex=1):
        return 1 / (1 + sympy.Abs(self.args[0])) ** 2


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


class _AliasSin(Elementwise):
    kind = "sin"

    @classmethod
    def _elementary(cls, x):
        return sympy.sin(x)

    def fdiff(self, argindex=1):
        return sympy.cos(self.args[0])


class _AliasCos(Elementwise):
    kind = "cos"

    @classmethod
    def _elementary(cls, x):
        return sympy.cos(x)

    def fdiff(self, argindex=1):
        return -sympy.sin(self.args[0])


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
