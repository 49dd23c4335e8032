r"""The arithmetic of a LaTeX formula, read into sympy over a network's symbols.

A :class:`Parser` reads any token range of a :class:`~.tokens.Formula` into one
sympy expression. It is a normalising pass, not a grammar: names, calls, brackets
and fractions become placeholders that already hold sympy expressions (the names
through a :class:`~.names.Lexicon`), and what is left between them is operator
precedence, which the pass writes as Python (explicit ``*`` for implicit products,
``**`` for powers) and gives to ``sympy.parse_expr``.

``g(u_1)`` applies a function; ``g'(u)``, ``\sigma'(z)``, ``g^{\prime}(u)`` and
``\frac{dg}{du_1}`` are its derivative; ``\frac{\partial h_1}{\partial u_2}`` is the
local derivative a chain-rule line writes (the numerator's definition expanded
through the steps that depend on the denominator, everything else held fixed);
``(\ldots)_w``, an evaluation subscript, is dropped.

Why not a LaTeX-to-sympy library: latex2sympy2_extended (1.11) was tried. It drops
primes silently (``\sigma'(z)`` becomes σ(z)), reads ``w^{(1)}_{23}`` as a power,
takes ``\log`` as base 10, reads ``2\frac12`` as 5/2, guesses whether ``h_1(w_7)``
is a call, and spends 0.1–0.6 s per bracket group, which alone breaks the 2 s
budget of a verdict.

>>> import symgrad as sg
>>> from symgrad.verification.reader.names import Lexicon
>>> from symgrad.verification.reader.tokens import Formula
>>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
>>> formula = Formula(r"(o - y)\, g'(u)\, x")
>>> Parser(net, formula, Lexicon(net)).expression(0, len(formula))
x*(1 - g(u))*(o - y)*g(u)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sympy
from sympy.parsing.sympy_parser import auto_number, parse_expr

from ...errors import ParseError, UnknownSymbolError
from ...model import functions as fn
from .names import ACCENTS, FONTS, FUNCTION_COMMANDS, GREEK, MULTI_ARGUMENT, Lexicon, Name, read_name
from .tokens import Formula, Token, column

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network

__all__ = ["FRACTIONS", "PRODUCTS", "Parser", "function_derivative", "partial"]

FRACTIONS = (r"\frac", r"\dfrac", r"\tfrac")
#: Operators that multiply.
PRODUCTS = ("*", r"\cdot", r"\times", r"\ast", r"\odot", r"\bullet")


class Parser:
    """Reads token ranges of one formula into sympy expressions over ``net``'s symbols."""

    def __init__(self, net: "Network", formula: Formula, lexicon: Lexicon):
        self.net = net
        self.formula = formula
        self.lexicon = lexicon

    def expression(self, start: int, stop: int) -> sympy.Expr:
        """The expression written by tokens ``start..stop``."""
        return _Term(self, start, stop).result()

    def name_at(self, i: int, end: int) -> tuple[Name | None, int]:
        return read_name(self.formula, i, end, self.lexicon)

    def derivative_fraction(self, i: int, end: int):
        """``\\frac{\\partial A}{\\partial B}`` or ``\\frac{dA}{dB}`` at ``i``: the ranges of A and B
        and the index after it; None if there is no derivative there."""
        f = self.formula
        i = f.skip(i, end)
        if i >= end or f[i].text not in FRACTIONS:
            return None
        na, nb, j = f.argument(i + 1, end, r"\frac")
        da, db, j = f.argument(j, end, r"\frac")
        num, den = self._after_d(na, nb), self._after_d(da, db)
        if num is None or den is None:
            return None
        return (num, nb), (den, db), j

    def _after_d(self, a: int, b: int) -> int | None:
        """Where the expression after a leading ∂ or d starts (None if the group does not start with one)."""
        f = self.formula
        a = f.skip(a, b)
        if a >= b:
            return None
        t = f[a]
        if t.text == r"\partial":
            if a + 1 < b and f[a + 1].text == "^":
                raise ParseError(f"{column(t)}: higher derivatives are not supported", token=f.source(a, b))
            return a + 1
        if t.category == "letter" and t.text == "d" and a + 1 < b and f[a + 1].category in ("letter", "cmd"):
            return a + 1
        if t.category == "cmd" and t.text in (r"\mathrm", r"\text", r"\operatorname") and f.group_text(*f.argument(a + 1, b, t.text)[:2]) == "d":
            return f.argument(a + 1, b, t.text)[2]
        return None

    def derivative(self, na: int, nb: int, da: int, db: int) -> sympy.Expr:
        """∂A/∂B of a chain-rule line: A's definition expanded through the steps that
        depend on B, differentiated with B held as the only variable that moves."""
        f = self.formula
        wrt_name, k = self.name_at(f.skip(da, db), db)
        if wrt_name is None or f.skip(k, db) != db:
            raise ParseError(f"differentiation with respect to {f.source(da, db)!r}: name one symbol", token=f.source(da, db))
        wrt = self.lexicon.symbol(wrt_name)
        if not isinstance(wrt, sympy.Symbol):
            raise ParseError(f"differentiation with respect to {wrt_name.text!r}, which is not a symbol of the network", token=wrt_name.text)
        first = f.skip(na, nb)
        name, k = self.name_at(first, nb) if first < nb else (None, first)
        if name is not None and f.skip(k, nb) == nb:
            func = self.lexicon.function(name)
            if func is not None:  # dg/du_1: the function's derivative at u_1
                return function_derivative(func, name.primes + 1, wrt)
        return partial(self.net, self.expression(na, nb), wrt)


class _Term:
    """The normalising pass over one range: names, calls, brackets and fractions become
    placeholders holding sympy expressions; the arithmetic between them is written as
    Python and given to ``sympy.parse_expr``."""

    def __init__(self, parser: Parser, start: int, stop: int):
        self.parser = parser
        self.f = parser.formula
        self.lexicon = parser.lexicon
        self.start, self.stop = start, stop
        self.parts: list[str] = []
        self.env: dict[str, sympy.Expr] = {}
        self.after_operand = False
        self.last_op: Token | None = None

    # -- output ---------------------------------------------------------------

    def _operand(self, expr: sympy.Expr) -> None:
        if self.after_operand:
            self.parts.append("*")  # implicit multiplication, made explicit
        name = f"_v{len(self.env)}"
        self.env[name] = sympy.sympify(expr)
        self.parts.append(name)
        self.after_operand = True

    def _operator(self, op: str, tok: Token) -> None:
        if not self.after_operand and op not in "+-":
            raise ParseError(f"{column(tok)}: '{tok.text}' has nothing on its left", token=tok.text)
        self.parts.append(op)
        self.after_operand = False
        self.last_op = tok

    def result(self) -> sympy.Expr:
        i = self.start
        while i < self.stop:
            i = self._step(i)
        if not self.parts:
            near = self.f[self.start - 1] if self.start > 0 else None
            raise ParseError(f"{column(near) + ': ' if near else ''}an empty formula or bracket", token=near.text if near else "")
        if not self.after_operand:
            tok = self.last_op
            raise ParseError(f"{column(tok)}: '{tok.text}' has nothing on its right", token=tok.text)
        text = " ".join(self.parts)
        try:
            expr = parse_expr(text, local_dict=dict(self.env), global_dict={"__builtins__": {}, "Integer": sympy.Integer},
                              transformations=(auto_number,))
        except (SyntaxError, TypeError, ValueError, ZeroDivisionError) as exc:  # pragma: no cover - the pass checks operators
            source = self.f.source(self.start, self.stop)
            raise ParseError(f"cannot read {source!r}: {exc}", token=source) from None
        return sympy.sympify(expr)

    # -- one token ------------------------------------------------------------

    def _step(self, i: int) -> int:
        t = self.f[i]
        if t.category in ("space", "newline"):
            return i + 1
        if self.f.is_opener(i):
            return self._bracket(i)
        if t.category == "char" and t.text == "{":
            close = self.f.pairs[i]
            self._operand(self.parser.expression(i + 1, close))
            return close + 1
        if t.category == "digit" or (t.text == "." and i + 1 < self.stop and self.f[i + 1].category == "digit"):
            return self._number(i)
        if t.category == "char" and t.text in "+-":
            self._operator(t.text, t)
            return i + 1
        if t.category == "char" and t.text == "/" or t.text == r"\div":
            self._operator("/", t)
            return i + 1
        if t.text in PRODUCTS:
            self._operator("*", t)
            return i + 1
        if t.category == "char" and t.text == "^":
            return self._power(i)
        if t.category == "char" and t.text == "_":
            raise ParseError(f"{column(t)}: a subscript on {self._previous(i)!r}, which is not a name", token="_")
        if t.text in FRACTIONS:
            return self._frac(i)
        if t.text == r"\sqrt":
            return self._sqrt(i)
        if t.category == "cmd" and t.text in FUNCTION_COMMANDS and t.text != r"\sigma":
            return self._call(FUNCTION_COMMANDS[t.text], 0, t.text, i + 1, braces_ok=True)
        if t.text == r"\pi":
            self._operand(sympy.pi)
            return i + 1
        if t.category == "letter" or (t.category == "cmd" and (t.text in ACCENTS or t.text in FONTS or t.text[1:] in GREEK)):
            return self._name(i)
        if t.text in (r"\partial", r"\nabla"):
            raise ParseError(f"{column(t)}: '{t.text}' outside a \\frac{{\\partial …}}{{\\partial …}}", token=t.text)
        if t.category in ("cmd", "sym"):
            raise ParseError(f"{column(t)}: unknown LaTeX command '{t.text}'", token=t.text)
        if t.text == ",":
            raise ParseError(f"{column(t)}: a comma; a claim is one scalar formula", token=",")
        raise ParseError(f"{column(t)}: unexpected {t.text!r}", token=t.text)

    def _previous(self, i: int) -> str:
        j = i - 1
        while j >= self.start and self.f[j].category in ("space", "newline"):
            j -= 1
        return self.f[j].text if j >= self.start else ""

    def _number(self, i: int) -> int:
        j = i
        seen_dot = False
        while j < self.stop and (self.f[j].category == "digit" or (self.f[j].text == "." and not seen_dot)):
            seen_dot |= self.f[j].text == "."
            j += 1
        text = "".join(t.text for t in self.f.tokens[i:j])
        if text.endswith("."):
            raise ParseError(f"{column(self.f[i])}: a number ending in '.': {text!r}", token=text)
        self._operand(sympy.Rational(text))  # exact: 0.5 is 1/2, so a symbolic proof stays exact
        return j

    def _bracket(self, i: int) -> int:
        close = self.f.pairs[i]
        value = self.parser.expression(self.f.inner_start(i), close)
        if self.f.opener_text(i) in ("|", r"\vert", r"\lvert"):
            value = sympy.Abs(value)
        self._operand(value)
        # (…)_w, "evaluated at the current w": the subscript is dropped.
        return self.f.after_bracket(close, self.stop)

    def _power(self, i: int) -> int:
        t = self.f[i]
        if not self.after_operand:
            raise ParseError(f"{column(t)}: '^' has nothing to raise", token="^")
        a, b, j = self.f.argument(i + 1, self.stop, "^")
        content = self.f.group_text(a, b)
        if content in ("T", r"\top", r"\intercal"):
            raise ParseError(f"{column(t)}: a transpose; verify takes a scalar element formula", token="^" + content)
        if content == r"\prime" or content == "'":
            raise ParseError(f"{column(t)}: a prime on {self._previous(i)!r}, which is not a function", token="'")
        exponent = self.parser.expression(a, b)
        name = f"_v{len(self.env)}"
        self.env[name] = exponent
        self.parts.append(f"**{name}")
        k = self.f.skip(j, self.stop)
        if k < self.stop and self.f[k].text == "^":
            raise ParseError(f"{column(self.f[k])}: a double superscript; use braces", token="^")
        return j

    def _frac(self, i: int) -> int:
        derivative = self.parser.derivative_fraction(i, self.stop)
        if derivative is not None:
            (na, nb), (da, db), j = derivative
            self._operand(self.parser.derivative(na, nb, da, db))
            return j
        na, nb, j = self.f.argument(i + 1, self.stop, self.f[i].text)
        da, db, j = self.f.argument(j, self.stop, self.f[i].text)
        self._operand(self.parser.expression(na, nb) / self.parser.expression(da, db))
        return j

    def _sqrt(self, i: int) -> int:
        j = self.f.skip(i + 1, self.stop)
        degree = sympy.Integer(2)
        if j < self.stop and self.f[j].text == "[":
            close = self.f.pairs[j]
            degree = self.parser.expression(j + 1, close)
            j = close + 1
        a, b, j = self.f.argument(j, self.stop, r"\sqrt")
        self._operand(self.parser.expression(a, b) ** (1 / degree))
        return j

    # -- names and calls ------------------------------------------------------

    def _name(self, i: int) -> int:
        name, j = self.parser.name_at(i, self.stop)
        run = i
        while run < self.stop and self.f[run].category == "letter":
            run += 1
        if run - i > 1 and j <= i + 1:
            # Not one name: TeX's reading, letter by letter (ab is a·b), when every letter is a name.
            word = self.f.source(i, run)
            for m in range(i, run - 1):
                single = Name(base=self.f[m].text, text=self.f[m].text)
                try:
                    if self.lexicon.function(single) is not None:
                        raise UnknownSymbolError(word, token=word)
                    self._operand(self.lexicon.symbol(single))
                except UnknownSymbolError:
                    raise UnknownSymbolError(
                        f"unknown name {word!r}: it is not a name of network {self.parser.net.name!r}, nor a product of its one-letter names"
                        + self.lexicon.table.suggestions(word),
                        token=word,
                    ) from None
            i = run - 1
            name, j = self.parser.name_at(i, self.stop)
        return self._named(name, i, j)

    def _named(self, name: Name, i: int, j: int) -> int:
        func = self.lexicon.function(name) if not name.index else None
        if self.lexicon.sigma_is_sigmoid(name):
            func = fn.sigmoid
        if func is not None:
            return self._call(func, name.primes, name.written, j, braces_ok=self.f[i].category == "cmd")
        self._operand(self.lexicon.symbol(name))
        return j

    def _call(self, func, primes: int, written: str, j: int, *, braces_ok: bool) -> int:
        """``F(arg)``, ``F'(arg)``, ``F^2(arg)``; commands also take ``\\ln x`` or ``\\exp{…}``."""
        f, parser = self.f, self.parser
        k = f.skip(j, self.stop)
        power = None
        while k < self.stop and f[k].text in ("'", "^"):
            if f[k].text == "'":
                primes += 1
                k = f.skip(k + 1, self.stop)
                continue
            a, b, k2 = f.argument(k + 1, self.stop, "^")
            content = f.group_text(a, b)
            if re.fullmatch(r"(\\prime)+", content):
                primes += content.count(r"\prime")
            elif content == "-1":
                raise ParseError(f"{column(f[k])}: an inverse function {written}^{{-1}}", token=f"{written}^{{-1}}")
            else:
                power = parser.expression(a, b)
            k = f.skip(k2, self.stop)
        if k < self.stop and f.is_opener(k):
            close = f.pairs[k]
            inner = f.inner_start(k)
            commas = [m for m in range(inner, close) if f[m].text == "," and not any(o < m < c for o, c in f.pairs.items() if inner <= o < close)]
            if commas and func not in MULTI_ARGUMENT:
                raise ParseError(f"{column(f[commas[0]])}: ',' in the argument of {written}, which takes one argument", token=",")
            bounds = [inner - 1] + commas + [close]
            args = [parser.expression(a + 1, b) for a, b in zip(bounds, bounds[1:])]
            if len(args) > 1:
                if primes:
                    raise ParseError(f"a prime on {written}, a function of several arguments", token=written)
                value = func(*args)
                self._operand(value if power is None else value**power)
                return f.after_bracket(close, self.stop)
            arg = args[0]
            end = f.after_bracket(close, self.stop)
        elif braces_ok and k < self.stop:
            start = k
            if f[k].text == "{":
                close = f.pairs[k]
                arg, end = parser.expression(k + 1, close), close + 1
            else:
                name, end = parser.name_at(k, self.stop)
                if name is None and f[k].category == "digit":
                    end = k + 1
                    while end < self.stop and f[end].category == "digit":
                        end += 1
                    arg = sympy.Integer(f.source(k, end))
                elif name is None:
                    raise ParseError(f"{column(f[start])}: {written} is followed by {f[start].text!r}, not an argument", token=written)
                else:
                    arg = self.lexicon.symbol(name)
        else:
            raise ParseError(f"'{written}' is a function: write its argument in brackets, e.g. {written}(u_1)", token=written)
        value = function_derivative(func, primes, arg) if primes else func(arg)
        self._operand(value if power is None else value**power)
        return end


# --------------------------------------------------------------------------- semantics


def function_derivative(func, order: int, at: sympy.Expr) -> sympy.Expr:
    """The ``order``-th derivative of a one-argument function at ``at`` (g' = g(1 − g) for a sigmoid).

    >>> function_derivative(sympy.tanh, 1, sympy.Symbol("u"))
    1 - tanh(u)**2
    """
    x = sympy.Dummy("x", real=True)
    d = func(x)
    for _ in range(order):
        d = d.diff(x)
    return d.xreplace({x: at})


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
    d = sympy.diff(expr.xreplace(full), wrt)
    # Fold the written-out steps in between back into their names: ∂h_1/∂w_1 = i_1 g'(u_2),
    # not g'(w_1 i_1 + …); the steps being differentiated stay written out (g(u_2), not h_1).
    for target in reversed(list(full)):
        if not full[target].is_Atom and target not in expr.free_symbols:
            d = d.xreplace({full[target]: target})
    return d
