"""LaTeX in the seeds' notation.

Names: ``w7`` → ``w_{7}``, ``fhat1`` → ``\\hat{f}_{1}``, ``W1_2_3`` → ``w^{(1)}_{2,3}``,
``u2_1`` → ``u^{(2)}_{1}``, ``Loss`` → ``\\mathrm{Loss}`` (a word is one upright name);
functions print as the user named them (``g(u_{1})``) or by their usual symbol
(``\\sigma``). Sums print positive terms first, so the error term reads (f̂1 − f1) as
a hand derivation writes it, and products print in chain order: the adjoint coming
down from the loss first, then the local factor.

>>> import sympy
>>> from symgrad.model.names import real_symbol
>>> symbol_latex(real_symbol("fhat1")), symbol_latex(real_symbol("W1_2_3"))
('\\\\hat{f}_{1}', 'w^{(1)}_{2,3}')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from sympy.printing.latex import LatexPrinter

from .. import hooks
from ..errors import SymgradError
from ..model import functions as fn
from ..model.names import ADJOINT_PREFIX
from . import formula
from .tex_text import unicode_math

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.derivative import Derivative
    from ..derive.sweep import ChainPath

__all__ = ["Derivation", "chain_ordered", "derivation", "derivative_latex", "derivative_layout", "expr_latex", "expr_layout", "name_latex", "partial_latex", "symbol_latex", "SymgradLatexPrinter"]

_LAYERED_MATRIX = re.compile(r"^([A-Za-z]+?)(\d+)_(\d+)_(\d+)$")  # W1_2_3: layer 1, row 2, column 3
_LAYERED_VECTOR = re.compile(r"^([A-Za-z]+?)(\d+)_(\d+)$")  # b2_1, u2_1, x1_3
_HAT = re.compile(r"^([A-Za-z]+?)hat(\d*)$")  # fhat1, yhat
_INDEXED = re.compile(r"^([A-Za-z]+?)_?(\d+)$")  # w7, w_10, x1
_OPERATOR_NAMES = {"lse": r"\operatorname{lse}"}


def _base_latex(base: str) -> str:
    if base in _OPERATOR_NAMES:
        return _OPERATOR_NAMES[base]
    # sympy knows the Greek names (theta → \theta); a word such as Loss is set upright,
    # as one name (in italics it would read as the product L·o·s·s); anything else stays as written.
    text = sympy.latex(sympy.Symbol(base))
    if not text.isascii():  # θ written as θ: spelled as LaTeX, which every TeX engine and MathML reads
        return unicode_math(text)
    if len(base) > 1 and base.isalpha() and not text.startswith("\\"):
        return rf"\mathrm{{{base}}}"
    return text


def name_latex(name: str) -> str:
    """LaTeX for a symbol name, in the seeds' notation.

    >>> name_latex("w10"), name_latex("b2_1"), name_latex("theta1_1_2"), name_latex("Loss")
    ('w_{10}', 'b^{(2)}_{1}', '\\\\theta^{(1)}_{1,2}', '\\\\mathrm{Loss}')
    """
    if name.startswith(ADJOINT_PREFIX):
        inner = name_latex(name[len(ADJOINT_PREFIX):])
        m = re.match(r"^(\\?[A-Za-z]+(?:\{[^}]*\})?)(.*)$", inner)
        return rf"\bar{{{m.group(1)}}}{m.group(2)}" if m else rf"\bar{{{inner}}}"
    m = _LAYERED_MATRIX.match(name)
    if m:
        base, layer, i, j = m.groups()
        # Always a comma: θ⁽¹⁾₁₀ could be row 1, column 0 or row 10.
        return f"{_base_latex(base.lower() if base == 'W' else base)}^{{({layer})}}_{{{i},{j}}}"
    m = _LAYERED_VECTOR.match(name)
    if m:
        base, layer, i = m.groups()
        return f"{_base_latex(base)}^{{({layer})}}_{{{i}}}"
    m = _HAT.match(name)
    if m:
        base, idx = m.groups()
        return rf"\hat{{{_base_latex(base)}}}" + (f"_{{{idx}}}" if idx else "")
    m = _INDEXED.match(name)
    if m:
        base, idx = m.groups()
        if base in _OPERATOR_NAMES:
            return f"{_base_latex(base)}^{{({idx})}}"
        return f"{_base_latex(base)}_{{{idx}}}"
    return _base_latex(name)


def symbol_latex(symbol: sympy.Symbol) -> str:
    """LaTeX for one symbol (see :func:`name_latex`)."""
    return name_latex(symbol.name)


def partial_latex(of: sympy.Symbol, wrt: sympy.Symbol) -> str:
    """The partial derivative ∂of/∂wrt, as the left-hand side of a derivation.

    >>> from symgrad.model.names import real_symbol
    >>> partial_latex(real_symbol("Loss"), real_symbol("w7"))
    '\\\\frac{\\\\partial \\\\mathrm{Loss}}{\\\\partial w_{7}}'
    """
    return rf"\frac{{\partial {symbol_latex(of)}}}{{\partial {symbol_latex(wrt)}}}"


class SymgradLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer with the seeds' names, functions and term order."""

    def _print_Symbol(self, expr, style="plain"):
        return name_latex(expr.name)

    _print_Dummy = _print_Symbol

    def _function_name(self, func) -> str:
        row = fn.row_of(func)
        if row is not None and (func is row.builtin or func.__name__ == row.name):
            constants = fn.parameters_of(func)
            if not constants or constants == fn.parameters_of(row.builtin):
                return row.latex
            return row.latex + "_{" + ", ".join(self._print(v) for v in constants.values()) + "}"
        if func is fn.logsumexp:
            return r"\operatorname{logsumexp}"
        name = func.__name__
        return _base_latex(name) if len(name) == 1 or sympy.latex(sympy.Symbol(name)).startswith("\\") else rf"\operatorname{{{name}}}"

    def _call(self, name: str, args) -> str:
        inner = ", ".join(self._print(a) for a in args)
        if len(args) == 1 and (args[0].is_Atom or isinstance(args[0], sympy.Function)):
            return f"{name}({inner})"
        return rf"{name}\left({inner}\right)"

    def _print_Elementwise(self, expr, exp=None):
        text = self._call(self._function_name(type(expr)), expr.args)
        return f"{text}^{{{exp}}}" if exp else text

    def _print_Function(self, expr, exp=None):
        if isinstance(expr, (fn.Elementwise, fn.logsumexp)):
            return self._print_Elementwise(expr, exp)
        return super()._print_Function(expr, exp)

    def _print_logsumexp(self, expr, exp=None):
        return self._print_Elementwise(expr, exp)

    def _print_Heaviside(self, expr, exp=None):
        text = self._call(r"\operatorname{step}", expr.args[:1])
        return f"{text}^{{{exp}}}" if exp else text

    def _as_ordered_terms(self, expr, order=None):
        # Positive terms first, so (f̂1 − f1) and (1 − g(u)) read as in the seeds.
        terms = list(super()._as_ordered_terms(expr, order=order))
        return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]

    def _print_Mul(self, expr):
        # Plain products print as: coefficient, single factors, then bracketed sums,
        # e.g. 2 x_2 (x_1 x_2 − 3) and g(u_1) (1 − g(u_1)). Fractions go to sympy.
        coeff, factors = expr.as_coeff_mul()
        if any(f.is_Pow and f.exp.is_negative for f in factors) or not coeff.is_Integer:
            return super()._print_Mul(expr)
        singles = [f for f in factors if not f.is_Add]
        sums = [f for f in factors if f.is_Add]
        parts = [self.parenthesize(f, sympy.printing.precedence.PRECEDENCE["Mul"], strict=False) for f in singles]
        parts += [rf"\left({self._print(f)}\right)" for f in sums]
        body = " ".join(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return "- " + body
        return f"{self._print(coeff)} {body}"


_PRINTER = SymgradLatexPrinter()


def expr_latex(expr: sympy.Expr) -> str:
    """LaTeX of any expression with symgrad's names and order.

    >>> from symgrad.model.names import real_symbol
    >>> fhat1, f1 = real_symbol("fhat1"), real_symbol("f1")
    >>> expr_latex(fhat1 - f1)
    '\\\\hat{f}_{1} - f_{1}'
    """
    return _PRINTER.doprint(expr)


def expr_layout(expr: sympy.Expr) -> formula.Node:
    """``expr`` as a breakable formula (:mod:`symgrad.present.formula`) that prints as :func:`expr_latex` does.

    >>> from symgrad.model.names import real_symbol
    >>> x1, x2 = real_symbol("x1"), real_symbol("x2")
    >>> node = expr_layout(2*x2*(x1*x2 - 3))
    >>> formula.latex(node) == expr_latex(2*x2*(x1*x2 - 3)), [line.latex for line in formula.break_lines(node, 5)]
    (True, ['2 x_{2}', '\\\\left(x_{1} x_{2} - 3\\\\right)'])
    """
    return _layout(expr)


def _layout(expr) -> formula.Node:
    """The breakable form of ``expr``; wherever its structure is not the printer's, one Atom."""
    text = _PRINTER._print(expr)
    node = _structure(expr)
    return node if node is not None and formula.latex(node) == text else formula.Atom(text)


def _structure(expr) -> formula.Node | None:
    """Mirrors SymgradLatexPrinter on sums, plain products, one-argument functions and powers of sums."""
    P = _PRINTER
    if expr.is_Add:
        items = []
        for i, term in enumerate(P._as_ordered_terms(expr)):
            op = "+"
            if i > 0 and term.could_extract_minus_sign():
                op, term = "-", -term
            node = _layout(term)
            if P._needs_add_brackets(term):
                node = formula.Group(node)
            items.append((op, node))
        return formula.Chain(items[0][1], tuple(items[1:]))
    if expr.is_Mul:
        coeff, factors = expr.as_coeff_mul()
        if any(f.is_Pow and f.exp.is_negative for f in factors) or not coeff.is_Integer:
            return None
        parts: list[formula.Node] = []
        for f in (f for f in factors if not f.is_Add):
            text = P.parenthesize(f, sympy.printing.precedence.PRECEDENCE["Mul"], strict=False)
            node = _layout(f)
            parts.append(node if formula.latex(node) == text else formula.Atom(text))
        parts += [formula.Group(_layout(f)) for f in factors if f.is_Add]
        if coeff != 1:
            parts.insert(0, formula.Atom("-" if coeff == -1 else P._print(coeff)))
        return formula.join("", parts)
    if isinstance(expr, sympy.Function) and len(expr.args) == 1 and not (expr.args[0].is_Atom or isinstance(expr.args[0], sympy.Function)):
        if isinstance(expr, (fn.Elementwise, fn.logsumexp)):
            return formula.Group(_layout(expr.args[0]), prefix=P._function_name(type(expr)))
        if isinstance(expr, sympy.Heaviside):
            return formula.Group(_layout(expr.args[0]), prefix=r"\operatorname{step}")
        return None
    if expr.is_Pow and expr.base.is_Add and expr.exp.is_Integer and expr.exp > 0:
        return formula.Group(_layout(expr.base), suffix=f"^{{{P._print(expr.exp)}}}")
    return None


def _factor(expr: sympy.Expr) -> formula.Node:
    node = _layout(expr)
    return formula.Group(node) if expr.is_Add else node


# --------------------------------------------------------------------------- derivatives


def _latex_wrap(text: str, brackets: str) -> str:
    return rf"\left{brackets[0]}{text}\right{brackets[1]}"


def _chain_structure(derivative: "Derivative", leaf, wrap, times, plus, zero):
    """The factored derivative built from the sweep: adjoint first, then the local factor.

    The structure (which factors, which brackets) is the same in every notation:
    ``leaf(v)`` writes one expression, ``wrap(piece, "()" or "[]")`` brackets a sum,
    ``times``/``plus`` join a route's factors and the routes' terms.
    """
    sweep = derivative.sweep
    # Each piece is (piece, brackets): brackets is "" for a product, "()" for a single
    # sum such as (f̂1 − f1), "[]" for a sum over several chain-rule routes.
    memo: dict = {}

    def factor(v):
        return wrap(leaf(v), "()") if v.is_Add else leaf(v)

    def adjoint(t):
        """The inlined adjoint of step ``t``; None for the loss itself (its adjoint is 1)."""
        return (None, "") if t == sweep.loss else memo[t]

    def product(c, v):
        piece, brackets = adjoint(c)
        if piece is None:  # straight below the loss: the local factor alone, e.g. (f̂1 − f1)
            return leaf(v), "()" if v.is_Add else ""
        parts = [wrap(piece, brackets) if brackets else piece]
        if v != 1:
            parts.append(factor(v))
        return times(parts), ""

    # Each adjoint after those of the steps that consume it, from the loss down, without
    # recursion: a chain thousands of steps long is as deep.
    stack, seen = [(derivative.param, False)], set()
    while stack:
        t, consumers_done = stack.pop()
        if consumers_done:
            if t != derivative.param:
                terms = [product(c, v) for c, v in sweep.consumers[t]]
                memo[t] = terms[0] if len(terms) == 1 else (plus([piece for piece, _ in terms]), "[]")
        elif t not in seen:
            seen.add(t)
            stack.append((t, True))
            stack.extend((c, False) for c, _ in sweep.consumers.get(t, []) if c != sweep.loss and c not in seen)
    terms = [product(c, v)[0] for c, v in sweep.consumers.get(derivative.param, [])]
    return plus(terms) if terms else zero


def chain_ordered(derivative: "Derivative", expr=None, times: str = r" \cdot ", wrap=_latex_wrap) -> str:
    """The factored derivative printed from the sweep: adjoint first, then the local factor.

    ``expr`` prints one expression (LaTeX by default), ``times`` joins the factors of a
    chain-rule route and ``wrap(text, "()" or "[]")`` brackets a sum, so the Unicode
    form (:mod:`symgrad.present.text`) follows the LaTeX one exactly.
    """
    return _chain_structure(derivative, expr or expr_latex, wrap, times.join, " + ".join, "0")


def _chain_ordered(derivative: "Derivative") -> formula.Node:
    """:func:`chain_ordered` as a breakable formula (:mod:`symgrad.present.formula`)."""
    return _chain_structure(derivative, _layout, lambda node, b: formula.Group(node, b[0], b[1]),
                            lambda parts: formula.join(r"\cdot", parts), lambda terms: formula.join("+", terms), formula.Atom("0"))


def _is_activation_of(expr: sympy.Expr, s: sympy.Symbol) -> bool:
    return isinstance(expr, sympy.Function) and len(expr.args) == 1 and expr.args[0] == s


def _partial(of: sympy.Symbol, wrt: sympy.Symbol, network) -> str:
    expr = network.step_map.get(of)
    if expr is not None and _is_activation_of(expr, wrt):
        return rf"\frac{{d {_PRINTER._function_name(type(expr))}}}{{d {symbol_latex(wrt)}}}"
    return partial_latex(of, wrt)


def _coarse(path: "ChainPath", network) -> list[tuple[sympy.Symbol, sympy.Symbol]]:
    """The path's nodes with each pre-activation merged into its activation (seed 002's first line)."""
    nodes = list(path.nodes)
    keep = [nodes[0]]
    for above, node in zip(nodes, nodes[1:-1]):
        expr = network.step_map.get(above)
        if not (expr is not None and _is_activation_of(expr, node)):
            keep.append(node)
    keep.append(nodes[-1])
    return list(zip(keep, keep[1:]))


@hooks.provides
def derivative_latex(derivative: "Derivative", form: str = "factored") -> str:
    """LaTeX of a derivative: ``factored``, ``expanded``, or ``chain`` (a multi-line derivation).

    >>> from symgrad import Network
    >>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> derivative_latex(net.grad("x1"))
    '2 x_{2} \\\\left(x_{1} x_{2} - 3\\\\right)'
    """
    if form == "chain":
        return _chain_lines(derivative)
    return formula.latex(derivative_layout(derivative, form))


def derivative_layout(derivative: "Derivative", form: str = "factored") -> formula.Node:
    """A derivative's right-hand side as a breakable formula: ``factored`` or ``expanded``."""
    if form == "factored":
        return _chain_ordered(derivative)
    if form == "expanded":
        return _layout(derivative.expanded)
    raise SymgradError(f"unknown LaTeX form {form!r} (use 'factored', 'expanded' or 'chain')", token=str(form))


def _valued(path: "ChainPath") -> formula.Node:
    """A route's evaluated factors, leaving out the unit ones (∂u/∂b = 1) as a hand derivation does."""
    factors = [f.value for f in path.factors if f.value != 1] or [sympy.S.One]
    return formula.join(r"\cdot", [_factor(v) for v in factors])


@dataclass(frozen=True)
class Derivation:
    """A derivation as rows: ``lhs = rows[0] = rows[1] = …``, each row a breakable formula."""

    lhs: str
    rows: tuple[formula.Node, ...]

    def latex(self) -> str:
        """One ``aligned`` block, a row per line."""
        body = (r" \\" + "\n" + "&= ").join(formula.latex(r) for r in self.rows)
        return r"\begin{aligned}" + "\n" + f"{self.lhs} &= {body}" + "\n" + r"\end{aligned}"


def derivation(derivative: "Derivative") -> Derivation:
    """The chain-rule derivation of a derivative, as seed 002 writes it: the product of
    partials along each route, the local derivatives named, their values, and (where
    routes meet) the factored form that shares their common tail.

    >>> from symgrad import Network
    >>> d = derivation(Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").grad("x1"))
    >>> print(d.lhs, *(formula.latex(r) for r in d.rows), sep="\\n= ")
    \\frac{\\partial f}{\\partial x_{1}}
    = \\frac{\\partial f}{\\partial x_{1}}
    = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)
    """
    net = derivative.network
    paths = derivative.paths
    lhs = partial_latex(net.loss, derivative.param)
    if not paths:
        return Derivation(lhs, (formula.Atom("0"),))

    def partials(pairs) -> formula.Node:
        return formula.join(r"\cdot", [formula.Atom(_partial(a, b, net)) for a, b in pairs])

    coarse = formula.join("+", [partials(_coarse(p, net)) for p in paths])
    fine = formula.join("+", [partials((f.of, f.wrt) for f in p.factors) for p in paths])
    valued = formula.join("+", [_valued(p) for p in paths])
    rows = [coarse]
    if formula.latex(fine) != formula.latex(coarse):
        rows.append(fine)
    rows.append(valued)
    factored = _chain_ordered(derivative)
    if len(paths) > 1 and formula.latex(factored) != formula.latex(valued):
        rows.append(factored)
    return Derivation(lhs, tuple(rows))


def _chain_lines(derivative: "Derivative") -> str:
    d = derivation(derivative)
    if len(d.rows) == 1 and formula.latex(d.rows[0]) == "0" and not derivative.paths:
        return rf"\begin{{aligned}}{d.lhs} &= 0\end{{aligned}}"
    return d.latex()
