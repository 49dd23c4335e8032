r"""Display normalisation: a derivative written the way a hand derivation writes it.

The printed forms of a derivative (factored, chain-rule rows, named adjoints) are built
as a small tree: a :class:`Sum` of :class:`Product`\ s, each a number times factors,
a factor being an expression or a bracketed :class:`Sum`. :func:`tidy` rewrites the
tree for reading; the mathematics stays the same, only the writing changes:

* the numbers of a product fold into one coefficient (2·2·e → 4e, −1·4·3·b → −12b) and
  unit factors go (1·x → x);
* a product's sign goes in front of it, so a + (−b) prints as a − b;
* a negative product with a difference among its factors writes that difference the
  other way round when that removes the sign: −(t − o)·x → (o − t)·x;
* a factor every term of a sum shares is written once, in front of (or behind) the
  bracket of what is left: A·x·2 + A·x·y → A·x·[2 + y]; this is the rule that gives a
  derivation's [ … + … ]·g(u₂)(1 − g(u₂))·i₁.

:func:`render` prints a tree in a :class:`Notation` (LaTeX, Unicode text, or any other
with the same few operations), so every notation shows the same structure.

>>> x, t, o = sympy.symbols("x t o")
>>> tree = Sum((Product((2, x, 2)), Product((-1, 4, 3, o))))
>>> render(tidy(tree), Notation(str))
'4*x - 12*o'
>>> render(tidy(Product((-1, t - o, x))), Notation(str))
'(o - t) * x'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Generic, Mapping, Sequence, TypeVar, Union

import sympy

__all__ = ["Factor", "Notation", "Product", "Shown", "Sum", "bracket_depth", "render", "sweep_tree", "tidy", "tidy_terms", "to_expr"]

T = TypeVar("T")


class Shown(sympy.Symbol):
    r"""A leaf printed exactly as given: a partial derivative ∂a/∂b, a named adjoint δ, a Σ.

    It is a sympy symbol, so it sits in products and sums like any other; sympy's LaTeX
    printer shows ``latex`` and its string printers show ``text`` (sympy asks the object
    itself first, through ``_latex`` and ``_sympystr``).

    >>> d = Shown(r"\delta_{u}", "δu")
    >>> sympy.latex(2 * d), str(d)
    ('2 \\delta_{u}', 'δu')
    """

    _SEP = "\x1f"

    def __new__(cls, latex: str, text: str | None = None, **assumptions):
        # One name holds both spellings, so equal leaves are the same symbol (sympy caches
        # symbols by name) and nothing else needs storing.
        name = latex if text is None else f"{latex}{cls._SEP}{text}"
        return super().__new__(cls, name, real=True)

    def _spelling(self, k: int) -> str:
        parts = self.name.split(self._SEP)
        return parts[k] if k < len(parts) else parts[0]

    def _latex(self, printer=None) -> str:
        return self._spelling(0)

    def _sympystr(self, printer=None) -> str:
        return self._spelling(1)


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, eq=False)
class Product:
    """``coeff`` times ``factors``; a factor is a sympy expression or a bracketed :class:`Sum`.

    As built from the sweep, numbers are still among the factors and ``coeff`` is 1; a
    tidied product has its numbers folded into ``coeff`` (sign included).
    """

    factors: tuple
    coeff: sympy.Expr = field(default=sympy.S.One)


@dataclass(frozen=True, eq=False)
class Sum:
    """A sum of :class:`Product` terms (the chain-rule routes that meet at one step)."""

    terms: tuple


Factor = Union[sympy.Expr, Sum]


def to_expr(node) -> sympy.Expr:
    """The tree's value as one sympy expression (for tests, and to compare with the sweep).

    >>> x, y = sympy.symbols("x y")
    >>> to_expr(Product((2, Sum((Product((x,)), Product((-1, y)))))))
    2*x - 2*y
    """
    if isinstance(node, Sum):
        return sympy.Add(*[to_expr(t) for t in node.terms])
    if isinstance(node, Product):
        return sympy.Mul(node.coeff, *[to_expr(f) for f in node.factors])
    return sympy.sympify(node)


# --------------------------------------------------------------------------- tidying


def _negative(c) -> bool:
    return bool(c.could_extract_minus_sign()) if isinstance(c, sympy.Expr) else c < 0


def _all_negative(add: sympy.Expr) -> bool:
    return all(t.could_extract_minus_sign() for t in add.args)


def _negated(add: sympy.Expr) -> sympy.Expr:
    return sympy.Add(*[-t for t in add.args])


def _split_number(e) -> tuple[sympy.Expr, sympy.Expr]:
    """(number, rest) with e = number·rest: 2e → (2, e), −step(b − a) → (−1, step(b − a)), −(x + y) → (−1, x + y)."""
    e = sympy.sympify(e)
    if e.is_number:
        return e, sympy.S.One
    c, rest = e.as_coeff_Mul()
    if rest.is_Add and _all_negative(rest):
        c, rest = -c, _negated(rest)
    return c, rest


def _flippable(add: sympy.Expr) -> bool:
    """A difference that may be written the other way round to absorb a minus: (t − o) or
    (3 − h), not a derivative's (1 − σ(u)) or (1 − tanh²(u))."""
    if not add.is_Add or add.atoms(sympy.Function):
        return False
    negative = sum(1 for t in add.args if t.could_extract_minus_sign())
    positive = len(add.args) - negative
    return 1 <= positive <= negative


def _absorb_sign(factors: list, coeff):
    """For a negative product, write its first flippable difference the other way round."""
    if not _negative(coeff):
        return factors, coeff
    for i, f in enumerate(factors):
        if isinstance(f, sympy.Expr) and _flippable(f):
            return factors[:i] + [_negated(f)] + factors[i + 1 :], -coeff
    for i, f in enumerate(factors):  # a difference inside a factor: x·(t − o)
        if isinstance(f, sympy.Expr) and f.is_Mul:
            inner = [a for a in f.args if _flippable(a)]
            if inner:
                flipped = f.xreplace({inner[0]: _negated(inner[0])})
                return factors[:i] + [flipped] + factors[i + 1 :], -coeff
    return factors, coeff


def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, Sum) or isinstance(b, Sum):
        return (
            isinstance(a, Sum)
            and isinstance(b, Sum)
            and len(a.terms) == len(b.terms)
            and all(_same_product(p, q) for p, q in zip(a.terms, b.terms))
        )
    return a == b


def _same_product(p: Product, q: Product) -> bool:
    return p.coeff == q.coeff and len(p.factors) == len(q.factors) and all(_same(a, b) for a, b in zip(p.factors, q.factors))


def _content(coeffs: Sequence[sympy.Expr]) -> sympy.Expr:
    """The positive rational every coefficient is a whole multiple of (their gcd); 1 unless all are rational."""
    if not all(c.is_Rational for c in coeffs):
        return sympy.S.One
    g = sympy.gcd_list([sympy.Rational(c) for c in coeffs])
    return abs(g) if g != 0 else sympy.S.One


class _Tidier:
    """One tidying pass over a tree; shared subtrees (a step's adjoint used by many routes) are tidied once."""

    def __init__(self):
        self.memo: dict[int, object] = {}
        self.keep: list = []  # the keys are ids: keep their objects alive

    def node(self, node):
        if isinstance(node, Sum):
            return self.sum(node)
        if isinstance(node, Product):
            return self.product(node)
        return self.product(Product((node,)))

    def product(self, p: Product) -> Product:
        key = id(p)
        if key not in self.memo:
            self.memo[key] = self._product(p.factors, p.coeff)
            self.keep.append(p)
        return self.memo[key]

    def sum(self, s: Sum):
        key = id(s)
        if key not in self.memo:
            self.memo[key] = self.combine([self.product(t) for t in s.terms])
            self.keep.append(s)
        return self.memo[key]

    def _product(self, factors, coeff) -> Product:
        coeff = sympy.sympify(coeff)
        out: list = []
        for f in factors:
            if isinstance(f, (Sum, Product)):
                inner = self.node(f)
                if isinstance(inner, Product):  # a bracket that tidied to a product: its factors join this one
                    coeff *= inner.coeff
                    out += inner.factors
                else:
                    out.append(inner)
            else:
                c, rest = _split_number(f)
                coeff *= c
                if rest != 1:
                    out.append(rest)
        if coeff == 0:
            return Product((), sympy.S.Zero)
        out, coeff = _absorb_sign(out, coeff)
        return Product(tuple(out), coeff)

    def combine(self, terms: list[Product]):
        """Tidied terms as one node: numbers added, shared factors written once, a sign shared by all pulled out."""
        terms = [t for t in terms if t.coeff != 0]
        if not terms:
            return Product((), sympy.S.Zero)
        if len(terms) == 1:
            return terms[0]
        if all(not t.factors for t in terms):
            return Product((), sympy.Add(*[t.coeff for t in terms]))
        shortest = min(len(t.factors) for t in terms)
        first = terms[0].factors
        pre = 0
        while pre < shortest and all(_same(first[pre], t.factors[pre]) for t in terms[1:]):
            pre += 1
        suf = 0
        while suf < shortest - pre and all(_same(first[-1 - suf], t.factors[-1 - suf]) for t in terms[1:]):
            suf += 1
        if pre or suf:
            rest = [Product(t.factors[pre : len(t.factors) - suf], t.coeff) for t in terms]
            content = _content([t.coeff for t in rest])
            rest = [Product(t.factors, t.coeff / content) for t in rest]
            inner = self.combine(rest)
            shared = list(first[:pre]) + [inner] + list(first[len(first) - suf :])
            return self._product(shared, content)
        if all(_negative(t.coeff) for t in terms):
            return Product((Sum(tuple(Product(t.factors, -t.coeff) for t in terms)),), sympy.S.NegativeOne)
        return Sum(tuple(terms))


def tidy(node) -> Union[Product, Sum]:
    """The tree written for reading (see the module notes); its value is unchanged.

    >>> a, e = sympy.symbols("a e")
    >>> A = Sum((Product((1, sympy.Rational(1, 2))), Product((-10 / a**2,))))
    >>> tree = Sum((Product((A, 2 * e, 2, 2)), Product((A, 2 * e, -1))))
    >>> render(tidy(tree), Notation(str))
    '[1/2 - 10/a**2] * 6*e'
    """
    return _Tidier().node(node)


def tidy_terms(s: Sum) -> Sum:
    """Each term of ``s`` tidied on its own, the terms kept as they are (one per chain-rule route)."""
    tidier = _Tidier()
    return Sum(tuple(tidier.product(t) for t in s.terms))


def sweep_tree(sweep, param: sympy.Symbol, named: Mapping[sympy.Symbol, sympy.Expr] | None = None):
    """∂Loss/∂``param`` as a tree, read off the reverse sweep: each term is a route's
    adjoint first (the loss end), then the local factor; a step used by several routes
    is one bracketed sum, shared. A step in ``named`` stands for its adjoint by that name
    (a δ) instead of being written out.
    """
    named = named or {}
    memo: dict[sympy.Symbol, Product] = {}

    def adjoint(t) -> Product:
        if t in named:
            return Product((named[t],))
        if t == sweep.loss:
            return Product(())
        return memo[t]

    def term(c, v) -> Product:
        return Product(adjoint(c).factors + (v,))

    # Each adjoint after those of the steps that consume it, from the loss down, without
    # recursion: a chain thousands of steps long is as deep.
    stack, seen = [(param, False)], set()
    while stack:
        t, consumers_done = stack.pop()
        if consumers_done:
            if t != param and t not in named:
                terms = [term(c, v) for c, v in sweep.consumers[t]]
                memo[t] = terms[0] if len(terms) == 1 else Product((Sum(tuple(terms)),))
        elif t not in seen and t != sweep.loss:
            seen.add(t)
            stack.append((t, True))
            if t == param or t not in named:
                stack.extend((c, False) for c, _ in sweep.consumers.get(t, []) if c not in seen)
    terms = [term(c, v) for c, v in sweep.consumers.get(param, [])]
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def bracket_depth(node) -> int:
    """How deeply the tree nests brackets of routes ([ … ] inside [ … ] is 2).

    >>> x, y = sympy.symbols("x y")
    >>> inner = Sum((Product((x,)), Product((y,))))
    >>> bracket_depth(Product((Sum((Product((inner, x)), Product((y,)))), x)))
    2
    """
    if isinstance(node, Sum):
        return max((bracket_depth(t) for t in node.terms), default=0)
    if isinstance(node, Product):
        return max((1 + bracket_depth(f) for f in node.factors if isinstance(f, Sum)), default=0)
    return 0


# --------------------------------------------------------------------------- printing


class Notation(Generic[T]):
    """How a tree is printed: ``expr`` prints one expression; the other methods join the
    pieces. The defaults give plain strings (``*`` between factors, ``[ ]`` for brackets)."""

    def __init__(self, expr: Callable[[sympy.Expr], T], times: str = " * ", plus: str = " + ", minus: str = " - ", negate: str = "-"):
        # A derivative repeats the same local factors across its routes: print each once.
        self._expr = functools.lru_cache(maxsize=4096)(expr)
        self.times, self.plus, self.minus, self.negate = times, plus, minus, negate

    def expr(self, e: sympy.Expr) -> T:
        return self._expr(e)

    def wrap(self, body: T, brackets: str) -> T:
        """``body`` in brackets: ``"()"`` around a sum that is one factor, ``"[]"`` around a sum of routes."""
        return f"{brackets[0]}{body}{brackets[1]}"

    def factor(self, e: sympy.Expr) -> T:
        return self.wrap(self.expr(e), "()") if e.is_Add else self.expr(e)

    def product(self, parts: list[T]) -> T:
        return self.times.join(parts)

    def juxtapose(self, number: T, part: T) -> T:
        """A coefficient written before a bracket: 2 (a + b)."""
        return f"{number} {part}"

    def sum(self, items: list[tuple[str, T]]) -> T:
        """Terms with their signs, ``("+" | "-", term)``; a leading ``+`` is not written."""
        out = ""
        for i, (sign, part) in enumerate(items):
            if i == 0:
                out = f"{self.negate}{part}" if sign == "-" else f"{part}"
            else:
                out += f"{self.minus if sign == '-' else self.plus}{part}"
        return out


def _attach_to(p: Product):
    """Which factor the coefficient joins: the first plain one, preferring an expression to
    a named leaf (δ_f · 2e rather than 2δ_f · e); None if every factor is a sum."""
    plain = [i for i, f in enumerate(p.factors) if not isinstance(f, Sum) and not f.is_Add]
    return next((i for i in plain if not isinstance(p.factors[i], Shown)), plain[0] if plain else None)


def _product_body(p: Product, notation: Notation, top: bool = False, memo: dict | None = None):
    """The product without its sign: the coefficient joins one plain factor (12b, \\frac{10}{f^2})."""
    magnitude = -p.coeff if _negative(p.coeff) else p.coeff
    if top and magnitude == 1 and not _negative(p.coeff) and len(p.factors) == 1 and not isinstance(p.factors[0], Sum):
        return notation.expr(p.factors[0])  # a whole right-hand side needs no brackets: x − y, not (x − y)
    attach = _attach_to(p)
    parts = []
    for i, f in enumerate(p.factors):
        if isinstance(f, Sum):
            parts.append(notation.wrap(_sum_body(f, notation, memo), "[]"))
        elif i == attach and magnitude != 1:
            parts.append(notation.expr(sympy.Mul(magnitude, f)))
        else:
            parts.append(notation.factor(f))
    if magnitude != 1 and attach is None:
        number = notation.expr(magnitude)
        parts = [notation.juxtapose(number, parts[0])] + parts[1:] if parts else [number]
    if not parts:
        parts = [notation.expr(sympy.S.One)]
    return notation.product(parts)


def _sum_body(s: Sum, notation: Notation, memo: dict | None = None):
    memo = {} if memo is None else memo
    if id(s) not in memo:  # a sum shared by many routes (a step's adjoint) is printed once
        memo[id(s)] = (s, notation.sum([("-" if _negative(t.coeff) else "+", _product_body(t, notation, memo=memo)) for t in s.terms]))
    return memo[id(s)][1]


def render(node, notation: Notation):
    """Print a (tidied) tree in ``notation``."""
    if isinstance(node, Sum):
        if not node.terms:
            return notation.expr(sympy.S.Zero)
        return _sum_body(node, notation)
    if not isinstance(node, Product):
        node = Product((node,))
    return notation.sum([("-" if _negative(node.coeff) else "+", _product_body(node, notation, top=True))])
