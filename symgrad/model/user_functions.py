"""Functions a user defines by an expression of ``x``, with or without their derivative.

``functions={"swish": "x*sigmoid(x)"}`` in a network, or :func:`symgrad.function` for one
usable by name everywhere, makes a row of the functions table from an expression. Its
derivative is the expression's own (with the textbook rules of the functions inside:
swish'(x) = σ(x) + x·σ(x)(1 − σ(x))), or the one given, which is checked against the
expression's own when the function is made. Code generation and the numeric backprop
expand the definition, each with its own rules.

>>> import sympy
>>> from symgrad.model.functions import DEFINITION_VARIABLE as x, sigmoid
>>> swish = user_function("swish", x * sigmoid(x))
>>> u = sympy.Symbol("u", real=True)
>>> swish(u).diff(u)
u*(1 - sigmoid(u))*sigmoid(u) + sigmoid(u)
"""

from __future__ import annotations

import mpmath
import sympy

from ..errors import SymgradError
from . import functions as fn
from .elementwise import Elementwise

__all__ = ["UserFunction", "user_function"]

X = fn.DEFINITION_VARIABLE

#: Where a given derivative is held against the expression's own (30 digits).
_CHECK_POINTS = ("-2.7", "-1.3", "-0.4", "0.3", "0.9", "1.6", "3.1")


class UserFunction(Elementwise):
    """Base of the functions users define; subclasses carry ``definition`` (an expression
    of :data:`~symgrad.model.functions.DEFINITION_VARIABLE`), ``given_derivative`` and their ``row``."""

    kind = "user"
    definition: sympy.Expr = X
    given_derivative: sympy.Expr | None = None

    @classmethod
    def _elementary(cls, x):
        return fn.to_elementary(cls.definition.xreplace({X: x}))

    @classmethod
    def derivative(cls) -> sympy.Expr:
        """The derivative as an expression of x: the one given, else the definition's own."""
        return cls.given_derivative if cls.given_derivative is not None else cls.definition.diff(X)

    def fdiff(self, argindex=1):
        return type(self).derivative().xreplace({X: self.args[0]})


def user_function(name: str, definition: sympy.Expr, derivative: sympy.Expr | None = None) -> type:
    """A function class ``name`` computing ``definition`` (an expression of x), with its row.

    A ``derivative`` given is checked at a few points against the definition's own; a
    mismatch is a :class:`~symgrad.errors.SymgradError` naming the point.
    """
    extra = (definition.free_symbols | (derivative.free_symbols if derivative is not None else set())) - {X}
    if extra:
        bad = sorted(s.name for s in extra)[0]
        raise SymgradError(f"function {name!r}: its definition may use x alone, not {bad!r}", token=bad)
    if derivative is not None:
        _check_derivative(name, definition, derivative)
    cls = type(name, (UserFunction,), {"__module__": __name__, "kind": name, "definition": definition, "given_derivative": derivative})
    elementary = fn.to_elementary(definition)
    kinked = any(getattr(fn.row_of(type(call)), "kinked", False) for call in definition.atoms(sympy.Function))
    cls.row = fn.FunctionRow(
        name, cls, cls, rf"\operatorname{{{name}}}", None,
        sympy.lambdify(X, elementary, modules="mpmath"), None,
        activation=True, kinked=kinked or bool(elementary.atoms(sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise)),
        definition=definition,
    )
    return cls


def _check_derivative(name: str, definition: sympy.Expr, derivative: sympy.Expr) -> None:
    own = fn.to_elementary(definition.diff(X))
    given = fn.to_elementary(derivative)
    with mpmath.workdps(30):
        compared = 0
        for text in _CHECK_POINTS:
            at = {X: sympy.Rational(text)}
            try:
                a, b = complex(own.xreplace(at).evalf(30)), complex(given.xreplace(at).evalf(30))
            except (TypeError, ValueError):
                continue  # outside the domain
            if not all(map(mpmath.isfinite, (a, b))) or abs(a.imag) > 1e-25 or abs(b.imag) > 1e-25:
                continue
            compared += 1
            if abs(a - b) > 1e-20 * max(1.0, abs(a)):
                raise SymgradError(
                    f"function {name!r}: the derivative given is not the derivative of its definition: at x = {text} it gives "
                    f"{b.real:.12g}, the definition's derivative {a.real:.12g}",
                    token=name,
                )
    if not compared:
        raise SymgradError(f"function {name!r}: its derivative could not be checked (undefined at every test point)", token=name)
