r"""The table of functions: one row per elementwise function, read by every stage.

A row says everything each stage needs to know about one function: the sympy class
that stands for it (:mod:`symgrad.model.elementwise`: its derivative written the way a
textbook writes it, σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = step, softplus' = σ), its
LaTeX symbol and the spellings a hand derivation may use for it, its code in a
numerically stable form (:mod:`symgrad.model.function_code`: Jinja2 snippets, as
google/tangent writes derivative rules as code templates), its value in mpmath (for
the verifier) and its value and slope in plain floats and NumPy arrays
(:mod:`symgrad.model.function_numbers`: the numeric backprop's rules, which share no
derivative code with the symbolic engine; the tests hold the two against each other).
Adding a function means adding one row (and, when its code needs one, a helper).

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
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
import sympy

from ..errors import UnknownSymbolError
from .elementwise import (
    Elementwise,
    _AliasAbs,
    _AliasCos,
    _AliasExp,
    _AliasIdentity,
    _AliasLog,
    _AliasSin,
    _AliasSqrt,
    _AliasTanh,
    elu,
    gelu,
    gelu_tanh,
    leaky_relu,
    logsumexp,
    normal_cdf,
    normal_pdf,
    relu,
    sigmoid,
    silu,
    softplus,
    softsign,
)
from .function_code import HELPERS, Code
from .function_numbers import (
    Numeric,
    exp_value,
    gelu_tanh_slope,
    gelu_tanh_value,
    guarded,
    log_value,
    mp_gelu_c,
    mp_sigmoid,
    normal_cdf_array,
    normal_cdf_value,
    normal_pdf_array,
    normal_pdf_value,
    sigmoid_array,
    sigmoid_value,
    sign_value,
    sqrt_value,
)

__all__ = [
    "ACTIVATION_NAMES",
    "ALIASABLE_NAMES",
    "FUNCTIONS",
    "FUNCTION_NAMES",
    "DEFINITION_VARIABLE",
    "HELPERS",
    "LOSSES",
    "Code",
    "Elementwise",
    "FunctionRow",
    "Numeric",
    "float_parameters",
    "kind_of",
    "kind_text",
    "parameters_of",
    "parse_kind",
    "register",
    "logsumexp",
    "relu",
    "resolve",
    "row_of",
    "sigmoid",
    "softplus",
    "to_elementary",
]


# --------------------------------------------------------------------------- the table


#: The variable of a function defined by an expression (``"x*sigmoid(x)"``).
DEFINITION_VARIABLE = sympy.Symbol("x", real=True)


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
      backprop compute it; a function defined by an expression of ``x``
      (:func:`symgrad.function`) has ``definition`` instead of ``code`` and ``numeric``:
      code generation and the numeric backprop expand that definition, each with its
      own rules;
    * ``in_text``: callable by name in equations; ``activation``: accepted by
      ``mlp``; ``output_range``: the open interval its values lie in, when a loss
      (cross-entropy) needs one; ``kinked``: its derivative jumps where its argument is 0.
    """

    name: str
    builtin: type | None
    alias_base: type | None
    latex: str
    code: Code | None
    mpmath: Callable
    numeric: Numeric | None
    spellings: tuple[str, ...] = ()
    text: str = ""
    in_text: bool = True
    activation: bool = False
    output_range: tuple[float, float] | None = None
    kinked: bool = False
    definition: sympy.Expr | None = None

    def expand(self, argument: sympy.Expr) -> sympy.Expr:
        """The definition of a function defined by an expression, at ``argument``."""
        return self.definition.xreplace({DEFINITION_VARIABLE: argument})


def _mp_heaviside(x, h0=0):
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(h0))


def _step(a, h0=0.5):
    return 1.0 if a > 0 else (0.0 if a < 0 else float(h0))


def _rows(*rows: FunctionRow) -> dict[str, FunctionRow]:
    return {row.name: row for row in rows}


def _numpy(name: str, c: str | None = None, c_helpers: tuple[str, ...] = ()) -> Code:
    """A NumPy ufunc of the same name; in C, the C99 function of the same name unless ``c``."""
    return Code(f"np.{name}({{{{ x }}}})", c=c or f"{name}({{{{ x }}}})", c_helpers=c_helpers)


FUNCTIONS: dict[str, FunctionRow] = _rows(
    FunctionRow(
        "sigmoid", sigmoid, sigmoid, r"\sigma",
        Code("_sigmoid({{ x }})", ("_sigmoid",), "_sigmoid_array({{ U }})", "{{ A }} * ({{ lit(1) }} - {{ A }})", ("_sigmoid_array",), c="sg_sigmoid({{ x }})", c_helpers=('sg_sigmoid',)),
        lambda x: 1 / (1 + mpmath.exp(-x)),
        Numeric(sigmoid_value, lambda a, v: v * (1.0 - v), sigmoid_array, lambda u, a: a * (1.0 - a)),
        spellings=(r"\sigma", "σ", "logistic"), text="σ", activation=True, output_range=(0.0, 1.0),
    ),
    FunctionRow(
        "tanh", sympy.tanh, _AliasTanh, r"\tanh",
        Code("np.tanh({{ x }})", (), "np.tanh({{ U }})", "{{ lit(1) }} - {{ A }} * {{ A }}", c="tanh({{ x }})"),
        mpmath.tanh,
        Numeric(math.tanh, lambda a, v: 1.0 - v * v, np.tanh, lambda u, a: 1.0 - a * a),
        spellings=(r"\tanh",), activation=True, output_range=(-1.0, 1.0),
    ),
    FunctionRow(
        "relu", relu, relu, r"\operatorname{ReLU}",
        Code("_relu({{ x }})", ("_relu",), "np.maximum({{ U }}, {{ lit(0) }})", "np.sign(np.maximum({{ U }}, {{ lit(0) }}))", c="sg_relu({{ x }})", c_helpers=('sg_relu',)),
        lambda x: max(mpmath.mpf(0), x),
        Numeric(lambda a: a if a > 0 else 0.0, lambda a, v: 1.0 if a > 0 else 0.0,
                lambda u: np.maximum(u, 0.0), lambda u, a: (u > 0).astype(np.float64)),
        activation=True, kinked=True,
    ),
    FunctionRow(
        "softplus", softplus, softplus, r"\operatorname{softplus}",
        Code("_softplus({{ x }})", ("_softplus",), "_softplus_array({{ U }})", "_sigmoid_array({{ U }})", ("_softplus_array", "_sigmoid_array"), c="sg_softplus({{ x }})", c_helpers=('sg_softplus',)),
        lambda x: mpmath.log(1 + mpmath.exp(x)),
        Numeric(lambda a: max(a, 0.0) + math.log1p(math.exp(-abs(a))), lambda a, v: sigmoid_value(a),
                lambda u: np.logaddexp(0.0, u), lambda u, a: sigmoid_array(u)),
        activation=True,
    ),
    FunctionRow(
        "leaky_relu", leaky_relu, leaky_relu, r"\operatorname{LeakyReLU}",
        Code("_leaky_relu({{ x }}, {{ alpha }})", ("_leaky_relu",),
             "np.where({{ U }} > {{ lit(0) }}, {{ U }}, {{ alpha }} * {{ U }})",
             "np.where({{ U }} > {{ lit(0) }}, {{ lit(1) }}, {{ alpha }})", c="sg_leaky_relu({{ x }}, {{ alpha }})", c_helpers=('sg_leaky_relu',)),
        lambda x, alpha: x if x > 0 else alpha * x,
        Numeric(lambda a, alpha: a if a > 0 else (alpha * a if a <= 0 else a), lambda a, v, alpha: 1.0 if a > 0 else alpha,
                lambda u, alpha: np.where(u > 0, u, alpha * u), lambda u, a, alpha: np.where(u > 0, 1.0, alpha)),
        activation=True, kinked=True,
    ),
    FunctionRow(
        "elu", elu, elu, r"\operatorname{ELU}",
        Code("_elu({{ x }}, {{ alpha }})", ("_elu",),
             "np.where({{ U }} > {{ lit(0) }}, {{ U }}, {{ alpha }} * np.expm1(np.minimum({{ U }}, {{ lit(0) }})))",
             "np.where({{ U }} > {{ lit(0) }}, {{ lit(1) }}, {{ A }} + {{ alpha }})", c="sg_elu({{ x }}, {{ alpha }})", c_helpers=('sg_elu',)),
        lambda x, alpha: x if x > 0 else alpha * mpmath.expm1(x),
        Numeric(lambda a, alpha: a if a > 0 else (alpha * math.expm1(a) if a <= 0 else a), lambda a, v, alpha: 1.0 if a > 0 else v + alpha,
                lambda u, alpha: np.where(u > 0, u, alpha * np.expm1(np.minimum(u, 0.0))),
                lambda u, a, alpha: np.where(u > 0, 1.0, a + alpha)),
        activation=True, kinked=True,
    ),
    FunctionRow(
        "gelu", gelu, gelu, r"\operatorname{GELU}",
        Code("{{ x }} * _normal_cdf({{ x }})", ("_normal_cdf",), "{{ U }} * _normal_cdf_array({{ U }})",
             "_normal_cdf_array({{ U }}) + {{ U }} * np.exp({{ lit(-0.5) }} * {{ U }} * {{ U }}) * {{ lit(0.3989422804014327) }}",
             ("_normal_cdf_array",), c="{{ x }} * sg_normal_cdf({{ x }})", c_helpers=('sg_normal_cdf',)),
        lambda x: x * mpmath.ncdf(x),
        Numeric(lambda a: a * normal_cdf_value(a), lambda a, v: normal_cdf_value(a) + a * normal_pdf_value(a),
                lambda u: u * normal_cdf_array(u), lambda u, a: normal_cdf_array(u) + u * normal_pdf_array(u)),
        activation=True,
    ),
    FunctionRow(
        "gelu_tanh", gelu_tanh, gelu_tanh, r"\operatorname{GELU}_{\tanh}",
        Code("_gelu_tanh({{ x }})", ("_gelu_tanh",), "_gelu_tanh({{ U }})", "_gelu_tanh_slope({{ U }})", ("_gelu_tanh", "_gelu_tanh_slope"), c="sg_gelu_tanh({{ x }})", c_helpers=('sg_gelu_tanh',)),
        lambda x: x * (1 + mpmath.tanh(mp_gelu_c() * (x + mpmath.mpf(44715) / 1000000 * x**3))) / 2,
        Numeric(lambda a: float(gelu_tanh_value(a)), lambda a, v: float(gelu_tanh_slope(a)), gelu_tanh_value, lambda u, a: gelu_tanh_slope(u)),
        activation=True,
    ),
    FunctionRow(
        "silu", silu, silu, r"\operatorname{SiLU}",
        Code("{{ x }} * _sigmoid({{ x }})", ("_sigmoid",), "{{ U }} * _sigmoid_array({{ U }})",
             "_sigmoid_array({{ U }}) * ({{ lit(1) }} + {{ U }} * ({{ lit(1) }} - _sigmoid_array({{ U }})))", ("_sigmoid_array",), c="{{ x }} * sg_sigmoid({{ x }})", c_helpers=('sg_sigmoid',)),
        lambda x: x * mp_sigmoid(x),
        Numeric(lambda a: a * sigmoid_value(a), lambda a, v: sigmoid_value(a) * (1.0 + a * (1.0 - sigmoid_value(a))),
                lambda u: u * sigmoid_array(u), lambda u, a: sigmoid_array(u) * (1.0 + u * (1.0 - sigmoid_array(u)))),
        spellings=("swish",), activation=True,
    ),
    FunctionRow(
        "softsign", softsign, softsign, r"\operatorname{softsign}",
        Code("{{ x }} / ({{ lit(1) }} + abs({{ x }}))", (), "{{ U }} / ({{ lit(1) }} + np.abs({{ U }}))",
             "{{ lit(1) }} / (({{ lit(1) }} + np.abs({{ U }})) * ({{ lit(1) }} + np.abs({{ U }})))", c="{{ x }} / (1.0 + fabs({{ x }}))"),
        lambda x: x / (1 + abs(x)),
        Numeric(lambda a: a / (1.0 + abs(a)), lambda a, v: 1.0 / (1.0 + abs(a)) ** 2,
                lambda u: u / (1.0 + np.abs(u)), lambda u, a: 1.0 / (1.0 + np.abs(u)) ** 2),
        activation=True, output_range=(-1.0, 1.0),
    ),
    FunctionRow(
        "normal_cdf", normal_cdf, normal_cdf, r"\Phi", Code("_normal_cdf({{ x }})", ("_normal_cdf",), c="sg_normal_cdf({{ x }})", c_helpers=('sg_normal_cdf',)),
        mpmath.ncdf, Numeric(normal_cdf_value, lambda a, v: normal_pdf_value(a)), spellings=(r"\Phi", "Φ"), text="Φ", in_text=False,
    ),
    FunctionRow(
        "normal_pdf", normal_pdf, normal_pdf, r"\phi",
        Code("np.exp({{ lit(-0.5) }} * {{ x }} * {{ x }}) * {{ lit(0.3989422804014327) }}", c="exp(-0.5 * {{ x }} * {{ x }}) * 0.3989422804014327"),
        mpmath.npdf, Numeric(normal_pdf_value, lambda a, v: -a * v), spellings=(r"\phi", r"\varphi", "φ"), text="φ", in_text=False,
    ),
    FunctionRow(
        "identity", None, _AliasIdentity, "",
        Code("{{ x }}", (), "{{ U }}", "{{ lit(1) }}", c="{{ x }}"),
        lambda x: x,
        Numeric(lambda a: a, lambda a, v: 1.0, lambda u: u, lambda u, a: np.ones_like(u)),
        in_text=False, activation=True,
    ),
    FunctionRow(
        "exp", sympy.exp, _AliasExp, r"\exp", _numpy("exp"), mpmath.exp,
        Numeric(exp_value, lambda a, v: v), spellings=(r"\exp",),
    ),
    FunctionRow(
        "log", sympy.log, _AliasLog, r"\log", _numpy("log"), mpmath.log,
        Numeric(log_value, lambda a, v: 1.0 / a if a != 0 else math.inf), spellings=(r"\log", r"\ln", "ln"),
    ),
    FunctionRow(
        "abs", sympy.Abs, _AliasAbs, r"\operatorname{abs}", Code("abs({{ x }})", c="fabs({{ x }})"), abs,
        Numeric(abs, lambda a, v: sign_value(a)), kinked=True,
    ),
    FunctionRow(
        "sqrt", sympy.sqrt, _AliasSqrt, r"\sqrt", _numpy("sqrt"), mpmath.sqrt,
        Numeric(sqrt_value, lambda a, v: 0.5 / v if v != 0 else math.inf),
    ),
    # Functions that appear in derivatives (|x|' = sign, relu' = step) or in sympy
    # expressions a user passes; not (yet) callable by name in equations.
    FunctionRow(
        "sign", sympy.sign, None, r"\operatorname{sign}", _numpy("sign", "sg_sign({{ x }})", ("sg_sign",)), mpmath.sign,
        Numeric(sign_value, lambda a, v: 0.0), spellings=("sgn",), in_text=False, kinked=True,
    ),
    FunctionRow(
        "step", sympy.Heaviside, None, r"\operatorname{step}",
        Code("_heaviside({{ x }}, {{ args[1] if args | length > 1 else lit(0.5) }})", ("_heaviside",), c="sg_step({{ x }}, {{ args[1] if args | length > 1 else lit(0.5) }})", c_helpers=('sg_step',)),
        _mp_heaviside, Numeric(_step, lambda a, v: 0.0),
        spellings=("heaviside",), in_text=False, kinked=True,
    ),
    FunctionRow("sin", sympy.sin, _AliasSin, r"\sin", _numpy("sin"), mpmath.sin, Numeric(math.sin, lambda a, v: math.cos(a)), spellings=(r"\sin",)),
    FunctionRow("cos", sympy.cos, _AliasCos, r"\cos", _numpy("cos"), mpmath.cos, Numeric(math.cos, lambda a, v: -math.sin(a)), spellings=(r"\cos",)),
    FunctionRow("tan", sympy.tan, None, r"\tan", _numpy("tan"), mpmath.tan,
                Numeric(math.tan, lambda a, v: 1.0 + v * v), in_text=False),
    FunctionRow("sinh", sympy.sinh, None, r"\sinh", _numpy("sinh"), mpmath.sinh,
                Numeric(guarded(math.sinh), lambda a, v: math.cosh(a)), in_text=False),
    FunctionRow("cosh", sympy.cosh, None, r"\cosh", _numpy("cosh"), mpmath.cosh,
                Numeric(guarded(math.cosh), lambda a, v: math.sinh(a)), in_text=False),
    FunctionRow("asin", sympy.asin, None, r"\arcsin", Code("np.arcsin({{ x }})", c="asin({{ x }})"), mpmath.asin,
                Numeric(guarded(math.asin), lambda a, v: 1.0 / math.sqrt(1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
    FunctionRow("acos", sympy.acos, None, r"\arccos", Code("np.arccos({{ x }})", c="acos({{ x }})"), mpmath.acos,
                Numeric(guarded(math.acos), lambda a, v: -1.0 / math.sqrt(1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
    FunctionRow("atan", sympy.atan, None, r"\arctan", Code("np.arctan({{ x }})", c="atan({{ x }})"), mpmath.atan,
                Numeric(math.atan, lambda a, v: 1.0 / (1.0 + a * a)), in_text=False),
    FunctionRow("asinh", sympy.asinh, None, r"\operatorname{arsinh}", Code("np.arcsinh({{ x }})", c="asinh({{ x }})"), mpmath.asinh,
                Numeric(math.asinh, lambda a, v: 1.0 / math.sqrt(a * a + 1.0)), in_text=False),
    FunctionRow("acosh", sympy.acosh, None, r"\operatorname{arcosh}", Code("np.arccosh({{ x }})", c="acosh({{ x }})"), mpmath.acosh,
                Numeric(guarded(math.acosh), lambda a, v: 1.0 / math.sqrt(a * a - 1.0) if a > 1 else math.nan), in_text=False),
    FunctionRow("atanh", sympy.atanh, None, r"\operatorname{artanh}", Code("np.arctanh({{ x }})", c="atanh({{ x }})"), mpmath.atanh,
                Numeric(guarded(math.atanh), lambda a, v: 1.0 / (1.0 - a * a) if abs(a) < 1 else math.nan), in_text=False),
)

#: Names usable in equations without declaring them.
FUNCTION_NAMES: tuple[str, ...] = ()

#: Functions a text may call by a name of its own (``functions={"g": "sigmoid"}``).
ALIASABLE_NAMES: tuple[str, ...] = ()

#: Activations :func:`symgrad.mlp` accepts: the elementwise ones, and the softmax (a
#: vector function, for the output layer only).
ACTIVATION_NAMES: tuple[str, ...] = ()

#: Losses known to :func:`symgrad.mlp`, with the single-sample formula each stands for.
LOSSES: dict[str, str] = {
    "mse": "½ Σ_k (o_k − y_k)²",
    "mae": "Σ_k |o_k − y_k|",
    "cross_entropy": "−Σ_k y_k log o_k (softmax output), else −Σ_k [y_k log o_k + (1 − y_k) log(1 − o_k)]",
    "softmax_cross_entropy": "logsumexp(u) Σ_k y_k − Σ_k y_k u_k, the cross-entropy of softmax(u)",
}

_ALIASES: dict[tuple, type] = {}
_BY_BUILTIN: dict[type, FunctionRow] = {}


def _index() -> None:
    """(Re)compute the name lists from the table (once, and after :func:`register`)."""
    global FUNCTION_NAMES, ALIASABLE_NAMES, ACTIVATION_NAMES
    FUNCTION_NAMES = tuple(name for name, row in FUNCTIONS.items() if row.in_text)
    ALIASABLE_NAMES = tuple(name for name, row in FUNCTIONS.items() if row.alias_base is not None)
    ACTIVATION_NAMES = tuple(name for name, row in FUNCTIONS.items() if row.activation) + ("softmax",)
    _BY_BUILTIN.clear()
    _BY_BUILTIN.update({row.builtin: row for row in FUNCTIONS.values() if row.builtin is not None})


_BUILT_IN = frozenset(FUNCTIONS) | {"logsumexp", "softmax"}
_index()


def register(row: FunctionRow) -> None:
    """Add (or replace) a user's function in the table, under its name: a text may then
    call it, ``functions=`` and ``mlp(activation=...)`` may name it. A built-in row
    cannot be replaced."""
    if row.name in _BUILT_IN:
        raise UnknownSymbolError(f"{row.name!r} is a built-in function; give yours another name", token=row.name)
    FUNCTIONS[row.name] = row
    _index()


_KIND_WITH_CONSTANTS = re.compile(r"^\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.S)


def parse_kind(kind: str) -> tuple[FunctionRow, dict[str, sympy.Rational]]:
    """The row a function kind names, and the constants it gives: ``"leaky_relu"`` or
    ``"leaky_relu(0.2)"`` (decimal constants are exact: 0.2 is 1/5).

    >>> row, constants = parse_kind("leaky_relu(0.2)")
    >>> row.name, constants
    ('leaky_relu', {'alpha': 1/5})
    """
    if not isinstance(kind, str):
        raise UnknownSymbolError(f"a function kind must be a name such as 'sigmoid', got {kind!r}", token=str(kind))
    written, constants = kind.strip(), {}
    match = _KIND_WITH_CONSTANTS.match(written)
    if match:
        written, arguments = match.group(1), [a.strip() for a in match.group(2).split(",") if a.strip()]
    row = FUNCTIONS.get(written)
    if row is None:
        known = ", ".join(ALIASABLE_NAMES)
        raise UnknownSymbolError(f"unknown function kind {kind!r} (known: {known})", token=written)
    if match:
        names = list(parameters_of(row.builtin))
        if len(arguments) != len(names):
            wanted = f"{len(names)} constant(s) ({', '.join(names)})" if names else "no constants"
            raise UnknownSymbolError(f"function kind {kind!r}: {row.name} takes {wanted}, got {len(arguments)}", token=kind)
        for name, text in zip(names, arguments):
            try:
                constants[name] = sympy.Rational(Fraction(text))
            except (ValueError, ZeroDivisionError):
                raise UnknownSymbolError(f"function kind {kind!r}: {name} = {text!r} is not a number", token=text) from None
        if constants == parameters_of(row.builtin):
            constants = {}  # the defaults, written out: the same function
    return row, constants


def parameters_of(func) -> dict[str, sympy.Rational]:
    """The constants of a function class (leaky_relu's α), by name; empty for most.

    >>> parameters_of(resolve("lrelu", "leaky_relu(0.2)")), parameters_of(sigmoid)
    ({'alpha': 1/5}, {})
    """
    return dict(getattr(func, "parameters", {}) or {})


def float_parameters(func) -> dict[str, float]:
    """:func:`parameters_of` as floats, for the numeric engines."""
    return {name: float(value) for name, value in parameters_of(func).items()}


def kind_text(func) -> str:
    """What a function class stands for, constants included: ``"leaky_relu(1/5)"``,
    ``"sigmoid"`` (``None`` spelled out for a function outside the table). Two classes
    with the same name and different kind texts compute different functions.

    >>> kind_text(resolve("g", "leaky_relu(0.2)")), kind_text(resolve("g", "sigmoid"))
    ('leaky_relu(1/5)', 'sigmoid')
    """
    kind = kind_of(func)
    row = row_of(func)
    if row is not None and row.definition is not None:  # a user's function: its definition is what it is
        derivative = getattr(func, "given_derivative", None)
        return f"{kind}[{sympy.srepr(row.definition)}; {sympy.srepr(derivative)}]"
    constants = parameters_of(func)
    if constants and row_of(func) is not None and constants != parameters_of(row_of(func).builtin):
        return f"{kind}({', '.join(str(v) for v in constants.values())})"
    return str(kind)


def resolve(name: str, kind: str | None = None):
    """The sympy function class for ``name``, the function of kind ``kind`` (a row name,
    with constants if it has any: ``"leaky_relu(0.2)"``).

    ``resolve("tanh")`` is sympy's own ``tanh``; ``resolve("g", "sigmoid")`` is a
    sigmoid that prints as ``g``. The same pair always returns the same class.

    >>> resolve("g", "sigmoid") is resolve("g", "sigmoid")
    True
    """
    row, constants = parse_kind(kind or name)
    if kind is None:
        name = row.name  # resolve("leaky_relu(0.2)") is a leaky_relu: its constants are not its name
    if row.alias_base is None and (name != row.name or constants):
        known = ", ".join(ALIASABLE_NAMES)
        raise UnknownSymbolError(f"unknown function kind {kind!r} for {name!r} (known: {known})", token=kind)
    if name == row.name and not constants and row.builtin is not None:
        return row.builtin
    key = (name, row.name, tuple(sorted(constants.items())))
    if key not in _ALIASES:
        body = {"__module__": __name__}
        if constants:
            body["parameters"] = {**parameters_of(row.alias_base), **constants}
        _ALIASES[key] = type(name, (row.alias_base,), body)
    return _ALIASES[key]


def row_of(func) -> FunctionRow | None:
    """The row of a sympy function class (an alias included), or None.

    >>> row_of(resolve("g", "sigmoid")).name, row_of(sympy.tanh).latex, row_of(logsumexp)
    ('sigmoid', '\\\\tanh', None)
    """
    if isinstance(func, type) and issubclass(func, Elementwise):
        return getattr(func, "row", None) or FUNCTIONS.get(func.kind)
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

    return sympy.sympify(expr).replace(is_ours, rewrite)
