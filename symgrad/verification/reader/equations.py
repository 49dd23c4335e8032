r"""A block of LaTeX as a derivation: its equations, their right-hand sides, and what each left side is.

A block such as an ``aligned`` environment holds equations ``A = B = C``, one per
line or continued on the next (``&= …``, ``&\quad + …``). :func:`split_equations`
cuts the block at its top-level ``=`` signs and line breaks ``\\``: a line break
followed by something before the next ``=`` starts a new equation; otherwise the
text continues the one before.

:func:`left_side` says what an equation is about:

* ``"gradient"``: a derivative of the loss, ``\frac{\partial L}{\partial w}``,
  ``\partial L/\partial w``, ``dL/dw``, ``\nabla_{W^{(2)}} L`` (bracketed, or with an
  evaluation subscript ``(\ldots)_w``, as well);
* ``"definition"``: one name the network does not have (``\delta_j``), or δ itself
  (``\delta^{(l)}``, the error term, defined here);
* ``"fact"``: anything else, an expression of the network's names (``u_1``,
  ``\mathbf{u}^{(1)}``, ``L``, ``f'(\mathbf{u}^{(2)})``), stated equal to the right side;
* ``"derivative"``: a derivative of something other than the loss.

>>> from symgrad.verification.reader.tokens import Formula
>>> f = Formula(r"\frac{\partial L}{\partial w} &= a \\ &= b \\ \delta &= c \\ &\quad + d")
>>> [(f.source(*e.lhs), [f.source(*r) for r in e.rhs]) for e in split_equations(f)]
[('\\frac{\\partial L}{\\partial w}', ['a', 'b']), ('\\delta', ['c \\\\ &\\quad + d'])]
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ParseError, UnknownSymbolError
from . import calculus
from .lexicon import INDEX_LETTERS, IndexOutOfRange, index_letters
from .names import Name
from .tokens import Formula

__all__ = ["Equation", "LeftSide", "free_letters", "left_side", "split_equations", "written_names"]


@dataclass
class Equation:
    """One equation: its left side's token range (None for a bare formula) and its right sides."""

    lhs: tuple[int, int] | None
    rhs: list[tuple[int, int]]


def split_equations(formula: Formula) -> list[Equation]:
    """The equations of a block, in order (see the module notes)."""
    bounds = [-1] + formula.equals + [len(formula)]
    segments = [(a + 1, b) for a, b in zip(bounds, bounds[1:])]
    if len(segments) == 1:
        return [Equation(None, [segments[0]])]
    equations: list[Equation] = []
    first_a, first_b = segments[0]
    current = Equation(None if formula.is_blank(first_a, first_b) else (first_a, first_b), [])
    for k, (a, b) in enumerate(segments[1:], start=1):
        last = k == len(segments) - 1
        breaks = [] if last else formula.newlines(a, b)
        if breaks and not formula.is_blank(breaks[-1] + 1, b):
            cut = breaks[-1]
            current.rhs.append((a, cut))
            equations.append(current)
            current = Equation((cut + 1, b), [])
        else:
            current.rhs.append((a, breaks[-1] if breaks else b))
    equations.append(current)
    return equations


@dataclass
class LeftSide:
    """What an equation's left side is: ``role`` (gradient, definition, fact, derivative or
    None for a bare formula); for a gradient, the tokens of what it is with respect to
    (``wrt``) and that name; for a definition, the name defined."""

    role: str | None
    start: int = 0
    stop: int = 0
    name: Name | None = None
    at: int = 0  # token index of ``name``
    wrt: tuple[int, int] | None = None
    numerator: tuple[int, int] | None = None

    @property
    def text_range(self) -> tuple[int, int]:
        return self.start, self.stop


def _unwrap(formula: Formula, a: int, b: int) -> tuple[int, int]:
    """``(…)_w`` and ``\\left( … \\right)`` around the whole left side are dropped."""
    a, b = formula.trim(a, b)
    while a < b and formula.is_opener(a) and formula.opener_text(a) in ("(", "["):
        close = formula.pairs[a]
        if formula.skip(formula.after_bracket(close, b), b) != b:
            break
        a, b = formula.trim(formula.inner_start(a), close)
    return a, b


def left_side(parser, a: int, b: int) -> LeftSide:
    """Classify the left side in tokens ``a..b`` (see the module notes)."""
    f = parser.formula
    a, b = _unwrap(f, a, b)
    if a >= b:
        return LeftSide(None, a, b)
    gradient = _gradient_form(parser, a, b)
    if gradient is not None:
        (na, nb), (da, db) = gradient
        name, k = parser.name_at(f.skip(na, nb), nb) if f.skip(na, nb) < nb else (None, na)
        wrt, k2 = parser.name_at(f.skip(da, db), db) if f.skip(da, db) < db else (None, da)
        if wrt is None or f.skip(k2, db) != db:
            raise ParseError(f"the left side {f.source(a, b)!r} is not a derivative with respect to one parameter", token=f.source(da, db))
        if name is None or f.skip(k, nb) != nb or not _is_loss(parser, name, f.skip(na, nb)):
            return LeftSide("derivative", a, b, name, f.skip(na, nb), (da, db), (na, nb))
        return LeftSide("gradient", a, b, wrt, f.skip(da, db), (da, db), (na, nb))
    name, k = parser.name_at(a, b)
    if name is not None and f.skip(k, b) == b and not name.primes:
        if name.base == "delta" or not _names_something(parser, name, a):
            return LeftSide("definition", a, b, name, a)
    return LeftSide("fact", a, b)


def _gradient_form(parser, a: int, b: int):
    """The numerator and denominator ranges of a derivative that is the whole of ``a..b``, or None."""
    f = parser.formula
    frac = calculus.derivative_fraction(parser, a, b)
    if frac is not None:
        (na, nb), (da, db), end = frac
        return ((na, nb), (da, db)) if f.skip(end, b) == b and not f.is_blank(na, nb) else None
    t = f[a]
    if t.text == r"\nabla":
        k = f.skip(a + 1, b)
        if k < b and f[k].text == "_":
            da, db, j = f.argument(k + 1, b, "_")
            return (j, b), (da, db)
        return None
    na = calculus.after_d(parser, a, b) if t.text == r"\partial" or t.text == "d" or t.text in (r"\mathrm", r"\text") else None
    if na is None:
        return None
    start = f.skip(na, b)
    name, k = parser.name_at(start, b) if start < b else (None, start)
    slash = f.skip(k, b)
    if name is None or slash >= b or f[slash].text != "/":
        return None
    da = calculus.after_d(parser, slash + 1, b)
    return ((na, k), (da, b)) if da is not None else None


def _is_loss(parser, name: Name, at: int) -> bool:
    try:
        value = parser.lexicon.value(name, at)
    except UnknownSymbolError:
        # another name for the loss (E, J, C…): one plain name, not a function
        return not (name.index or name.layer or name.superscript) and parser.lexicon.function(name) is None
    except ParseError:
        return False
    return value == parser.net.loss


def _names_something(parser, name: Name, at: int) -> bool:
    """Whether the network (or the caller's names) gives this name a meaning, for some index values."""
    # A generic name is something if some value of its letters names an entry; a family with
    # no entry at all (ŷ_i where a fused softmax + cross-entropy has no output step) names
    # nothing, and the line defines it. A concrete name out of range is a slip, not a definition.
    generic = bool(index_letters(name))
    for value in range(1, parser.lexicon.index_limit() + 1) if generic else (1,):
        trial = parser.lexicon.bound({**{letter: value for letter in INDEX_LETTERS}, **parser.lexicon.bindings})
        try:
            trial.value(name, at)
        except IndexOutOfRange:
            continue
        except (UnknownSymbolError, ParseError):
            return parser.lexicon.function(name) is not None
        return True
    return not generic


def written_names(parser, a: int, b: int):
    """Every name written in tokens ``a..b``, as ``(token index, Name)``, in order."""
    f = parser.formula
    i = a
    while i < b:
        if f[i].category in ("letter", "cmd"):
            try:
                name, j = parser.name_at(i, b)
            except ParseError:
                name, j = None, i + 1
            if name is not None:
                yield i, name
                i = max(j, i + 1)
                continue
        i += 1


def free_letters(parser, ranges) -> list[str]:
    """The generic index letters written in the token ranges, minus those a sum binds."""
    f = parser.formula
    letters: dict[str, bool] = {}
    bound: set[str] = set()
    for a, b in ranges:
        for i in range(a, b):
            if f[i].text == r"\sum":
                k = f.skip(i + 1, b)
                if k < b and f[k].text == "_":
                    x, y, _ = f.argument(k + 1, b, "_")
                    bound.add(f.group_text(x, y)[:1])
        for _, name in written_names(parser, a, b):
            for letter in index_letters(name):
                letters[letter] = True
    return [x for x in letters if x not in bound]
