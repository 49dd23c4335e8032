"""Arithmetic text to a sympy expression: one pass over the tokens, no recursion, bounded numbers.

:func:`build_expression` reads the tokens :mod:`symgrad.model.equations` has already
checked (names, numbers, ``+ - * / ** ^``, brackets, commas) with an operator-precedence
(shunting-yard) loop, and builds the same sympy expression Python's own evaluation of
the text would (what ``sympy.parse_expr`` did), with three differences that matter for
bad input:

* time linear in the text: a chain ``t1 + t2 + … + tn`` becomes one ``Add(t1, …, tn)``
  and a product chain is folded without re-flattening the growing product, where
  evaluating ``a + b`` pair by pair is quadratic (2,000 terms took 7.6 s);
* no recursion: 5,000 nested brackets or unary minuses are no deeper for the parser
  than one;
* numbers are bounded before sympy computes them: ``10**10**10`` or ``(2*w)**10**9``
  would make sympy work out a number of billions of digits (a hang); a literal or a
  power whose exact value would pass :data:`MAX_DIGITS` digits is an error naming it;
* an expression nested deeper than :data:`MAX_NESTING` (which the rest of the pipeline,
  sympy's recursive walks, could not handle) is an error asking for a step in between.

Python's precedence and associativity hold: ``-x**2`` is ``-(x**2)``, ``2**-1`` is
allowed, ``**`` groups from the right, ``^`` means ``**``; decimals are exact rationals.

>>> import io, tokenize
>>> from symgrad.model.names import real_symbol
>>> x = real_symbol("x")
>>> def tokens(text):
...     skip = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)
...     return [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]
>>> build_expression(tokens("-x**2 + 0.5*x^2"), {"x": x}, {}, text="-x**2 + 0.5*x^2", where="f")
-x**2/2
>>> build_expression(tokens("10**10**10"), {}, {}, text="10**10**10", where="f")
Traceback (most recent call last):
...
symgrad.errors.ParseError: f: '10**10**10' is too large a number (about 10^10000000000; numbers are limited to 4000 digits)
"""

from __future__ import annotations

import decimal
import math
import tokenize
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sympy
from sympy.core.mul import _args_sortkey

from ..errors import LossError, ParseError, UnknownSymbolError
from . import functions as fn
from .canonical import factor_key, is_plain_factor
from .canonical import product as canonical_product

__all__ = ["MAX_DIGITS", "MAX_NESTING", "build_expression", "number_digits"]

#: The deepest one expression may nest (sympy walks expressions by recursion: printing,
#: differentiating and compiling an expression nested some 150 deep meet Python's limit;
#: a chain of steps has no such bound).
MAX_NESTING = 100

#: The most decimal digits a number built from the text may have (numerator or
#: denominator). Python prints integers of up to 4,300 digits; sympy's hashes and the
#: printers need to print them, so the bound stays below that.
MAX_DIGITS = 4000

_LOG10_2 = math.log10(2)
_NOT_FINITE = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan)

# Binding power of the binary operators and of unary plus and minus (Python's order:
# unary minus binds less tightly than ** on its right, so -x**2 is -(x**2)).
_BINARY = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4, "^": 4}
_UNARY_POWER = 3
_RIGHT = {"**", "^"}


class _Syntax(Exception):
    """A syntax error at token ``index`` (caught in :func:`build_expression`, which words it)."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


# --------------------------------------------------------------------------- numbers


def number_digits(value) -> float:
    """log10 of the larger of a rational's numerator and denominator: about its number of
    digits (0 for 0 and ±1).

    >>> round(number_digits(sympy.Integer(12345)), 2), number_digits(sympy.Rational(1, 1000))
    (4.09, 3.0)
    """
    if not isinstance(value, sympy.Rational):
        return 0.0
    big = max(abs(int(value.p)), int(value.q))
    if big < 2:
        return 0.0
    if big.bit_length() < 1000:
        return math.log10(big)
    return big.bit_length() * _LOG10_2


def _literal(text: str) -> sympy.Rational:
    """A number token as Python writes it, as an exact sympy number (decimals as rationals).

    Raises ValueError with the size when the number would pass MAX_DIGITS digits."""
    plain = text.replace("_", "")
    if plain[:2].lower() in ("0x", "0o", "0b"):
        value = int(plain, 0)  # a power-of-two base converts in linear time, whatever the length
        digits = value.bit_length() * _LOG10_2
        if digits > MAX_DIGITS:
            raise ValueError(f"about 10^{int(digits)}")
        return sympy.Integer(value)
    try:
        d = decimal.Decimal(plain)  # reads the exponent without building the number
    except decimal.InvalidOperation:
        raise ValueError("not a number") from None
    sign, digits, exponent = d.as_tuple()
    size = len(digits) + exponent if exponent >= 0 else max(len(digits) + exponent, -exponent)
    if size > MAX_DIGITS:
        raise ValueError(f"about 10^{d.adjusted()}" if d.adjusted() > 0 else f"{-exponent} decimal places")
    if "." in plain or "e" in plain.lower():
        return sympy.Rational(plain)
    return sympy.Integer(int(plain))


def _power_digits(base: sympy.Expr, exponent: sympy.Expr) -> float:
    """An upper estimate of the digits of the numbers sympy computes for ``base**exponent``.

    A rational exponent is applied to the numbers inside ``base`` that sympy evaluates
    at once: a rational base, the coefficient of a product ((2x)^n = 2^n·x^n), and a
    power of a power ((a^e)^n = a^(e·n)). Everything else stays unevaluated."""
    if not exponent.is_Rational:
        return 0.0
    worst = 0.0
    pending = [(base, exponent)]
    while pending:
        b, e = pending.pop()
        if e == 0:
            continue
        if b.is_Rational:
            worst = max(worst, number_digits(b) * abs(float(e)))
        elif b.is_Mul:
            pending.extend((factor, e) for factor in b.args)
        elif b.is_Pow and b.exp.is_Rational:
            worst = max(worst, number_digits(b.exp) + number_digits(e))
            if worst <= MAX_DIGITS:
                pending.append((b.base, b.exp * e))
    return worst


# --------------------------------------------------------------------------- products


class _Product:
    """Python's left fold ``f1 * f2 / f3 …`` of sympy factors, in time linear in the chain.

    ``p * f`` re-flattens the whole product ``p`` (quadratic over a chain). While ``p``
    is a commutative product of at least two factors and the next factor's factors have
    bases ``p`` does not have (or merge with one of them into a plain power: what ``Mul``
    gathers is a base with one exponent term, see :func:`~symgrad.model.canonical.factor_key`), the result
    is known without ``Mul``: the coefficients multiply and the factor joins the sorted
    list. So the factors are gathered and sorted once at the end; anything else (a
    number base, a collapse to a number or a sum) is folded by sympy as Python would.
    """

    __slots__ = ("value", "coeff", "factors", "bases", "gathering")

    def __init__(self, first: sympy.Expr):
        self.value = first
        self.gathering = False
        self._try_gather()

    def _try_gather(self) -> None:
        p = self.value
        if not (p.is_Mul and p.is_commutative):
            return
        coeff, factors = p.as_coeff_mul()
        if len(factors) < 2 or not coeff.is_Rational or not all(self._plain(f) for f in factors):
            return
        keyed = {factor_key(f): f for f in factors}
        if len(keyed) == len(factors):
            self.coeff, self.factors, self.gathering = coeff, keyed, True

    _plain = staticmethod(is_plain_factor)

    def _settle(self) -> sympy.Expr:
        if self.gathering:
            ordered = tuple(sorted(self.factors.values(), key=_args_sortkey))
            if len(ordered) < 2:  # merged down to one factor: let sympy decide its form
                self.value = sympy.Mul(self.coeff, *ordered)
            else:
                args = ordered if self.coeff is sympy.S.One else (self.coeff, *ordered)
                self.value = sympy.Mul._from_args(args, True)
            self.gathering = False
        return self.value

    def _gather(self, factor: sympy.Expr) -> bool:
        """Take ``factor`` into the gathered product; False when only sympy can say the result."""
        coeff, parts = factor.as_coeff_mul()
        if not coeff.is_Rational or coeff == 0 or not all(self._plain(f) for f in parts):
            return False
        merged = {}
        for f in parts:
            key = factor_key(f)
            old = self.factors.get(key)
            if old is None:
                continue
            both = old * f  # x^2·x^3: sympy's own rule for one base and exponent term
            if both is not sympy.S.One and not (self._plain(both) and factor_key(both) == key):
                return False
            merged[key] = both
        new_coeff = self.coeff * coeff
        if new_coeff == 0 or number_digits(new_coeff) > MAX_DIGITS:
            return False
        remaining = len(self.factors) + sum(1 for f in parts if factor_key(f) not in merged)
        remaining -= sum(1 for v in merged.values() if v is sympy.S.One)
        if remaining < 2:
            return False  # the product may collapse to one factor or a number: sympy decides
        self.coeff = new_coeff
        for f in parts:
            key = factor_key(f)
            if key in merged:
                if merged[key] is sympy.S.One:
                    del self.factors[key]
                else:
                    self.factors[key] = merged[key]
            else:
                self.factors[key] = f
        return True

    def times(self, factor: sympy.Expr) -> None:
        if self.gathering and self._gather(factor):
            return
        p = self.value
        if p.is_Rational and p not in (0, 1) and factor.is_Symbol and factor.is_commutative:
            # 3*x, the commonest term of all: its canonical form is known (Mul would
            # spend most of a sum's parsing time finding it).
            self.value = sympy.Mul._from_args((p, factor), True)
            return
        # An expression times a symbol it lacks (w*x): the canonical product without Mul's flattening.
        self.value = canonical_product(self._settle(), factor)
        self._try_gather()

    def result(self) -> sympy.Expr:
        return self._settle()


# --------------------------------------------------------------------------- the parser


@dataclass
class _Value:
    """A value on the parser's stack: a sympy expression, or a sum or product still being gathered."""

    first: int  # token span, for error messages
    last: int
    expr: sympy.Expr | None = None
    terms: list | None = None  # an open sum: the terms, signs applied
    product: _Product | None = None  # an open product


@dataclass
class _Bracket:
    """An open bracket on the operator stack: a call's (``func`` set) or a grouping one."""

    index: int
    func: object = None
    name: str = ""
    args: list = field(default_factory=list)
    commas: int = 0


@dataclass
class _Op:
    symbol: str
    index: int
    unary: bool = False

    @property
    def power(self) -> int:
        return _UNARY_POWER if self.unary else _BINARY[self.symbol]


class _Builder:
    def __init__(self, tokens, names, functions, text, where, line):
        self.tokens = tokens
        self.names = names
        self.functions = functions
        self.text = text
        self.where = where
        self.line = line
        self.values: list[_Value] = []
        self.ops: list[_Op | _Bracket] = []
        offsets = [0]
        for row in text.splitlines(keepends=True):
            offsets.append(offsets[-1] + len(row))
        self._offsets = offsets

    # -- spans and errors

    def span(self, first: int, last: int) -> str:
        (r0, c0), (r1, c1) = self.tokens[first].start, self.tokens[last].end
        return self.text[self._offsets[r0 - 1] + c0 : self._offsets[r1 - 1] + c1]

    def error(self, message: str, token: str, cls=ParseError):
        return cls(f"{self.where}: {message}", token=token, line=self.line)

    def too_large(self, first: int, last: int, digits: float):
        span = self.span(first, last)
        size = f"10^{int(digits)}" if math.isfinite(digits) else "beyond any float"
        return self.error(f"{span!r} is too large a number (about {size}; numbers are limited to {MAX_DIGITS} digits)", span)

    # -- values

    def settle(self, v: _Value) -> sympy.Expr:
        """The finished expression of a value, closing an open sum or product."""
        if v.terms is not None:
            v.expr, v.terms = sympy.Add(*v.terms), None
        elif v.product is not None:
            v.expr, v.product = v.product.result(), None
            self.check_number(v.expr, v.first, v.last)
        return v.expr

    def check_number(self, expr, first: int, last: int) -> None:
        coeff = expr.args[0] if expr.is_Mul else expr
        if coeff in _NOT_FINITE:
            span = self.span(first, last)
            raise self.error(f"{span!r} is not a finite number (a division by zero, or the log of 0?)", span)
        if coeff.is_Rational and number_digits(coeff) > MAX_DIGITS:
            raise self.too_large(first, last, number_digits(coeff))

    def number(self, index: int) -> _Value:
        tok = self.tokens[index].string
        try:
            value = _literal(tok)
        except ValueError as exc:
            raise self.error(f"the number {tok!r} is too large ({exc}; numbers are limited to {MAX_DIGITS} digits)", tok) from None
        return _Value(index, index, value)

    # -- operators

    def apply_unary(self, op: _Op) -> None:
        v = self.values[-1]
        expr = self.settle(v)
        v.first = op.index
        if op.symbol == "-":
            v.expr = -expr

    def apply_binary(self, op: _Op) -> None:
        right = self.values.pop()
        left = self.values[-1]
        s = op.symbol
        if s in "+-":
            term = self.settle(right)
            term = -term if s == "-" else term
            if left.terms is None:
                left.terms = [self.settle(left)]
                left.expr = None
            left.terms.append(term)
        elif s in "*/":
            factor = self.settle(right)
            if s == "/":
                if factor == 0:
                    span = self.span(left.first, right.last)
                    raise self.error(f"{span!r} divides by zero", span)
                factor = sympy.Pow(factor, sympy.S.NegativeOne)
            if left.product is None:
                left.product = _Product(self.settle(left))
                left.expr = None
            left.product.times(factor)
            if not left.product.gathering:
                self.check_number(left.product.value, left.first, right.last)
        else:  # ** or ^
            base, exponent = self.settle(left), self.settle(right)
            digits = _power_digits(base, exponent)
            if digits > MAX_DIGITS:
                raise self.too_large(left.first, right.last, digits)
            if base == 0 and exponent.is_Number and exponent.is_negative:
                span = self.span(left.first, right.last)
                raise self.error(f"{span!r} divides by zero", span)
            if base.is_number and not exponent.is_number and not _positive_constant(base):
                # 0**w is 0 or infinite, (-2)**w complex but at integers: no derivative to speak of.
                span = self.span(left.first, right.last)
                raise self.error(f"{span!r} raises {base} to a variable power, which is not a real function of it (0, infinite or complex)", span)
            left.expr = base**exponent
            self.check_number(left.expr, left.first, right.last)
        left.last = right.last

    def reduce_while(self, keep_going) -> None:
        while self.ops and isinstance(self.ops[-1], _Op) and keep_going(self.ops[-1]):
            op = self.ops.pop()
            self.apply_unary(op) if op.unary else self.apply_binary(op)

    def close(self, index: int) -> _Bracket:
        """Reduce to the innermost open bracket and pop it (its last argument on the value stack)."""
        self.reduce_while(lambda op: True)
        if not self.ops:
            if self.tokens[index].string == ",":  # a, b: a tuple, as Python reads it
                raise self.error(f"{self.text!r} is not a scalar expression (a tuple or a comparison?)", self.text, LossError)
            raise _Syntax(index, "')' closes no bracket")
        return self.ops.pop()

    def call(self, bracket: _Bracket, index: int) -> None:
        args = bracket.args
        if len(args) != 1 and bracket.func is not fn.logsumexp:
            got = "none" if not args else str(len(args))
            span = self.span(bracket.index - 1, index)
            extra = " (a logarithm to base b is log(x)/log(b))" if bracket.name == "log" and len(args) == 2 else ""
            raise self.error(f"{bracket.name}() takes one argument, got {got} in {span!r}{extra}", bracket.name)
        try:
            expr = bracket.func(*(self.settle(a) for a in args))
        except (TypeError, ValueError) as exc:
            span = self.span(bracket.index - 1, index)
            raise self.error(f"cannot build {span!r}: {exc}", span) from None
        self.check_number(expr, bracket.index - 1, index)
        self.values.append(_Value(bracket.index - 1, index, expr))

    # -- the loop

    def run(self) -> sympy.Expr:
        expect_operand = True
        tokens = self.tokens
        i, n = 0, len(tokens)
        while i < n:
            tok = tokens[i]
            s = tok.string
            if expect_operand:
                if tok.type == tokenize.NUMBER:
                    self.values.append(self.number(i))
                    expect_operand = False
                elif tok.type == tokenize.NAME and s in self.functions:
                    if i + 1 >= n or tokens[i + 1].string != "(":
                        raise _Syntax(i, f"function {s!r} is used without an argument")
                    self.ops.append(_Bracket(i + 1, self.functions[s], s))
                    i += 1
                elif tok.type == tokenize.NAME:
                    if s not in self.names:
                        raise self.error(f"unknown name {s!r}", s, UnknownSymbolError)
                    self.values.append(_Value(i, i, self.names[s]))
                    expect_operand = False
                elif s == "(":
                    self.ops.append(_Bracket(i))
                elif s in ("+", "-"):
                    self.ops.append(_Op(s, i, unary=True))
                elif s == ")" and self.ops and isinstance(self.ops[-1], _Bracket) and self.ops[-1].func is not None:
                    bracket = self.ops.pop()  # f() or f(x,): the call ends here
                    self.call(bracket, i)
                    expect_operand = False
                else:
                    raise _Syntax(i, f"{s!r} where a number, a name or '(' should be")
            else:
                if s in _BINARY:
                    power = _BINARY[s]
                    if s in _RIGHT:
                        self.reduce_while(lambda op: op.power > power)
                    else:
                        self.reduce_while(lambda op: op.power >= power)
                    self.ops.append(_Op(s, i))
                    expect_operand = True
                elif s == ")":
                    bracket = self.close(i)
                    bracket.args.append(self.values.pop())
                    if bracket.func is not None:
                        self.call(bracket, i)
                    elif bracket.commas:
                        span = self.span(bracket.index, i)
                        raise self.error(f"{span!r} is not a scalar expression (a tuple or a comparison?)", span, LossError)
                    else:
                        v = bracket.args[0]
                        v.first, v.last = bracket.index, i
                        self.values.append(v)
                elif s == ",":
                    bracket = self.close(i)
                    bracket.args.append(self.values.pop())
                    bracket.commas += 1
                    self.ops.append(bracket)
                    expect_operand = True
                else:
                    raise _Syntax(i, f"{s!r} follows {tokens[i - 1].string!r} with no operator between (write * for a product)")
            i += 1
        if expect_operand:
            raise _Syntax(n - 1 if n else 0, "the expression ends where a number, a name or '(' should be")
        self.reduce_while(lambda op: True)
        if self.ops:
            raise _Syntax(self.ops[-1].index, "'(' is never closed")
        (value,) = self.values
        expr = self.settle(value)
        self.check_number(expr, 0, n - 1)
        bad, depth = _scan(expr)
        if bad is sympy.I:
            raise self.error(f"{self.text!r} is not real: it holds I (the log or square root of a negative number?)", self.text)
        if bad is not None:
            raise self.error(f"{self.text!r} is not finite: it holds {bad} (a division by zero, 0 to a negative power, the log of 0?)", self.text)
        if depth > MAX_NESTING:
            raise self.error(
                f"the expression is nested {depth} deep, more than the {MAX_NESTING} levels one expression may have; "
                "write an inner part as a step of its own (h = ...), as a network's layers are",
                self.text,
            )
        return expr


def _positive_constant(c: sympy.Expr) -> bool:
    """Whether a constant expression (2, e, g(0) with g a tanh) is a positive real number."""
    if c.is_Number:
        return bool(c > 0)
    try:
        value = complex(c.evalf(30))
    except (TypeError, ValueError):
        return False
    return value.imag == 0 and value.real > 0


def _scan(expr: sympy.Expr) -> tuple[sympy.Expr | None, int]:
    """An infinity, NaN or I inside ``expr`` (0**-x is zoo**x) or None, and the nesting depth
    of ``expr``; one walk without recursion, each shared subexpression visited once."""
    depth: dict[int, int] = {}
    stack = [expr]
    while stack:
        e = stack[-1]
        if id(e) in depth:
            stack.pop()
            continue
        if e in _NOT_FINITE or e is sympy.I:
            return e, 0
        waiting = [a for a in e.args if id(a) not in depth]
        if waiting:
            stack.extend(waiting)
            continue
        depth[id(e)] = 1 + max((depth[id(a)] for a in e.args), default=-1)
        stack.pop()
    return None, depth[id(expr)]


def build_expression(
    tokens: Sequence[tokenize.TokenInfo],
    names: Mapping[str, sympy.Expr],
    functions: Mapping[str, object],
    *,
    text: str,
    where: str,
    line: int | None = None,
) -> sympy.Expr:
    """The sympy expression of already-checked ``tokens`` of ``text`` (see the module docstring).

    ``names`` maps each name to its symbol, ``functions`` each callable name to its
    sympy function. A syntax error, a tuple, a call with other than one argument or a
    too large number is a :class:`~symgrad.errors.ParseError` (a tuple: LossError)
    whose message starts with ``where`` and names the offending text.
    """
    if not tokens:
        raise ParseError(f"{where}: syntax error in {text!r}: the expression is empty", token=text, line=line)
    builder = _Builder(list(tokens), names, functions, text, where, line)
    try:
        return builder.run()
    except _Syntax as exc:  # the token is the whole text, as it was when Python's parser said "syntax error"
        raise ParseError(f"{where}: syntax error in {text!r}: {exc.reason}", token=text, line=line) from None
