"""LaTeX in the notation hand derivations use.

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

import functools
import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import sympy
from sympy.printing.latex import LatexPrinter

from .. import hooks
from ..errors import SymgradError
from ..model import functions as fn
from ..model import names
from ..model.names import ADJOINT_PREFIX, real_symbol
from . import formula
from .normalise import Notation, Product, Shown, Sum, render, sweep_tree, tidy, tidy_terms
from .output_terms import output_term
from .tex_text import unicode_math

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.derivative import Derivative
    from ..derive.sweep import ChainPath, LocalFactor

__all__ = [
    "FORMULA", "LATEX", "Derivation", "SymgradLatexPrinter", "chain_ordered", "chain_rows", "derivation", "derivative_latex", "derivative_layout",
    "expr_latex", "expr_layout", "name_latex", "partial_latex", "recognised_outputs", "route_latex", "symbol_latex",
]

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
    """LaTeX for a symbol name, as a hand derivation writes it.

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


def _named_operator(func) -> bool:
    """A function TeX has a command for (\\tanh, \\log, \\sin…), other than exp (printed e^{…})."""
    row = fn.row_of(func)
    return row is not None and func is row.builtin and row.name != "exp" and row.latex.startswith("\\") and row.latex[1:].isalpha()


class SymgradLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer with symgrad's names, functions and term order."""

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
        if _named_operator(type(expr)):
            # \tanh^{2}(u), as a textbook writes it (sympy: \tanh^{2}{\left(u \right)}).
            name = self._function_name(type(expr))
            return self._call(f"{name}^{{{exp}}}" if exp else name, expr.args)
        return super()._print_Function(expr, exp)

    def _print_logsumexp(self, expr, exp=None):
        return self._print_Elementwise(expr, exp)

    def _print_Heaviside(self, expr, exp=None):
        text = self._call(r"\operatorname{step}", expr.args[:1])
        return f"{text}^{{{exp}}}" if exp else text

    def _as_ordered_terms(self, expr, order=None):
        # Positive terms first, so (f̂1 − f1) and (1 − g(u)) read as a hand derivation writes them.
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


class _LatexNotation(Notation[str]):
    r"""The tidied tree in LaTeX: ``\cdot`` between the factors of a route, ``\left[ … \right]`` around routes."""

    def __init__(self):
        super().__init__(expr_latex, times=r" \cdot ", negate="- ")

    def wrap(self, body: str, brackets: str) -> str:
        return rf"\left{brackets[0]}{body}\right{brackets[1]}"


#: How :func:`chain_ordered` and the chain rows print in LaTeX.
LATEX = _LatexNotation()


class _FormulaNotation(Notation[formula.Node]):
    """The tidied tree as a breakable formula (:mod:`symgrad.present.formula`) that prints as :data:`LATEX` does."""

    def __init__(self):
        super().__init__(_layout)

    def wrap(self, body: formula.Node, brackets: str) -> formula.Node:
        return formula.Group(body, brackets[0], brackets[1])

    def product(self, parts: list) -> formula.Node:
        return formula.join(r"\cdot", parts)

    def juxtapose(self, number: formula.Node, part: formula.Node) -> formula.Node:
        return formula.join("", [number, part])

    def sum(self, items: list) -> formula.Node:
        (sign, first), rest = items[0], items[1:]
        if sign == "-":
            first = formula.join("", [formula.Atom("-"), first])
        return formula.Chain(first, tuple((s, part) for s, part in rest)) if rest else first


#: The same, as a breakable formula (reports break long derivatives at their outermost + and ·).
FORMULA = _FormulaNotation()


# --------------------------------------------------------------------------- derivatives


def chain_ordered(derivative: "Derivative", notation: Notation | None = None) -> str:
    """The factored derivative printed from the sweep: adjoint first, then the local factor.

    The structure (which factors, which brackets) is the same in every notation: the
    tree of :func:`symgrad.present.normalise.sweep_tree`, tidied; ``notation`` prints it
    (LaTeX by default), so the Unicode form (:mod:`symgrad.present.text`) follows the
    LaTeX one exactly.

    >>> from symgrad import Network
    >>> net = Network.from_equations("c = a + a*b; L = c**2/2", params="a b")
    >>> chain_ordered(net.grad("a"))
    'c \\\\cdot \\\\left(b + 1\\\\right)'
    """
    sweep = derivative.sweep
    return render(tidy(sweep_tree(sweep, derivative.param, recognised_outputs(derivative.network, sweep))), notation or LATEX)


_RECOGNISED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def recognised_outputs(network, sweep) -> dict[sympy.Symbol, sympy.Expr]:
    """The output adjoints of a layered network written as a reader recognises them, where
    that is shorter than the chain rule's product: x⁽ᴸ⁾ₖ − yₖ for a sigmoid under the binary
    cross-entropy (the sigmoid's derivative cancels), x⁽ᴸ⁾ₖ·Σy − yₖ for a softmax under the
    cross-entropy. Equal to the sweep's adjoints (the matrix form derives them); empty for
    other networks.
    """
    if sweep not in _RECOGNISED:
        found: dict[sympy.Symbol, sympy.Expr] = {}
        term = output_term(network)
        if term is not None and term.derivative is None:
            for k in range(1, term.units + 1):
                u = real_symbol(names.pre_activation_name(term.layer, k))
                if u in sweep.bar:
                    written = term.unit(network, k)
                    if sympy.count_ops(written) < sympy.count_ops(sweep.inline[u]):
                        found[u] = written
        _RECOGNISED[sweep] = found
    return _RECOGNISED[sweep]


def _is_activation_of(expr: sympy.Expr, s: sympy.Symbol) -> bool:
    return isinstance(expr, sympy.Function) and len(expr.args) == 1 and expr.args[0] == s


def _partial(of: sympy.Symbol, wrt: sympy.Symbol, network) -> str:
    expr = network.step_map.get(of)
    if expr is not None and _is_activation_of(expr, wrt):
        return rf"\frac{{d {_PRINTER._function_name(type(expr))}}}{{d {symbol_latex(wrt)}}}"
    return partial_latex(of, wrt)


def _coarse(path: "ChainPath", network) -> list[tuple["LocalFactor", ...]]:
    """The path's local factors grouped, each pre-activation merged into its activation
    (the first line of a hand derivation): ∂f̂₁/∂h₁ stands for ∂f̂₁/∂u₁ · ∂u₁/∂h₁."""
    groups: list[list] = []
    for f in path.factors:
        if groups and _is_activation_of(network.step_map.get(groups[-1][-1].of), f.of):
            groups[-1].append(f)
        else:
            groups.append([f])
    return [tuple(g) for g in groups]


def _partial_factors(group: tuple, network, routes: Callable[[sympy.Symbol, sympy.Symbol], int]) -> list:
    """The factors that stand for a group of local partials in a chain row.

    ``∂a/∂b`` reads as the derivative of a with respect to b along *every* route between
    them; where more than one route joins them (a step that reaches the loss both
    directly and through other steps), the row writes this route's local value instead,
    so that no line counts a route twice when read as ordinary mathematics.
    """
    top, bottom = group[0].of, group[-1].wrt
    if routes(bottom, top) == 1:
        return [Shown(_partial(top, bottom, network))]
    if len(group) > 1:
        return [g for f in group for g in _partial_factors((f,), network, routes)]
    return [group[0].value]


@hooks.provides
def derivative_latex(derivative: "Derivative", form: str = "factored") -> str:
    """LaTeX of a derivative: ``factored``, ``expanded``, ``chain`` (a multi-line derivation)
    or ``delta`` (a product of named adjoints δ, then their definitions, one line each).

    >>> from symgrad import Network
    >>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> derivative_latex(net.grad("x1"))
    '2 x_{2} \\\\left(x_{1} x_{2} - 3\\\\right)'
    """
    if form == "factored":
        return chain_ordered(derivative)
    if form == "expanded":
        return expr_latex(derivative.expanded)
    if form == "chain":
        return _chain_lines(derivative)
    if form == "delta":
        return hooks.derivative_delta(derivative, "latex")
    raise SymgradError(f"unknown LaTeX form {form!r} (use 'factored', 'expanded', 'chain' or 'delta')", token=str(form))


def derivative_layout(derivative: "Derivative", form: str = "factored") -> formula.Node:
    """A derivative's right-hand side as a breakable formula: ``factored`` or ``expanded``."""
    if form == "factored":
        return chain_ordered(derivative, FORMULA)
    if form == "expanded":
        return _layout(derivative.expanded)
    raise SymgradError(f"unknown LaTeX form {form!r} (use 'factored' or 'expanded')", token=str(form))


def _rows(derivative: "Derivative", notation: Notation) -> list:
    """The chain-rule derivation's right-hand sides in ``notation``: the product of partials
    along each route (coarse, then with every local derivative named), their values, and
    (where routes meet) the factored form; a row equal to the one before is left out."""
    net = derivative.network
    paths = derivative.paths
    if not paths:
        return [notation.expr(sympy.S.Zero)]
    routes = functools.partial(derivative.sweep.route_count, memo={})
    coarse = Sum(tuple(Product(tuple(f for g in _coarse(p, net) for f in _partial_factors(g, net, routes))) for p in paths))
    fine = Sum(tuple(Product(tuple(f for lf in p.factors for f in _partial_factors((lf,), net, routes))) for p in paths))
    valued = Sum(tuple(Product(tuple(f.value for f in p.factors)) for p in paths))
    candidates = [render(tidy_terms(coarse), notation), render(tidy_terms(fine), notation), render(tidy_terms(valued), notation),
                  chain_ordered(derivative, notation)]
    rows, shown = [], []
    for row in candidates:
        text = render_latex(row)
        if not shown or text != shown[-1]:
            rows.append(row)
            shown.append(text)
    return rows


def render_latex(piece) -> str:
    """A printed piece as LaTeX text, whether a string or a breakable formula."""
    return piece if isinstance(piece, str) else formula.latex(piece)


def chain_rows(derivative: "Derivative") -> list[str]:
    """The right-hand sides of the chain-rule derivation, one per row (see :func:`derivation`)."""
    return _rows(derivative, LATEX)


def route_latex(path: "ChainPath") -> str:
    """One chain-rule route's product of local derivatives, tidied (numbers folded, signs in front).

    >>> from symgrad import Network
    >>> net = Network.from_equations("h = 2*w; L = (3 - h)**2/2", params="w")
    >>> route_latex(net.grad("w").paths[0])
    '2 \\\\left(h - 3\\\\right)'
    """
    return render(tidy(Product(tuple(f.value for f in path.factors))), LATEX)


@dataclass(frozen=True)
class Derivation:
    """A derivation as rows: ``lhs = rows[0] = rows[1] = …``, each row a breakable formula."""

    lhs: str
    rows: tuple[formula.Node, ...]

    def pairs(self) -> list[tuple[str | None, formula.Node]]:
        """``(left side or None, right side)`` per line: ``lhs = row₁``, then ``= row₂`` …"""
        return [(self.lhs, self.rows[0])] + [(None, r) for r in self.rows[1:]]

    def latex(self) -> str:
        """One ``aligned`` block, a row per line."""
        body = (r" \\" + "\n" + "&= ").join(formula.latex(r) for r in self.rows)
        return r"\begin{aligned}" + "\n" + f"{self.lhs} &= {body}" + "\n" + r"\end{aligned}"


def derivation(derivative: "Derivative") -> Derivation:
    """The chain-rule derivation of a derivative, as a hand derivation writes it: the product
    of partials along each route, the local derivatives named, their values, and (where
    routes meet) the factored form that shares their common tail.

    >>> from symgrad import Network
    >>> d = derivation(Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").grad("x1"))
    >>> print(d.lhs, *(formula.latex(r) for r in d.rows), sep="\\n= ")
    \\frac{\\partial f}{\\partial x_{1}}
    = \\frac{\\partial f}{\\partial x_{1}}
    = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)
    """
    return Derivation(partial_latex(derivative.network.loss, derivative.param), tuple(_rows(derivative, FORMULA)))


def _chain_lines(derivative: "Derivative") -> str:
    if not derivative.paths:
        return rf"\begin{{aligned}}{partial_latex(derivative.network.loss, derivative.param)} &= 0\end{{aligned}}"
    return derivation(derivative).latex()
