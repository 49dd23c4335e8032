"""Plain Unicode text of derivatives, for terminals, logs and ``print(d)``.

The same factored structure as the LaTeX form (:func:`symgrad.present.latex.chain_ordered`),
in characters a terminal shows: ``−`` for minus, ``·`` between the factors of a
chain-rule route, superscript powers, and the user's names with a hat where a name
says ``hat`` (``fhat1`` → ``f̂1``).

>>> import symgrad as sg
>>> net = sg.Network.from_equations('''
...     fhat1 = g(u1)
...     u1 = w7*h1 + b1
...     Loss = (fhat1 - f1)**2 / 2
... ''', params="w7 b1", inputs="h1", targets="f1", functions={"g": "sigmoid"})
>>> print(derivative_text(net.grad("w7")))
∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from .. import hooks
from ..errors import SymgradError
from ..model import functions as fn
from ..model.names import ADJOINT_PREFIX
from .latex import chain_ordered
from .normalise import Notation

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.derivative import Derivative

__all__ = ["TEXT", "derivative_text", "expr_text", "name_text", "partial_text"]

_HAT = re.compile(r"^([A-Za-z]+?)hat(\d*)$")  # fhat1, yhat
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MINUS = "−"
def name_text(name: str) -> str:
    """A symbol's name as text: the user's name, with ``hat`` as a combining circumflex
    and an adjoint ``bar_s`` as s̄.

    >>> name_text("fhat1"), name_text("w10"), name_text("bar_u1")
    ('f̂1', 'w10', 'ū1')
    """
    if name.startswith(ADJOINT_PREFIX):
        inner = name_text(name[len(ADJOINT_PREFIX):])
        return inner[0] + "\u0304" + inner[1:]
    m = _HAT.match(name)
    if m:
        base, idx = m.groups()
        return base + "\u0302" + idx
    return name


def partial_text(of: sympy.Symbol, wrt: sympy.Symbol) -> str:
    """∂of/∂wrt as text.

    >>> from symgrad.model.names import real_symbol
    >>> partial_text(real_symbol("Loss"), real_symbol("fhat1"))
    '∂Loss/∂f̂1'
    """
    return f"∂{name_text(of.name)}/∂{name_text(wrt.name)}"


class _TextPrinter(StrPrinter):
    """sympy's string printer in the notation of a hand derivation: juxtaposed products,
    positive terms first, − for minus, superscript integer powers, σ for the sigmoid."""

    def _print_Symbol(self, expr):
        return name_text(expr.name)

    _print_Dummy = _print_Symbol

    def _function_name(self, func) -> str:
        row = fn.row_of(func)
        if row is not None and func is row.builtin:
            return row.text or row.name
        return func.__name__  # logsumexp, and a function the text calls by its own name

    def _print_Function(self, expr):
        return f"{self._function_name(type(expr))}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Add(self, expr, order=None):
        # Positive terms first, so (f̂1 − f1) and (1 − g(u)) read as a hand derivation writes them.
        terms = list(self._as_ordered_terms(expr, order=order))
        terms = [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]
        out = ""
        for i, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            text = self._print(-term if negative else term)
            if precedence(-term if negative else term) < PRECEDENCE["Add"]:
                text = f"({text})"
            if i == 0:
                out = f"{_MINUS}{text}" if negative else text
            else:
                out += f" {_MINUS} {text}" if negative else f" + {text}"
        return out

    def _print_Mul(self, expr):
        coeff, factors = expr.as_coeff_mul()
        if coeff.is_negative:
            rest = sympy.Mul(-coeff, *factors, evaluate=False) if -coeff != 1 else sympy.Mul(*factors)
            # −(t − o), not −t − o: a negated sum keeps its brackets.
            return _MINUS + (f"({self._print(rest)})" if rest.is_Add else self._print(rest))
        numer = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        denom = [1 / f for f in factors if f.is_Pow and f.exp.is_negative]
        if coeff.is_Rational and coeff.q != 1:
            denom.insert(0, sympy.Integer(coeff.q))
            coeff = sympy.Integer(coeff.p)
        top = self._juxtapose(coeff, numer)
        if not denom:
            return top
        bottom = self._juxtapose(sympy.S.One, denom)
        if len(denom) > 1 or denom[0].is_Mul:  # a single sum is bracketed already
            bottom = f"({bottom})"
        if len(numer) + (coeff != 1) > 1:  # a product over a denominator: (2 x)/y
            top = f"({top})"
        return f"{top}/{bottom}"

    def _juxtapose(self, coeff, factors) -> str:
        """Coefficient, single factors, then bracketed sums: 2 x2 (x1 x2 − 3), g(u1)(1 − g(u1))."""
        singles = [f for f in factors if not f.is_Add]
        sums = [f for f in factors if f.is_Add]
        parts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in singles]
        parts += [f"({self._print(f)})" for f in sums]
        if coeff != 1 or not parts:
            parts.insert(0, self._print(coeff))
        out = parts[0]
        for part in parts[1:]:
            out += part if part.startswith("(") and out.endswith(")") else " " + part
        return out

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == sympy.S.Half:
            return f"√({self._print(base)})" if not base.is_Atom else f"√{self._print(base)}"
        if exp.is_negative:
            return f"1/{self.parenthesize(sympy.Pow(base, -exp), PRECEDENCE['Mul'], strict=True)}"
        text = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if exp.is_Integer:
            return text + str(exp).translate(_SUPERSCRIPTS)
        return f"{text}^{self.parenthesize(exp, PRECEDENCE['Pow'], strict=True)}"

    def _print_Rational(self, expr):
        text = f"{expr.p}/{expr.q}" if expr.q != 1 else str(expr.p)
        return text.replace("-", _MINUS)

    def _print_Integer(self, expr):
        return str(expr.p).replace("-", _MINUS)

    def _print_Exp1(self, expr):
        return "e"


_PRINTER = _TextPrinter()


def expr_text(expr: sympy.Expr) -> str:
    """Any expression as text, in symgrad's names and order.

    >>> from symgrad.model.names import real_symbol
    >>> x1, x2 = real_symbol("x1"), real_symbol("x2")
    >>> expr_text(2*x2*(x1*x2 - 3)), expr_text((x1 - x2)**2 / 2)
    ('2 x2 (x1 x2 − 3)', '(x1 − x2)²/2')
    """
    return _PRINTER.doprint(expr)


class _TextNotation(Notation[str]):
    """The tidied tree in text: ``·`` between the factors of a route, − for minus."""

    def __init__(self):
        super().__init__(expr_text, times=" · ", minus=f" {_MINUS} ", negate=_MINUS)


#: How :func:`derivative_text` prints the tidied tree.
TEXT = _TextNotation()


@hooks.provides
def derivative_text(derivative: "Derivative", form: str = "factored") -> str:
    """The derivative as text, ``∂Loss/∂w7 = …``: ``"factored"`` (one line in the named
    intermediates, the structure of ``d.latex()``), ``"expanded"`` (one line), or ``"delta"``
    (a product of named adjoints δ, then their definitions, one line each)."""
    lhs = partial_text(derivative.network.loss, derivative.param)
    if form == "factored":
        body = chain_ordered(derivative, TEXT)
    elif form == "expanded":
        body = expr_text(derivative.expanded)
    elif form == "delta":
        return hooks.derivative_delta(derivative, "text")
    else:
        raise SymgradError(f"unknown text form {form!r} (use 'factored', 'expanded' or 'delta')", token=str(form))
    return f"{lhs} = {body}"
