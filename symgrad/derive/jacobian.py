"""Jacobians of vector functions in the transposed convention.

For y = f(x) with x ∈ Rᵐ and y ∈ Rⁿ, the derivative is written as the
m×n matrix Jᵀ(f) whose entry (i, j) is ∂y_j/∂x_i: one row per input, one column
per output. With that orientation the chain rule reads left to right in the order
the functions are applied:

    Jᵀ_x(g∘f) = Jᵀ_x(f) · Jᵀ_y(g)

Matrices among the inputs are flattened row by row, so the
Jacobian with respect to a 4×3 weight matrix has 12 rows.

>>> import sympy
>>> x1, x2, y1, y2 = sympy.symbols("x1 x2 y1 y2")
>>> f = [x1 + x2, x1 * x2]                      # y = f(x)
>>> g = [y1**2, y1 * y2, y2]                    # z = g(y)
>>> JT_f, JT_g = jacobian(f, [x1, x2]), jacobian(g, [y1, y2])
>>> JT_f.shape, JT_g.shape
((2, 2), (2, 3))
>>> at_f = {y1: f[0], y2: f[1]}
>>> composite = [e.subs(at_f) for e in g]       # g∘f
>>> (jacobian(composite, [x1, x2]) - JT_f * JT_g.subs(at_f)).expand() == sympy.zeros(2, 3)
True
"""

from __future__ import annotations

from typing import Iterable, Mapping

import sympy
from sympy.matrices.expressions.matexpr import MatrixElement

from ..errors import (
    ParseError,
    SymgradError,
    UnknownSymbolError,
)
from ..model.equations import function_table, names_in, parse_expression
from ..model.names import real_symbol

__all__ = ["jacobian"]


def jacobian(outputs, wrt, functions: Mapping[str, str] | None = None) -> sympy.Matrix:
    """Jᵀ: the len(wrt) × len(outputs) matrix with entry (i, j) = ∂outputs[j]/∂wrt[i].

    ``outputs`` is a list of expressions (text in Python syntax, parsed like symgrad's
    equations: names, numbers, arithmetic and the known functions sigmoid, tanh, relu,
    softplus, exp, log, abs, sqrt, plus ``functions={"g": "sigmoid"}``), a single
    expression, or a sympy Matrix (flattened row by row). ``wrt`` is names as sympy's
    ``symbols`` reads them (``"x1 x2"``, ``"x1:3"``), or a list of symbols, names and
    sympy matrices of symbols (each flattened row by row). A *name* in ``wrt`` must occur
    in some output (a misspelt name is reported, not silently given a zero row); a
    symbol or matrix passed as an object is taken as it is.

    >>> jacobian(["x1**2 + x2**2", "x1*x2"], "x1 x2")
    Matrix([
    [2*x1, x2],
    [2*x2, x1]])
    >>> jacobian("(x1*x2 - 3)**2 + 1", "x1:3").T   # a scalar function: J = (Jᵀ)ᵀ, one row
    Matrix([[2*x2*(x1*x2 - 3), 2*x1*(x1*x2 - 3)]])
    """
    ys = _outputs(outputs, functions)
    xs = _variables(wrt, ys)
    return sympy.Matrix(len(xs), len(ys), lambda i, j: sympy.diff(ys[j], xs[i]))


# --------------------------------------------------------------------------- outputs


def _outputs(outputs, functions) -> list[sympy.Expr]:
    if isinstance(outputs, (str, sympy.Expr, int, float)):
        outputs = [outputs]
    elif isinstance(outputs, sympy.MatrixBase):
        outputs = list(outputs)  # row by row
    elif isinstance(outputs, sympy.MatrixExpr):
        outputs = list(outputs.as_explicit())
    elif not isinstance(outputs, Iterable):
        raise SymgradError(f"outputs must be expressions, a list of them or a sympy Matrix, got {type(outputs).__name__}", token=repr(outputs))
    ys = [_output(entry, k, functions) for k, entry in enumerate(outputs, start=1)]
    if not ys:
        raise SymgradError("the list of outputs is empty", token="[]")
    return ys


def _output(entry, k: int, functions) -> sympy.Expr:
    if isinstance(entry, str):
        return _parse(entry, k, functions)
    if isinstance(entry, bool) or not isinstance(entry, (sympy.Basic, int, float)):
        raise SymgradError(f"output {k} is not a scalar expression: {entry!r} ({type(entry).__name__})", token=repr(entry))
    expr = sympy.sympify(entry)
    if not isinstance(expr, sympy.Expr) or isinstance(expr, sympy.MatrixExpr):
        raise SymgradError(f"output {k} is not a scalar expression: {entry!r} ({type(expr).__name__})", token=str(entry))
    return expr


def _parse(text: str, k: int, functions) -> sympy.Expr:
    """One output read by symgrad's own safe parser, every name in it a variable; no
    user text reaches ``eval``."""
    if not text.strip():
        raise ParseError(f"output {k} is empty: {text!r}", token=repr(text))
    where = f"output {k} ({text!r})"
    table = function_table(functions)
    variables = {name: real_symbol(name) for name in names_in(text) if name not in table}
    return parse_expression(text, variables, table, where=where)


# --------------------------------------------------------------------------- variables


def _variables(wrt, ys: list[sympy.Expr]) -> list[sympy.Basic]:
    by_name: dict[str, set[sympy.Symbol]] = {}
    for y in ys:
        for s in y.free_symbols:
            by_name.setdefault(s.name, set()).add(s)
    xs = [_resolve(entry, ys, by_name) for entry in _flatten(wrt)]
    if not xs:
        raise SymgradError("nothing to differentiate with respect to: wrt is empty", token=repr(wrt))
    seen = set()
    for x in xs:
        if x in seen:
            raise SymgradError(f"{x} appears twice in wrt", token=str(x))
        seen.add(x)
    return xs


def _flatten(wrt) -> list:
    """The entries of ``wrt`` in order, matrices row by row."""
    if isinstance(wrt, str):
        text = wrt.replace(",", " ").strip()
        if not text:
            return []
        try:
            return [s.name for s in sympy.symbols(text, seq=True)]
        except Exception as exc:  # sympy raises ValueError/TypeError on a bad range
            raise ParseError(f"cannot read the names {wrt!r}: {exc}", token=wrt) from None
    if isinstance(wrt, sympy.MatrixBase):
        return list(wrt)
    if isinstance(wrt, sympy.MatrixSymbol):
        return list(wrt.as_explicit())
    if isinstance(wrt, (sympy.Basic, int, float)):
        return [wrt]
    if isinstance(wrt, Iterable):
        return [e for item in wrt for e in (_flatten(item) if not isinstance(item, str) else [item])]
    raise SymgradError(f"wrt must be names, symbols or matrices of symbols, got {type(wrt).__name__}", token=repr(wrt))


def _resolve(entry, ys: list[sympy.Expr], by_name: dict[str, set[sympy.Symbol]]) -> sympy.Basic:
    """The symbol of the outputs that ``entry`` (a name, a symbol or a matrix element) names."""
    if isinstance(entry, MatrixElement):
        return entry
    if isinstance(entry, sympy.Symbol):
        found = by_name.get(entry.name, set())
        # A symbol given as an object is taken as it is (an entry of a matrix that the
        # outputs do not use has a zero row), unless only a same-named symbol with other
        # assumptions occurs: then that one is meant.
        return next(iter(found)) if entry not in found and len(found) == 1 else entry
    if isinstance(entry, str):
        name = entry.strip()
        if not name.isidentifier():
            raise ParseError(f"{entry!r} in wrt is not a name", token=entry)
    else:
        raise SymgradError(f"wrt entries must be symbols, {entry} is a {type(entry).__name__}", token=str(entry))
    found = by_name.get(name, set())
    if not found:
        known = ", ".join(sorted(by_name)) or "none"
        raise UnknownSymbolError(f"{name!r} does not occur in any output (names there: {known})", token=name)
    if len(found) > 1:  # the same name with different assumptions: which one is meant?
        raise SymgradError(f"the outputs hold several symbols named {name!r}; pass the symbol itself", token=name)
    return next(iter(found))
