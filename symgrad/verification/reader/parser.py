r"""The arithmetic of a LaTeX formula, read into values over a network's symbols.

A :class:`Parser` reads any token range of a :class:`~.tokens.Formula` into one value:
a sympy expression, or a :class:`~.matrices.Matrix` for a matrix-form claim. It is a
normalising pass, not a grammar: names, calls, brackets, fractions, derivatives and
sums become placeholders that already hold values (names through a
:class:`~.lexicon.Lexicon`), and what is left between them is operator precedence,
which the pass writes as Python (explicit ``*`` for implicit products, ``**`` for
powers, ``@`` for ⊙, ``%`` for ⊘) and gives to ``sympy.parse_expr``.

``g(u_1)`` applies a function; ``g'(u)``, ``\sigma'(z)``, ``\tanh'(z)`` and
``g^{\prime}(u)`` are its derivative; derivatives are :mod:`.calculus`'s;
``\sum_{k=1}^{4}`` is written out, and ``\sum_k`` over a generic index runs as far as
the names in it go; ``(\ldots)_w``, an evaluation subscript, is dropped. Each
construct it does not read is an error that names it and says what to write.

Why not a LaTeX-to-sympy library: latex2sympy2_extended (1.11) was tried. It drops
primes silently (``\sigma'(z)`` becomes σ(z)), reads ``w^{(1)}_{23}`` as a power,
takes ``\log`` as base 10, reads ``2\frac12`` as 5/2, guesses whether ``h_1(w_7)``
is a call, and spends 0.1–0.6 s per bracket group, which alone breaks the 2 s
budget of a verdict.

>>> import symgrad as sg
>>> from symgrad.verification.reader.lexicon import Lexicon
>>> from symgrad.verification.reader.tokens import Formula
>>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
>>> formula = Formula(r"(o - y)\, g'(u)\, x")
>>> Parser(net, formula, Lexicon(net)).expression(0, len(formula))
x*(1 - g(u))*(o - y)*g(u)
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING

import sympy
from sympy.parsing.sympy_parser import auto_number, parse_expr

from ...errors import ParseError, SymgradError, UnknownSymbolError
from ...model import functions as fn
from . import calculus
from .layered import LayerActivation
from .lexicon import INDEX_LETTERS, IndexOutOfRange, Lexicon, index_letters
from .matrices import Matrix, Ones, ShapeMismatch, is_matrix
from .names import ACCENTS, BOLD, FONTS, FUNCTION_COMMANDS, GREEK, MULTI_ARGUMENT, Name, read_name
from .tokens import Formula, Token, column

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network

__all__ = ["MAX_DIGITS", "PRODUCTS", "Parser", "RangeMismatch", "function_derivative", "partial"]

function_derivative = calculus.function_derivative
partial = calculus.partial

#: Operators that multiply (⊙ multiplies entry by entry).
PRODUCTS = ("*", r"\cdot", r"\times", r"\ast", r"\odot", r"\bullet", r"\circ")
#: Longest number a claim may write, and the most digits a power of numbers may have: bigger
#: literals are refused before they are evaluated (10^{10^{10}} would never finish).
MAX_DIGITS = 1000
_MAX_EXPONENT = 10_000

# Constructs the reader does not take, what each is and what to write instead.
_UNSUPPORTED = {
    r"\int": "an integral: symgrad checks derivatives; write the derivative's formula",
    r"\prod": "a product over an index: write its factors out",
    r"\lim": "a limit: write the derivative's formula",
    r"\approx": "'≈': a derivation's lines must be equal; write '='",
    r"\equiv": "'≡': write '='",
    r"\coloneqq": "':=': write '='",
    r"\triangleq": "'≜': write '='",
    r"\propto": "'∝': a claim must be an equation, constants included; write '='",
    r"\leq": "an inequality: a claim is an equation", r"\geq": "an inequality: a claim is an equation",
    r"\le": "an inequality: a claim is an equation", r"\ge": "an inequality: a claim is an equation",
    r"\neq": "'≠': a claim is an equation",
    r"\otimes": "a Kronecker or outer product: write an outer product as a b^T",
    r"\to": "an arrow: write the formula it leads to", r"\rightarrow": "an arrow: write the formula it leads to",
    r"\mapsto": "an arrow: write the formula it leads to", r"\Rightarrow": "an arrow: write the formula it leads to",
    r"\forall": "'for all': a generic index (i, j, k, l) is checked for every value without it; leave it out",
    r"\in": "'∈': a generic index (i, j, k, l) is checked for every value without it; leave it out",
    r"\pm": "'±' makes two formulas: write one", r"\mp": "'∓' makes two formulas: write one",
    r"\infty": "infinity: a derivative's formula is finite",
    r"\det": "a determinant: write the scalar formula", r"\operatorname{tr}": "a trace: write the sum",
    r"\vdots": "an ellipsis: write the formula out in full", r"\ddots": "an ellipsis: write the formula out in full",
    r"\binom": "a binomial coefficient: write it as a number",
    r"\mathbb": "a blackboard-bold set: a claim is a formula, not a set",
}


class RangeMismatch(IndexOutOfRange):
    """The names of one sum run over different ranges of its index (a slip: a swapped index, a wrong layer)."""


class Parser:
    """Reads token ranges of one formula into values over ``net``'s symbols.

    ``names_read`` lists every name read, as ``(token index, Name, value)``: the
    diagnosis changes them one at a time to find a slip.
    """

    def __init__(self, net: "Network", formula: Formula, lexicon: Lexicon, deadline: float | None = None):
        self.net = net
        self.formula = formula
        self.lexicon = lexicon
        self.deadline = deadline
        self.names_read: list[tuple[int, Name, object]] = []

    def expression(self, start: int, stop: int):
        """The value written by tokens ``start..stop``."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ParseError(f"reading the formula takes too long ({len(self.formula):,} tokens); verify one derivative at a time",
                             token=self.formula.source(start, min(stop, start + 8)))
        return _Term(self, start, stop).result()

    def name_at(self, i: int, end: int) -> tuple[Name | None, int]:
        return read_name(self.formula, i, end, self.lexicon)

    def derivative_fraction(self, i: int, end: int):
        return calculus.derivative_fraction(self, i, end)

    def resolve_function(self, func, arg, whole_layer: bool = False):
        """``f`` of a network whose layers differ is read off its argument's layer."""
        return func.for_argument(arg, whole_layer) if isinstance(func, LayerActivation) else func

    def apply(self, func, primes: int, arg, written: str, whole_layer: bool = False):
        """``func`` (or its ``primes``-th derivative) at ``arg``, entry by entry for a matrix."""
        if isinstance(arg, Matrix):
            return arg.applyfunc(lambda e: self.apply(func, primes, e, written, whole_layer=True))
        if isinstance(arg, Ones):
            raise ShapeMismatch(f"{written} of a vector of ones whose length nothing fixes", token=written)
        func = self.resolve_function(func, arg, whole_layer)
        return function_derivative(func, primes, arg) if primes else func(arg)


def _top_level_commas(f: Formula, a: int, b: int) -> list[int]:
    """The commas in tokens ``a..b`` outside any bracket (the separators of a call's arguments)."""
    out, j = [], a
    while j < b:
        if j in f.pairs:
            j = f.pairs[j] + 1
            continue
        if f[j].text == ",":
            out.append(j)
        j += 1
    return out


def _softmax(arg, written: str):
    if not isinstance(arg, Matrix) or 1 not in arg.shape:
        raise ParseError(f"{written} takes a vector", token=written)
    exps = arg.applyfunc(sympy.exp)
    total = sympy.Add(*exps.entries)
    return exps.applyfunc(lambda e: e / total)


class _Term:
    """The normalising pass over one range: operands become placeholders holding values;
    the arithmetic between them is written as Python and given to ``sympy.parse_expr``."""

    def __init__(self, parser: Parser, start: int, stop: int):
        self.parser = parser
        self.f = parser.formula
        self.lexicon = parser.lexicon
        self.start, self.stop = start, stop
        self.parts: list[str] = []
        self.env: dict[str, object] = {}
        self.after_operand = False
        self.last_op: Token | None = None

    # -- output ---------------------------------------------------------------

    def _operand(self, value) -> None:
        if self.after_operand:
            self.parts.append("*")  # implicit multiplication, made explicit
        name = f"_v{len(self.env)}"
        self.env[name] = value if is_matrix(value) else sympy.sympify(value)
        self.parts.append(name)
        self.after_operand = True

    def _operator(self, op: str, tok: Token) -> None:
        if not self.after_operand and op not in "+-":
            raise ParseError(f"{column(tok)}: '{tok.text}' has nothing on its left", token=tok.text)
        self.parts.append(op)
        self.after_operand = False
        self.last_op = tok

    def result(self):
        i = self.start
        while i < self.stop:
            i = self._step(i)
        if not self.parts:
            near = self.f[self.start - 1] if self.start > 0 else None
            raise ParseError(f"{column(near) + ': ' if near else ''}an empty formula or bracket", token=near.text if near else "")
        if not self.after_operand:
            tok = self.last_op
            raise ParseError(f"{column(tok)}: '{tok.text}' has nothing on its right", token=tok.text)
        matrices = any(is_matrix(v) for v in self.env.values())
        text = " ".join(self.parts)
        if not matrices:
            text = text.replace("@", "*").replace("%", "/")  # ⊙ and ⊘ of scalars are plain products
        source = self.f.source(self.start, self.stop)
        try:
            value = parse_expr(text, local_dict=dict(self.env), global_dict={"__builtins__": {}, "Integer": sympy.Integer},
                               transformations=(auto_number,))
        except ShapeMismatch as error:
            raise ShapeMismatch(f"{source!r}: {error}", token=source) from None
        except RecursionError:  # Python's compiler, on thousands of operators in one chain
            raise ParseError(f"{len(self.parts) // 2:,} operators in one chain: too many to read; split the formula into lines",
                             token=source[:20]) from None
        except (SyntaxError, TypeError, ValueError, ZeroDivisionError) as exc:  # pragma: no cover - the pass checks operators
            raise ParseError(f"cannot read {source!r}: {exc}", token=source) from None
        if isinstance(value, Ones):
            raise ShapeMismatch(f"{source!r} is a vector of ones whose length nothing fixes", token=source)
        return value if is_matrix(value) else sympy.sympify(value)

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
        if t.text == r"\odot":
            self._operator("@", t)
            return i + 1
        if t.text == r"\oslash":
            self._operator("%", t)
            return i + 1
        if t.text in PRODUCTS:
            self._operator("*", t)
            return i + 1
        if t.category == "char" and t.text == "^":
            return self._power(i)
        if t.category == "char" and t.text == "_":
            raise ParseError(f"{column(t)}: a subscript on {self._previous(i)!r}, which is not a name", token="_")
        if t.text in calculus.FRACTIONS:
            return self._frac(i)
        if t.text == r"\sqrt":
            return self._sqrt(i)
        if t.text == r"\sum":
            return self._sum(i)
        if t.text == r"\nabla":
            value, j = calculus.nabla(self.parser, i, self.stop)
            self._operand(value)
            return j
        if t.text == r"\partial" or (t.category == "letter" and t.text == "d") or (t.text in (r"\mathrm", r"\text") and self._is_upright_d(i)):
            found = calculus.slash_derivative(self.parser, i, self.stop)
            if found is not None:
                self._operand(found[0])
                return found[1]
            if t.text == r"\partial":
                raise ParseError(
                    f"{column(t)}: '\\partial' outside a derivative: write \\frac{{\\partial A}}{{\\partial B}} or \\partial A/\\partial B",
                    token=t.text,
                )
        if t.category == "cmd" and t.text in BOLD and self._is_ones(i):
            return self._ones(i)
        if t.category == "cmd" and t.text in FUNCTION_COMMANDS and t.text != r"\sigma":
            return self._call(FUNCTION_COMMANDS[t.text], 0, t.text, i + 1, braces_ok=True)
        if t.text == r"\pi":
            self._operand(sympy.pi)
            return i + 1
        if t.category == "letter" or (t.category == "cmd" and (t.text in ACCENTS or t.text in FONTS or t.text[1:] in GREEK)):
            return self._name(i)
        if t.category in ("cmd", "sym"):
            return self._unsupported(i)
        if t.text == ",":
            raise ParseError(f"{column(t)}: a comma; a claim is one formula (write one entry, or a sum)", token=",")
        if t.text == "=":
            raise ParseError(f"{column(t)}: '=' inside braces; an equation's sides are written outside any bracket", token="=")
        if t.text in ("<", ">"):
            raise ParseError(f"{column(t)}: an inequality ('{t.text}'): a claim is an equation", token=t.text)
        raise ParseError(f"{column(t)}: unexpected {t.text!r}", token=t.text)

    def _unsupported(self, i: int) -> int:
        t = self.f[i]
        text = t.text
        if t.text in (r"\operatorname", r"\mathrm"):
            text = f"{t.text}{{{self.f.group_text(*self.f.argument(i + 1, self.stop, t.text)[:2])}}}"
        if text in _UNSUPPORTED or t.text in _UNSUPPORTED:
            raise ParseError(f"{column(t)}: '{text}' is {_UNSUPPORTED.get(text) or _UNSUPPORTED[t.text]}", token=text)
        raise ParseError(
            f"{column(t)}: unknown LaTeX command '{t.text}'; a claim is written with + - \\cdot \\times \\odot / \\frac \\sqrt ^ _, "
            "brackets, \\sum, derivatives (\\frac{\\partial A}{\\partial B}, \\nabla_{W} L), function commands such as \\exp \\log \\tanh "
            "\\sigma \\operatorname{ReLU}, and names",
            token=t.text,
        )

    def _is_upright_d(self, i: int) -> bool:
        return self.f.group_text(*self.f.argument(i + 1, self.stop, self.f[i].text)[:2]) == "d"

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
        if len(text) > MAX_DIGITS:
            raise ParseError(f"{column(self.f[i])}: a number of {len(text)} digits (more than {MAX_DIGITS})", token=text[:20] + "…")
        self._operand(sympy.Rational(text))  # exact: 0.5 is 1/2, so a symbolic proof stays exact
        return j

    def _bracket(self, i: int) -> int:
        close = self.f.pairs[i]
        value = self.parser.expression(self.f.inner_start(i), close)
        opener = self.f.opener_text(i)
        if opener in ("|", r"\vert", r"\lvert"):
            value = value.applyfunc(sympy.Abs) if isinstance(value, Matrix) else sympy.Abs(value)
        elif opener in (r"\|", r"\Vert", r"\lVert"):
            value = value.norm() if isinstance(value, Matrix) else sympy.Abs(value)
        self._operand(value)
        # (…)_w, "evaluated at the current w": the subscript is dropped.
        return self.f.after_bracket(close, self.stop)

    def _power(self, i: int) -> int:
        t = self.f[i]
        if not self.after_operand:
            raise ParseError(f"{column(t)}: '^' has nothing to raise", token="^")
        a, b, j = self.f.argument(i + 1, self.stop, "^")
        content = self.f.group_text(a, b)
        base_name = self.parts[-1]
        base = self.env.get(base_name)
        if content in ("T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}"):
            if not is_matrix(base) and self.lexicon.used_matrices:
                return self._no_second_superscript(j)  # a 1×1 product (xᵀy) transposed: itself
            if not is_matrix(base):
                raise ParseError(f"{column(t)}: a transpose of a scalar; verify takes a scalar element formula or a matrix formula", token="^" + content)
            self.env[base_name] = base.T
            return self._no_second_superscript(j)
        if content == r"\prime" or content == "'":
            raise ParseError(f"{column(t)}: a prime on {self._previous(i)!r}, which is not a function", token="'")
        hadamard = re.fullmatch(r"\\circ(.*)", content)
        if hadamard:
            exponent = self.parser.expression(a + 1, b)
            self.env[base_name] = base.elementwise_power(exponent) if isinstance(base, Matrix) else base**exponent
            return self._no_second_superscript(j)
        exponent = self.parser.expression(a, b)
        self._check_size(base, exponent, t)
        name = f"_v{len(self.env)}"
        self.env[name] = exponent
        self.parts.append(f"**{name}")
        return self._no_second_superscript(j)

    def _no_second_superscript(self, j: int) -> int:
        k = self.f.skip(j, self.stop)
        if k < self.stop and self.f[k].text == "^":
            raise ParseError(f"{column(self.f[k])}: a double superscript; use braces", token="^")
        return j

    @staticmethod
    def _check_size(base, exponent, tok: Token) -> None:
        """Refuse a power whose value would be too large to write, before sympy computes it."""
        if not (isinstance(exponent, sympy.Expr) and exponent.is_number and exponent.is_real):
            return
        e = abs(float(exponent)) if exponent.is_finite else math.inf
        if e <= _MAX_EXPONENT and not (isinstance(base, sympy.Expr) and base.is_number):
            return
        if isinstance(base, sympy.Expr) and base.is_number and base.is_real and base.is_finite:
            b = abs(float(base)) if abs(base) < 10**300 else 1e300
            digits = e * abs(math.log10(b)) if b > 0 else 0
            if digits <= _MAX_EXPONENT:
                return
        raise ParseError(f"{column(tok)}: a power with the exponent {sympy.sstr(exponent)[:40]} is too large to evaluate", token="^")

    def _frac(self, i: int) -> int:
        derivative = self.parser.derivative_fraction(i, self.stop)
        if derivative is not None:
            (na, nb), (da, db), j = derivative
            if self.f.is_blank(na, nb):  # \frac{\partial}{\partial x}: an operator on what follows
                value, j = calculus.operator(self.parser, da, db, j, self.stop)
            else:
                value = calculus.derivative(self.parser, na, nb, da, db)
            self._operand(value)
            return j
        na, nb, j = self.f.argument(i + 1, self.stop, self.f[i].text)
        da, db, j = self.f.argument(j, self.stop, self.f[i].text)
        numerator, denominator = self.parser.expression(na, nb), self.parser.expression(da, db)
        if isinstance(denominator, Matrix) and denominator.number is not None:
            denominator = denominator.number  # 1ᵀy below the line: a number
        if is_matrix(denominator):
            raise ShapeMismatch("a fraction with a matrix below the line; write ⊘ (\\oslash) for an element-wise quotient", token=r"\frac")
        self._operand(numerator / denominator)
        return j

    def _sqrt(self, i: int) -> int:
        j = self.f.skip(i + 1, self.stop)
        degree = sympy.Integer(2)
        if j < self.stop and self.f[j].text == "[":
            close = self.f.pairs[j]
            degree = self.parser.expression(j + 1, close)
            j = close + 1
        a, b, j = self.f.argument(j, self.stop, r"\sqrt")
        value = self.parser.expression(a, b)
        self._operand(value.applyfunc(lambda e: e ** (1 / degree)) if isinstance(value, Matrix) else value ** (1 / degree))
        return j

    def _is_ones(self, i: int) -> bool:
        a, b, _ = self.f.argument(i + 1, self.stop, self.f[i].text)
        return self.f.group_text(a, b) == "1"

    def _ones(self, i: int) -> int:
        _, _, j = self.f.argument(i + 1, self.stop, self.f[i].text)
        self.lexicon.used_matrices = True
        self._operand(Ones(self.lexicon.convention))
        return j

    # -- sums -----------------------------------------------------------------

    def _sum(self, i: int) -> int:
        """``\\sum_{k=1}^{4} …`` written out; ``\\sum_k …`` as far as the names in it go."""
        f = self.f
        k = f.skip(i + 1, self.stop)
        if k >= self.stop or f[k].text != "_":
            raise ParseError(f"{column(f[i])}: a sum without its index; write \\sum_{{k=1}}^{{4}} (or \\sum_k over a layer)", token=r"\sum")
        a, b, j = f.argument(k + 1, self.stop, "_")
        below = f.group_text(a, b)
        m = re.fullmatch(r"([a-z])(?:=(\d+))?", below)
        if m is None:
            raise ParseError(f"{column(f[i])}: the sum's index '{below}': write one letter, e.g. \\sum_{{k=1}}^{{4}}", token=r"\sum_{" + below + "}")
        letter, low = m.group(1), m.group(2)
        high = None
        n = f.skip(j, self.stop)
        if n < self.stop and f[n].text == "^":
            c, d, j = f.argument(n + 1, self.stop, "^")
            top = f.group_text(c, d)
            if not top.isdigit():
                raise ParseError(
                    f"{column(f[n])}: the sum's upper bound '{top}': write it as a number, or leave the bounds out on a layered network",
                    token=top,
                )
            high = int(top)
        if (low is None) != (high is None):
            raise ParseError(f"{column(f[i])}: give both bounds of the sum, or neither", token=r"\sum")
        end = calculus.term_end(self.parser, j, self.stop)
        if f.is_blank(j, end):
            raise ParseError(f"{column(f[i])}: a sum of nothing", token=r"\sum")
        if high is not None:
            if high - int(low) > 1000:
                raise ParseError(f"{column(f[i])}: a sum of {high - int(low) + 1} terms (more than 1000)", token=r"\sum")
            terms = [self._body(j, end, letter, v) for v in range(int(low), high + 1)]
        else:
            terms = self._unbounded(i, j, end, letter)
        self._operand(sum(terms[1:], terms[0]) if terms else sympy.S.Zero)
        return end

    def _body(self, j: int, end: int, letter: str, value: int):
        bindings = dict(self.lexicon.bindings, **{letter: value})
        inner = Parser(self.parser.net, self.f, self.lexicon.bound(bindings, variant=self.lexicon.variant), self.parser.deadline)
        result = inner.expression(j, end)
        self.parser.names_read += inner.names_read
        self.lexicon.used_matrices |= inner.lexicon.used_matrices
        return result

    def _unbounded(self, i: int, j: int, end: int, letter: str) -> list:
        """The terms for every value of the index where all the body's names exist."""
        if letter not in INDEX_LETTERS:
            raise ParseError(f"{column(self.f[i])}: a sum over '{letter}' without bounds; write \\sum_{{{letter}=1}}^{{n}}", token=r"\sum_" + letter)
        terms, failed = [], []
        for value in range(1, self.lexicon.index_limit() + 1):
            try:
                terms.append(self._body(j, end, letter, value))
            except IndexOutOfRange:
                failed.append(value)
        if not terms:
            raise IndexOutOfRange(f"{column(self.f[i])}: the sum over {letter} has no term whose names all exist", token=r"\sum_" + letter)
        if self.lexicon.layers is not None:  # a layer's families are rectangular: a sum that stops early in one name is a slip
            self._check_ranges(i, j, end, letter, failed)
        return terms

    def _check_ranges(self, i: int, j: int, end: int, letter: str, failed: list[int]) -> None:
        """Every name the sum's index runs through must run as far: a slip otherwise (δ^{(3)}_k with w^{(2)}_{kj})."""
        names = {name.text: (at, name) for at, name, _ in self.parser.names_read if j <= at < end and letter in index_letters(name)}
        for value in failed:
            bindings = dict(self.lexicon.bindings, **{letter: value})
            reach, stop_here = [], []
            for text, (at, name) in names.items():
                try:
                    self.lexicon.bound(bindings, variant=self.lexicon.variant).value(name, at)
                    reach.append(text)
                except SymgradError:  # out of range, unknown, or a definition that does not reach it
                    stop_here.append(text)
            if reach and stop_here:
                raise RangeMismatch(
                    f"{column(self.f[i])}: the sum over {letter} reaches {letter} = {value} in {', '.join(reach)} "
                    f"but not in {', '.join(stop_here)}: the names of one sum must run over the same range",
                    token=r"\sum",
                )

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
        if self.lexicon.sigma_is_sigmoid(name) and not name.layer:
            func = fn.sigmoid
        if func is not None:
            power = sympy.Integer(name.superscript) if name.superscript.isdigit() else None
            return self._call(func, name.primes, name.written, j, braces_ok=self.f[i].category == "cmd", power=power)
        if name.base.lower() == "softmax" and not (name.index or name.layer):
            return self._call(_softmax, 0, name.written, j, braces_ok=True, vector=True)
        value = self.lexicon.value(name, at=i)
        self.parser.names_read.append((i, name, value))
        self._operand(value)
        return j

    def _call(self, func, primes: int, written: str, j: int, *, braces_ok: bool, power=None, vector: bool = False) -> int:
        """``F(arg)``, ``F'(arg)``, ``F^2(arg)``; commands also take ``\\ln x`` or ``\\exp{…}``."""
        f, parser = self.f, self.parser
        k = f.skip(j, self.stop)
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
                raise ParseError(f"{column(f[k])}: an inverse function {written}^{{-1}}: write the inverse's formula", token=f"{written}^{{-1}}")
            else:
                power = parser.expression(a, b)
            k = f.skip(k2, self.stop)
        if k < self.stop and f.is_opener(k):
            close = f.pairs[k]
            inner = f.inner_start(k)
            commas = _top_level_commas(f, inner, close)
            if commas and func not in MULTI_ARGUMENT:
                raise ParseError(f"{column(f[commas[0]])}: ',' in the argument of {written}, which takes one argument", token=",")
            bounds = [inner - 1] + commas + [close]
            args = [parser.expression(a + 1, b) for a, b in zip(bounds, bounds[1:])]
            end = f.after_bracket(close, self.stop)
            if len(args) > 1:
                if primes:
                    raise ParseError(f"a prime on {written}, a function of several arguments", token=written)
                if any(is_matrix(a) for a in args):
                    raise ParseError(f"{written} of several vectors", token=written)
                value = func(*args)
                self._operand(value if power is None else value**power)
                return end
            arg = args[0]
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
                    arg = self.lexicon.value(name, at=k)
                    self.parser.names_read.append((k, name, arg))
        else:
            raise ParseError(f"'{written}' is a function: write its argument in brackets, e.g. {written}(u_1)", token=written)
        if vector:
            value = func(arg, written)
        else:
            value = parser.apply(func, primes, arg, written)
        if power is not None:
            value = value.elementwise_power(power) if isinstance(value, Matrix) else value**power
        self._operand(value)
        return end
