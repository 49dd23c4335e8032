r"""Derivatives as people write them, read into values over a network's symbols.

* ``\frac{\partial A}{\partial B}``, ``\frac{dA}{dB}`` (``d`` upright or italic, with or
  without a space after it), ``\partial A/\partial B`` and ``dA/dB``: A's definition
  expanded through the steps that depend on B, differentiated with B the only
  variable that moves (a chain-rule line's local factor). With a function for A
  (``\frac{dg}{du_1}``, ``\frac{d\sigma}{dz}``), the function's derivative at B.
* ``\frac{\partial}{\partial B}(\dots)``: the operator applied to what follows it, up to
  the next + or − or explicit product sign (``\cdot``, ``\times``), as a chain-rule line
  writes ``\frac{\partial}{\partial u} g(u) \cdot h``.
* ``\nabla_B L`` and ``\frac{\partial L}{\partial W^{(l)}}``: the loss's gradient, entry
  by entry when B is a whole matrix or vector.

A numerator that names no symbol of the network (``E``, ``J``, ``C``) is the loss,
and the reading says so.

>>> import symgrad as sg
>>> from symgrad.verification.reader import read_latex
>>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
>>> read_latex(net, r"\partial L/\partial o \cdot \frac{d g}{d\,u}").lines[0]
(1 - g(u))*(o - y)*g(u)
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import sympy

from ...errors import ParseError, UnknownSymbolError
from .lexicon import IndexOutOfRange
from .matrices import Matrix
from .names import FUNCTION_COMMANDS, Name
from .tokens import column

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network
    from .lexicon import Lexicon
    from .tokens import Formula


class Reader(Protocol):
    """What these readings need of what reads the formula (a :class:`~.parser.Parser` is one)."""

    net: "Network"
    formula: "Formula"
    lexicon: "Lexicon"

    def expression(self, start: int, stop: int): ...

    def name_at(self, i: int, end: int) -> tuple[Name | None, int]: ...

    def resolve_function(self, func, arg, whole_layer: bool = False): ...

__all__ = ["FRACTIONS", "after_d", "derivative_fraction", "function_derivative", "nabla", "partial", "slash_derivative", "term_end"]

FRACTIONS = (r"\frac", r"\dfrac", r"\tfrac")
_UPRIGHT = (r"\mathrm", r"\text", r"\operatorname", r"\textrm")


def after_d(parser: Reader, a: int, b: int) -> int | None:
    """Where the expression after a leading ∂ or d starts (None if the group does not start with one)."""
    f = parser.formula
    a = f.skip(a, b)
    if a >= b:
        return None
    t = f[a]
    if t.text == r"\partial":
        if a + 1 < b and f[a + 1].text == "^":
            raise ParseError(
                f"{column(t)}: a higher derivative ({f.source(a, b)}); symgrad checks first derivatives: "
                "write the first derivative of the first derivative's formula",
                token=f.source(a, b),
            )
        return a + 1
    if t.category == "letter" and t.text == "d" and a + 1 <= b:
        nxt = f.skip(a + 1, b)
        if nxt >= b or f[nxt].category in ("letter", "cmd"):
            return a + 1
        return None
    if t.category == "cmd" and t.text in _UPRIGHT and f.group_text(*f.argument(a + 1, b, t.text)[:2]) == "d":
        return f.argument(a + 1, b, t.text)[2]
    return None


def _d_kind(tok) -> str:
    return "partial" if tok.text == r"\partial" else "d"


def derivative_fraction(parser: Reader, i: int, end: int):
    """``\\frac{\\partial A}{\\partial B}`` or ``\\frac{dA}{dB}`` at ``i``: the ranges of A and B
    and the index after it; None if there is no derivative there. A is empty for an operator."""
    f = parser.formula
    i = f.skip(i, end)
    if i >= end or f[i].text not in FRACTIONS:
        return None
    na, nb, j = f.argument(i + 1, end, r"\frac")
    da, db, j = f.argument(j, end, r"\frac")
    num, den = after_d(parser, na, nb), after_d(parser, da, db)
    if num is None or den is None:
        return None
    if f.is_blank(den, db):
        raise ParseError(f"{column(f[i])}: a derivative with respect to nothing: {f.source(i, j)}", token=f.source(i, j))
    return (num, nb), (den, db), j


def term_end(parser: Reader, j: int, stop: int, products: bool = False) -> int:
    r"""Where the term starting at ``j`` ends: at the next '+' or '−' between operands, outside
    brackets; with ``products``, also at an explicit product sign (``\cdot``, ``\times``)."""
    f = parser.formula
    seen = False
    previous = ""
    while j < stop:
        t = f[j]
        if t.category in ("space", "newline"):
            j += 1
            continue
        if t.category == "char" and t.text in "+-" and seen and previous not in ("^", "_", r"\cdot", r"\times", "*", "/"):
            return j
        if products and seen and t.text in (r"\cdot", r"\times", "*"):
            return j
        seen, previous = True, t.text
        if j in f.pairs:
            close = f.pairs[j]
            j = (f.delimiter_index(close) if f[close].text == r"\right" else close) + 1
            continue
        j += 1
    return stop


def _single_name(parser: Reader, a: int, b: int) -> tuple[Name | None, int]:
    f = parser.formula
    first = f.skip(a, b)
    if first >= b:
        return None, first
    name, k = parser.name_at(first, b)
    return (name, first) if name is not None and f.skip(k, b) == b else (None, first)


def wrt_value(parser: Reader, da: int, db: int):
    """The B of ∂/∂B: one name, a network symbol or a whole matrix or vector of them."""
    f = parser.formula
    name, at = _single_name(parser, da, db)
    if name is None:
        raise ParseError(f"differentiation with respect to {f.source(da, db)!r}: name one symbol", token=f.source(da, db))
    value = parser.lexicon.value(name, at)
    if isinstance(value, Matrix):
        if not all(isinstance(e, sympy.Symbol) for e in value.entries):
            raise ParseError(f"differentiation with respect to {name.written!r}, which is not made of the network's symbols", token=name.written)
        return value
    if not isinstance(value, sympy.Symbol):
        raise ParseError(f"differentiation with respect to {name.written!r}, which is not a symbol of the network", token=name.written)
    return value


def _is_loss(parser: Reader, na: int, nb: int) -> bool:
    """Whether the numerator is the loss: its own name, or a name the network does not have (E, J, C…)."""
    name, at = _single_name(parser, na, nb)
    if name is None or parser.lexicon.function(name) is not None:
        return False
    try:
        value = parser.lexicon.value(name, at)
    except (UnknownSymbolError, IndexOutOfRange):
        if name.index or name.layer or name.superscript:
            return False
        parser.lexicon.note(f"{name.written} is read as the loss {parser.net.loss.name}")
        return True
    return value == parser.net.loss


def derivative(parser: Reader, na: int, nb: int, da: int, db: int):
    """∂A/∂B for A in tokens ``na..nb`` and B in ``da..db`` (see the module notes)."""
    f = parser.formula
    wrt = wrt_value(parser, da, db)
    # A chain-rule derivation writes the same local factor on many lines: read it once.
    key = ("∂", f.source(na, nb), wrt if not isinstance(wrt, Matrix) else tuple(wrt.entries), parser.lexicon.convention,
           tuple(sorted(parser.lexicon.bindings.items())), parser.lexicon.variant)
    cache = parser.lexicon.memo
    if key not in cache:
        cache[key] = _derivative(parser, na, nb, wrt)
    return cache[key]


def _derivative(parser: Reader, na: int, nb: int, wrt):
    f = parser.formula
    name, _ = _single_name(parser, na, nb)
    first = f.skip(na, nb)
    if name is None and first < nb and f[first].text in FUNCTION_COMMANDS and f.skip(first + 1, nb) == nb:
        return _elementwise(lambda x: function_derivative(FUNCTION_COMMANDS[f[first].text], 1, x), wrt)
    if name is not None:
        func = parser.lexicon.function(name)
        if func is None and parser.lexicon.sigma_is_sigmoid(name):
            from ...model import functions as fn

            func = fn.sigmoid
        if func is not None:  # dg/du_1: the function's derivative at u_1
            return _elementwise(lambda x: function_derivative(parser.resolve_function(func, x), name.primes + 1, x), wrt)
    if _is_loss(parser, na, nb):
        return parser.lexicon.adjoint(wrt)
    return _partial_of(parser.net, parser.expression(na, nb), wrt)


def _elementwise(rule, wrt):
    return wrt.applyfunc(rule) if isinstance(wrt, Matrix) else rule(wrt)


def _partial_of(net: "Network", value, wrt):
    if isinstance(value, Matrix):
        raise ParseError("a derivative of a whole matrix or vector; write one entry, or ∇ of the loss", token="\\partial")
    if isinstance(wrt, Matrix):
        return wrt.applyfunc(lambda s: partial(net, value, s))
    return partial(net, value, wrt)


def operator(parser: Reader, da: int, db: int, j: int, stop: int) -> tuple[object, int]:
    """``\\frac{\\partial}{\\partial B}`` applied to what follows, up to the next sign or explicit product."""
    f = parser.formula
    end = term_end(parser, j, stop, products=True)
    if f.is_blank(j, end):
        raise ParseError(f"{column(f[j - 1])}: the operator ∂/∂{f.source(da, db)} is applied to nothing", token=f.source(da, db))
    return _partial_of(parser.net, parser.expression(j, end), wrt_value(parser, da, db)), end


def slash_derivative(parser: Reader, i: int, stop: int) -> tuple[object, int] | None:
    """``\\partial A/\\partial B`` or ``dA/dB`` at ``i``: the value and the index after it, None if not there."""
    f = parser.formula
    na = after_d(parser, i, stop)
    if na is None:
        return None
    name, k = parser.name_at(f.skip(na, stop), stop) if f.skip(na, stop) < stop else (None, na)
    slash = f.skip(k, stop)
    if name is None or slash >= stop or f[slash].text != "/":
        return None
    da = after_d(parser, slash + 1, stop)
    if da is None or _d_kind(f[f.skip(slash + 1, stop)]) != _d_kind(f[f.skip(i, stop)]):
        return None
    wrt_name, end = parser.name_at(f.skip(da, stop), stop) if f.skip(da, stop) < stop else (None, da)
    if wrt_name is None:
        return None
    return derivative(parser, na, k, da, end), end


def nabla(parser: Reader, i: int, stop: int) -> tuple[object, int]:
    """``\\nabla_{B} A`` at ``i``: the gradient of A (the loss) with respect to B."""
    f = parser.formula
    k = f.skip(i + 1, stop)
    if k >= stop or f[k].text != "_":
        raise ParseError(
            f"{column(f[i])}: '\\nabla' without a subscript; write the gradient with respect to one parameter or matrix, e.g. \\nabla_{{W^{{(2)}}}} L",
            token=r"\nabla",
        )
    da, db, j = f.argument(k + 1, stop, "_")
    a = f.skip(j, stop)
    name, end = parser.name_at(a, stop) if a < stop else (None, a)
    if name is None:
        raise ParseError(f"{column(f[i])}: '\\nabla_{{{f.source(da, db)}}}' of what? write the loss after it, e.g. \\nabla_{{w}} L", token=r"\nabla")
    return derivative(parser, a, end, da, db), end


# --------------------------------------------------------------------------- semantics


def function_derivative(func, order: int, at: sympy.Expr) -> sympy.Expr:
    """The ``order``-th derivative of a one-argument function at ``at`` (g' = g(1 − g) for a sigmoid).

    >>> function_derivative(sympy.tanh, 1, sympy.Symbol("u"))
    1 - tanh(u)**2
    """
    x, d = _derivative_rule(func, order)
    return d.xreplace({x: at})


@lru_cache(maxsize=256)
def _derivative_rule(func, order: int):
    """The ``order``-th derivative of ``func`` at a placeholder, derived once per function."""
    x = sympy.Dummy("x", real=True)
    d = func(x)
    for _ in range(order):
        d = d.diff(x)
    return x, d


def partial(net: "Network", expr: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
    """∂expr/∂wrt, where each step that depends on ``wrt`` is replaced by its definition
    (so ∂u_1/∂h_1 = w_7 and ∂f̂_1/∂h_1 = g'(u_1)·w_7) and every other symbol is held fixed."""
    downstream = {wrt}
    for st in net.steps:
        if st.expr.free_symbols & downstream:
            downstream.add(st.target)
    downstream.discard(wrt)
    # Each downstream step written out down to wrt (steps come in order, so one pass does it).
    full: dict[sympy.Symbol, sympy.Expr] = {}
    for st in net.steps:
        if st.target in downstream:
            full[st.target] = st.expr.xreplace(full)
    d = sympy.diff(sympy.sympify(expr).xreplace(full), wrt)
    # Fold the written-out steps in between back into their names: ∂h_1/∂w_1 = i_1 g'(u_2),
    # not g'(w_1 i_1 + …); the steps being differentiated stay written out (g(u_2), not h_1).
    for target in reversed(list(full)):
        if not full[target].is_Atom and target not in sympy.sympify(expr).free_symbols:
            d = d.xreplace({full[target]: target})
    return d
