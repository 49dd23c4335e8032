r"""The table of functions: one row per elementwise function, read by every stage.

A row says everything each stage needs to know about one function: the sympy class
that stands for it (whose derivative is written the way a textbook writes it:
σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = step, softplus' = σ), its LaTeX symbol and
the spellings a hand derivation may use for it, its numba/NumPy code in a numerically
stable form (Jinja2 snippets, as google/tangent writes derivative rules as code
templates), its value in mpmath (for the verifier) and its value and slope in plain
floats and NumPy arrays (for the numeric backprop, which must share no derivative code
with the symbolic engine: its slopes are written here a second time, by hand, and the
tests hold the two against each other). Adding a function means adding one row.

A user may call a function by another name (a text that calls the sigmoid ``g``);
:func:`resolve` makes a subclass with that name, cached so that the same name always
gives the same class (sympy compares applied functions by class).

Besides the rows there is one vector function, ``logsumexp`` (the softmax's
normaliser), and the losses :func:`symgrad.mlp` knows (:data:`LOSSES`).

>>> u = sympy.Symbol("u", real=True)
>>> g = resolve("g", "sigmoid")
>>> g(u).diff(u)
(1 - g(u))*g(u)
>>> FUNCTIONS["tanh"].latex, row_of(g).name
('\\tanh', 'sigmoid')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np
import sympy

from ..errors import UnknownSymbolError

__all__ = [
    "ACTIVATION_NAMES",
    "ALIASABLE_NAMES",
    "FUNCTIONS",
    "FUNCTION_NAMES",
    "HELPERS",
    "LOSSES",
    "Code",
    "Elementwise",
    "FunctionRow",
    "Numeric",
    "kind_of",
    "logsumexp",
    "relu",
    "resolve",
    "row_of",
    "sigmoid",
    "softplus",
    "to_elementary",
]


# --------------------------------------------------------------------------- sympy classes


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


# --------------------------------------------------------------------------- plain-float rules

# The numeric backprop's arithmetic: plain floats that give inf/nan where NumPy would,
# instead of raising.


def _exp(a):
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _log(a):
    return math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)


def _sqrt(a):
    return math.sqrt(a) if a >= 0 else math.nan


def _sigmoid(a):
    # Two forms so that neither ever overflows.
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    z = math.exp(a)
    return z / (1.0 + z)


def _sign(a):
    return 1.0 if a > 0 else (-1.0 if a < 0 else (0.0 if a == 0 else math.nan))


def _relu(a):
    return a if not a <= 0 else 0.0  # a NaN stays a NaN (max(0, NaN) would hide it)


def _relu_slope(a, v):
    return 1.0 if a > 0 else (0.0 if a <= 0 else math.nan)


def _guarded(f):
    """``f`` with a domain error (asin(2), acosh(0)) giving NaN, as NumPy does."""

    def value(a):
        try:
            return f(a)
        except (ValueError, OverflowError):
            return math.nan

    return value


def _np_sigmoid(u):
    # From e^-|u| <= 1: no overflow, and full relative precision in the lower tail, where
    # 1 + tanh(u/2) would cancel to nothing (σ(−30) ≈ 9.4e-14 would lose three digits).
    with np.errstate(under="ignore"):  # e^-800 is 0: the right answer, not a fault
        e = np.exp(-np.abs(u))
        r = 1.0 / (1.0 + e)
        return np.where(u >= 0, r, e * r)


@dataclass(frozen=True)
class Numeric:
    """A function's value and slope in plain numbers, written independently of its sympy
    derivative: the numeric backprop's rule.

    ``value(a)``/``slope(a, v)`` take a float (``v`` is the value at ``a``);
    ``array_value(U)``/``array_slope(U, A)`` the same on NumPy arrays (``A`` = value at ``U``),
    for the layer-by-layer pass; None where a function is never a layer's activation.
    """

    value: Callable[[float], float]
    slope: Callable[[float, float], float]
    array_value: Callable[[np.ndarray], np.ndarray] | None = None
    array_slope: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def rule(self, *args: float) -> tuple[float, tuple[float, ...]]:
        """The backprop rule: (value, local derivatives) at the arguments; a second
        argument (the step's value at 0) is a constant, with derivative 0."""
        v = self.value(*args)
        return v, (self.slope(args[0], v),) + (0.0,) * (len(args) - 1)


# --------------------------------------------------------------------------- code snippets


@dataclass(frozen=True)
class Code:
    """How generated code computes a function: Jinja2 snippets rendered by the code
    generators with ``lit`` (a number as a literal of the module's dtype).

    ``scalar`` is a call on one value (``x``; ``args`` holds every printed argument),
    in a form that stays finite wherever the function is; ``helpers`` names the
    entries of :data:`HELPERS` it calls. ``array``/``array_slope`` compute the value
    and the derivative on a layer's arrays (``U`` the pre-activation, ``A`` its value)
    for the loop (matrix) kernel, with ``array_helpers``.
    """

    scalar: str
    helpers: tuple[str, ...] = ()
    array: str | None = None
    array_slope: str | None = None
    array_helpers: tuple[str, ...] = ()


#: Helper functions the generated modules define when a row's code calls them: name ->
#: Jinja2 source (a jitted function, rendered with ``lit``).
HELPERS: dict[str, str] = {
    "_sigmoid": '''@_jit
def _sigmoid(z):
    """1/(1 + e^-z) from e^-|z| <= 1: no overflow, full precision in both tails."""
    e = np.exp(-abs(z))
    return ({{ lit(1) }} if z >= {{ lit(0) }} else e) / ({{ lit(1) }} + e)
''',
    "_softplus": '''@_jit
def _softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z, exact for very negative z."""
    return (z if z > {{ lit(0) }} else {{ lit(0) }} * z) + np.log1p(np.exp(-abs(z)))
''',
    "_relu": '''@_jit
def _relu(z):
    """max(0, z), keeping a NaN a NaN."""
    return z if z > {{ lit(0) }} else {{ lit(0) }} * z
''',
    "_heaviside": '''@_jit
def _heaviside(z, at_zero):
    """The step function: 0 below zero, 1 above, at_zero at zero (0 is relu's derivative there)."""
    if z > {{ lit(0) }}:
        return {{ lit(1) }}
    if z < {{ lit(0) }}:
        return {{ lit(0) }}
    return at_zero
''',
    "_sigmoid_array": '''@_jit
def _sigmoid_array(U):
    """1/(1 + e^-u) from e^-|u| <= 1: no overflow, full precision in both tails."""
    e = np.exp(-np.abs(U))
    r = {{ lit(1) }} / ({{ lit(1) }} + e)
    return np.where(U >= {{ lit(0) }}, r, e * r)
''',
    "_softplus_array": '''@_jit
def _softplus_array(U):
    """log(1 + e^u) = max(u, 0) + log1p(e^-|u|): no overflow for large u, exact for very negative u."""
    return np.maximum(U, {{ lit(0) }}) + np.log1p(np.exp(-np.abs(U)))
''',
}


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class FunctionRow:
    """One elementwise function, as every stage needs it.

    * ``name``: the canonical name (what equations and ``mlp(activation=...)`` call it);
    * ``builtin``: the class used when it is called by that name (a sympy function, or
      symgrad's own); ``alias_base``: the class subclassed when a text gives it another
      name (its derivative keeps that name: g'(u) = g(u)(1 − g(u)));
    * ``latex``: its usual symbol; ``text``: its symbol in plain Unicode text (the name
      when empty); ``spellings``: other names a hand derivation may use for it (read
      back by the verifier);
    * ``code``, ``mpmath``, ``numeric``: how generated code, the verifier and the numeric
      backprop compute it;
    * ``in_text``: callable by name in equations; ``activation``: accepted by
      ``mlp``; ``output_range``: the open interval its values lie in, when a loss
      (cross-entropy) needs one; ``kinked``: its derivative jumps where its argument is 0.
    """

    name: str
    builtin: type | None
    alias_base: type | None
    latex: str
    code: Code
    mpmath: Callable
    numeric: Numeric
    spellings: tuple[str, ...] = ()
    text: str = ""
    in_text: bool = True
    activation: bool = False
    output_range: tuple[float, float] | None = None
    kinked: bool = False


def _mp_heaviside(x, h0=0):
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(h0))


def _step(a, h0=0.5):
    return 1.0 if a > 0 else (0.0 if a < 0 else (float(h0) if a == 0 else math.nan))


def _rows(*rows: FunctionRow) -> dict[str, FunctionRow]:
    return {row.name: row for row in rows}


def _numpy(name: str) -> Code:
    return Code(f"np.{name}({{{{ x }}}})")


FUNCTIONS: dict[str, FunctionRow] = _rows(
    FunctionRow(
        "sigmoid", sigmoid, sigmoid, r"\sigma",
        Code("_sigmoid({{ x }})", ("_sigmoid",), "_sigmoid_array({{ U }})", "{{ A }} * ({{ lit(1) }} - {{ A }})", ("_sigmoid_array",)),
        lambda x: 1 / (1 + mpmath.exp(-x)),
        Numeric(_sigmoid, lambda a, v: v * (1.0 - v), _np_sigmoid, lambda u, a: a * (1.0 - a)),
        spellings=(r"\sigma", "σ", "logistic"), text="σ", activation=True, output_range=(0.0, 1.0),
    ),
    FunctionRow(
        "tanh", sympy.tanh, _AliasTanh, r"\tanh",
        Code("np.tanh({{ x }})", (), "np.tanh({{ U }})", "{{ lit(1) }} - {{ A }} * {{ A }}"),
        mpmath.tanh,
        Numeric(math.tanh, lambda a, v: 1.0 - v * v, np.tanh, lambda u, a: 1.0 - a * a),
        spellings=(r"\tanh",), activation=True, output_range=(-1.0, 1.0),
    ),
    FunctionRow(
        "relu", relu, relu, r"\operatorname{ReLU}",
        Code("_relu({{ x }})", ("_relu",), "np.maximum({{ U }}, {{ lit(0) }})", "np.sign(np.maximum({{ U }}, {{ lit(0) }}))"),
        lambda x: max(mpmath.mpf(0), x),
        Numeric(_relu, _relu_slope, lambda u: np.maximum(u, 0.0), lambda u, a: np.where(np.isnan(u), np.nan, (u > 0).astype(np.float64))),
        activation=True, kinked=True,
    ),
    FunctionRow(
        "softplus", softplus, softplus, r"\operatorname{softplus}",
        Code("_softplus({{ x }})", ("_softplus",), "_softplus_array({{ U }})", "_sigmoid_array({{ U }})", ("_softplus_array", "_sigmoid_array")),
        lambda x: mpmath.log(1 + mpmath.exp(x)),
        Numeric(lambda a: max(a, 0.0) + math.log1p(math.exp(-abs(a))), lambda a, v: _sigmoid(a),
                lambda u: np.logaddexp(0.0, u), lambda u, a: _np_sigmoid(u)),
        activation=True,
    ),
    FunctionRow(
        "identity", None, _AliasIdentity, "",
        Code("{{ x }}", (), "{{ U }}", "{{ lit(1) }}"),
        lambda x: x,
        Numeric(lambda a: a, lambda a, v: 1.0, lambda u: u, lambda u, a: np.ones_like(u)),
        in_text=False, activation=True,
    ),
    FunctionRow(
        "exp", sympy.exp, _AliasExp, r"\exp", _numpy("exp"), mpmath.exp,
        Numeric(_exp, lambda a, v: v), spellings=(r"\exp",),
    ),
    FunctionRow(
        "log", sympy.log, _AliasLog, r"\log", _numpy("log"), mpmath.log,
        Numeric(_log, lambda a, v: 1.0 / a if a != 0 else math.inf), spellings=(r"\log", r"\ln", "ln"),
    ),
    FunctionRow(
        "abs", sympy.Abs, _AliasAbs, r"\operatorname{abs}", Code("abs({{ x }})"), abs,
        Numeric(abs, lambda a, v: _sign(a)), kinked=True,
    ),
    FunctionRow(
        "sqrt", sympy.sqrt, _AliasSqrt, r"\sqrt", _numpy("sqrt"), mpmath.sqrt,
        Numeric(_sqrt, lambda a, v: 0.5 / v if v != 0 else math.inf),
    ),
    # Functions that appear in derivatives (|x|' = sign, relu' = step) or in sympy
    # expressions a user passes; not (yet) callable by name in equations.
    FunctionRow(
        "sign", sympy.sign, None, r"\operatorname{sign}", _numpy("sign"), mpmath.sign,
        Numeric(_sign, lambda a, v: 0.0), spellings=("sgn",), in_text=False, kinked=True,
    ),
    FunctionRow(
        "step", sympy.Heaviside, None, r"\operatorname{step}",
        Code("_heaviside({{ x }}, {{ args[1] if args | length > 1 else lit(0.5) }})", ("_heaviside",)),
        _mp_heaviside, Numeric(_step, lambda a, v: 0.0),
        spellings=("heaviside",), in_text=False, kinked=True,
    ),
    FunctionRow("sin", sympy.sin, None, r"\sin", _numpy("sin"), mpmath.sin, Numeric(math.sin, lambda a, v: math.cos(a)), in_text=False),
    FunctionRow("cos", sympy.cos, None, r"\cos", _numpy("cos"), mpmath.cos, Numeric(math.cos, lambda a, v: -math.sin(a)), in_text=False),
    FunctionRow("tan", sympy.tan, None, r"\tan", _numpy("tan"), mpmath.tan,
                Numeric(math.tan, lambda a, v: 1.0 + v * v), in_text=False),
    FunctionRow("sinh", sympy.sinh, None, r"\sinh", _numpy("sinh"), mpmath.sinh,
                Numeric(_guarded(math.sinh), lambda a, v: math.cosh(a)), in_text=False),
    FunctionRow("cosh", sympy.cosh, None, r"\cosh", _numpy("cosh"), mpmath.cosh,
                Numeric(_guarded(math.cosh), lambda a, v: math.sinh(a)), in_text=False),
    FunctionRow("asin", sympy.asin, None, r"\arcsin", Code("np.arcsin({{ x }})"), mpmath.asin,
                Numeric(_guarded(math.asin), lambda a, v: 1.0 / math.sqrt(1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
    FunctionRow("acos", sympy.acos, None, r"\arccos", Code("np.arccos({{ x }})"), mpmath.acos,
                Numeric(_guarded(math.acos), lambda a, v: -1.0 / math.sqrt(1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
    FunctionRow("atan", sympy.atan, None, r"\arctan", Code("np.arctan({{ x }})"), mpmath.atan,
                Numeric(math.atan, lambda a, v: 1.0 / (1.0 + a * a)), in_text=False),
    FunctionRow("asinh", sympy.asinh, None, r"\operatorname{arsinh}", Code("np.arcsinh({{ x }})"), mpmath.asinh,
                Numeric(math.asinh, lambda a, v: 1.0 / math.sqrt(a * a + 1.0)), in_text=False),
    FunctionRow("acosh", sympy.acosh, None, r"\operatorname{arcosh}", Code("np.arccosh({{ x }})"), mpmath.acosh,
                Numeric(_guarded(math.acosh), lambda a, v: 1.0 / math.sqrt(a * a - 1.0) if a > 1 else math.nan), in_text=False),
    FunctionRow("atanh", sympy.atanh, None, r"\operatorname{artanh}", Code("np.arctanh({{ x }})"), mpmath.atanh,
                Numeric(_guarded(math.atanh), lambda a, v: 1.0 / (1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
)

#: Names usable in equations without declaring them.
FUNCTION_NAMES: tuple[str, ...] = tuple(name for name, row in FUNCTIONS.items() if row.in_text)

#: Functions a text may call by a name of its own (``functions={"g": "sigmoid"}``).
ALIASABLE_NAMES: tuple[str, ...] = tuple(name for name, row in FUNCTIONS.items() if row.alias_base is not None)

#: Activations :func:`symgrad.mlp` accepts: the elementwise ones, and the softmax (a
#: vector function, for the output layer only).
ACTIVATION_NAMES: tuple[str, ...] = tuple(name for name, row in FUNCTIONS.items() if row.activation) + ("softmax",)

#: Losses known to :func:`symgrad.mlp`, with the single-sample formula each stands for.
LOSSES: dict[str, str] = {
    "mse": "½ Σ_k (o_k − y_k)²",
    "mae": "Σ_k |o_k − y_k|",
    "cross_entropy": "−Σ_k y_k log o_k (softmax output), else −Σ_k [y_k log o_k + (1 − y_k) log(1 − o_k)]",
    "softmax_cross_entropy": "logsumexp(u) Σ_k y_k − Σ_k y_k u_k, the cross-entropy of softmax(u)",
}

_ALIASES: dict[tuple[str, str], type] = {}
_BY_BUILTIN: dict[type, FunctionRow] = {row.builtin: row for row in FUNCTIONS.values() if row.builtin is not None}


def resolve(name: str, kind: str | None = None):
    """The sympy function class for ``name``, the function of row ``kind``.

    ``resolve("tanh")`` is sympy's own ``tanh``; ``resolve("g", "sigmoid")`` is a
    sigmoid that prints as ``g``. The same pair always returns the same class.

    >>> resolve("g", "sigmoid") is resolve("g", "sigmoid")
    True
    """
    kind = kind or name
    row = FUNCTIONS.get(kind)
    if row is None or (row.alias_base is None and name != kind):
        known = ", ".join(ALIASABLE_NAMES)
        raise UnknownSymbolError(f"unknown function kind {kind!r} for {name!r} (known: {known})", token=kind)
    if name == kind and row.builtin is not None:
        return row.builtin
    key = (name, kind)
    if key not in _ALIASES:
        _ALIASES[key] = type(name, (row.alias_base,), {"__module__": __name__})
    return _ALIASES[key]


def row_of(func) -> FunctionRow | None:
    """The row of a sympy function class (an alias included), or None.

    >>> row_of(resolve("g", "sigmoid")).name, row_of(sympy.tanh).latex, row_of(logsumexp)
    ('sigmoid', '\\\\tanh', None)
    """
    if isinstance(func, type) and issubclass(func, Elementwise):
        return FUNCTIONS.get(func.kind)
    return _BY_BUILTIN.get(func)


def kind_of(func) -> str | None:
    """The row name of a sympy function class (``"logsumexp"`` for that one), or None.

    >>> kind_of(resolve("g", "sigmoid")), kind_of(sympy.tanh)
    ('sigmoid', 'tanh')
    """
    if func is logsumexp:
        return "logsumexp"
    row = row_of(func)
    return None if row is None else row.name


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

    # Once more until none is left: rewriting an inner call can rebuild the outer one,
    # which the same pass does not revisit (relu(relu(x²)) → relu(Max(0, x²)) = relu(x²)).
    expr, previous = sympy.sympify(expr), None
    while expr != previous:
        previous, expr = expr, expr.replace(is_ours, rewrite)
    return expr
