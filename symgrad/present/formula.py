r"""Formulas with their structure kept: where a long formula may break, known before printing.

A formula is a tree of three kinds of node: an :class:`Atom` (LaTeX that never breaks,
such as ``\frac{\partial \mathrm{Loss}}{\partial w_{7}}``), a :class:`Group` (a bracketed
body, possibly a function's argument, ``\sigma\left( … \right)``) and a :class:`Chain`
(items joined by ``+``, ``-``, ``\cdot`` or juxtaposition). Printed flat (:func:`latex`)
a tree gives exactly the LaTeX symgrad has always printed; :func:`break_lines` cuts it
into lines no wider than a given width, at the outermost ``+`` or ``·`` first, then inside
brackets, so a long derivative reads as a hand derivation would set it.

Widths are estimates in em (the width of the font's "M"), from the glyphs a formula
shows; they err on the wide side.

>>> f = Chain(Atom("a"), (("+", Atom("b")), ("+", Atom("c"))))
>>> latex(f)
'a + b + c'
>>> [line.latex for line in break_lines(f, 3.5)]
['a + b', '+ c']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Union

__all__ = ["Atom", "Chain", "Group", "Line", "Node", "break_lines", "join", "latex", "width"]


@dataclass(frozen=True)
class Atom:
    """LaTeX that is never broken."""

    latex: str


@dataclass(frozen=True)
class Group:
    r"""``prefix \left{open} body \right{close} suffix``: ``\sigma\left(x + y\right)``, ``\left(x - 3\right)^{2}``."""

    body: "Node"
    open: str = "("
    close: str = ")"
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Chain:
    r"""``first``, then each ``(operator, item)``: operators are ``+``, ``-``, ``\cdot``, ``\odot`` or ``""`` (juxtaposition)."""

    first: "Node"
    rest: tuple[tuple[str, "Node"], ...]

    @property
    def items(self) -> list[tuple[str, "Node"]]:
        return [("", self.first), *self.rest]


Node = Union[Atom, Group, Chain]

#: How an operator joins two items in flat LaTeX.
SEPARATORS = {"+": " + ", "-": " - ", r"\cdot": r" \cdot ", r"\odot": r" \odot ", "": " ", "=": " = "}


def join(operator: str, nodes: Iterable[Node]) -> Node:
    r"""The nodes joined by ``operator``, flattening chains of that same operator (so
    ``a·(b·c)`` printed without brackets breaks at either ``·``).

    >>> latex(join(r"\cdot", [Atom("a"), join(r"\cdot", [Atom("b"), Atom("c")])]))
    'a \\cdot b \\cdot c'
    """
    items: list[Node] = []
    for n in nodes:
        if isinstance(n, Chain) and all(op == operator for op, _ in n.rest):
            items.append(n.first)
            items.extend(item for _, item in n.rest)
        else:
            items.append(n)
    if not items:
        raise ValueError("join needs at least one node")
    if len(items) == 1:
        return items[0]
    return Chain(items[0], tuple((operator, n) for n in items[1:]))


def latex(node: Node) -> str:
    """The node printed on one line."""
    if isinstance(node, Atom):
        return node.latex
    if isinstance(node, Group):
        return rf"{node.prefix}\left{node.open}{latex(node.body)}\right{node.close}{node.suffix}"
    return latex(node.first) + "".join(SEPARATORS[op] + latex(item) for op, item in node.rest)


# --------------------------------------------------------------------------- widths

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[^\\]")
_WIDE = {r"\partial": 0.6, r"\nabla": 0.85, r"\cdot": 0.75, r"\odot": 1.25, r"\oslash": 1.25, r"\circ": 0.5,
         r"\quad": 1.0, r"\qquad": 2.0, r"\,": 0.17, r"\;": 0.28, r"\ ": 0.33, r"\|": 0.5, r"\ldots": 1.2,
         r"\cdots": 1.2, r"\times": 1.25, r"\infty": 1.0, r"\sum": 1.1, r"\{": 0.5, r"\}": 0.5}
_WORDS = {r"\log": 1.3, r"\exp": 1.7, r"\tanh": 2.1, r"\ln": 1.0, r"\sin": 1.3, r"\cos": 1.5, r"\max": 1.9, r"\min": 1.8}
_ZERO = {r"\left", r"\right", r"\displaystyle", r"\!", r"\limits", r"\nolimits"}
_ARGUMENT = {r"\hat", r"\bar", r"\tilde", r"\vec", r"\mathbf", r"\mathrm", r"\mathit", r"\boldsymbol", r"\text", r"\mathsf"}
_NARROW = set("[]|,;.'!:/")


def _char(c: str) -> float:
    if c.isdigit():
        return 0.5
    if c.isupper():
        return 0.75
    if c.isalpha():
        return 0.55 if c not in "ijlft" else 0.4
    if c in "+-=<>":
        return 1.3  # the glyph and the space either side of a binary operator
    if c in "()":
        return 0.45
    if c in _NARROW:
        return 0.4
    return 0.0 if c.isspace() else 0.6


class _Measure:
    """A LaTeX string's width in em (an estimate: one pass over its tokens)."""

    def __init__(self, text: str):
        self.tokens = _TOKEN.findall(text)
        self.i = 0

    def group(self) -> float:
        """The next argument: a braced group or a single token."""
        if self.i >= len(self.tokens):
            return 0.0
        if self.tokens[self.i] == "{":
            self.i += 1
            return self.run(until="}")
        return self.one()

    def run(self, until: str | None = None) -> float:
        total = 0.0
        while self.i < len(self.tokens):
            if until is not None and self.tokens[self.i] == until:
                self.i += 1
                break
            total += self.one()
        return total

    def scripts(self) -> float:
        """Superscripts and subscripts after a base: the wider one, at script size."""
        sizes = []
        while self.i < len(self.tokens) and self.tokens[self.i] in ("^", "_"):
            self.i += 1
            sizes.append(0.72 * self.group())
        return max(sizes, default=0.0)

    def one(self) -> float:
        t = self.tokens[self.i]
        self.i += 1
        if t == "{":
            w = self.run(until="}")
        elif t in ("^", "_"):
            self.i -= 1
            return self.scripts()
        elif t == r"\frac":
            w = max(self.group(), self.group()) + 0.25
        elif t in _ARGUMENT:
            w = self.group()
        elif t == r"\operatorname":
            w = self.group() + 0.17
        elif t in _ZERO:
            w = 0.0
        elif t in _WIDE:
            w = _WIDE[t]
        elif t in _WORDS:
            w = _WORDS[t]
        elif t.startswith("\\") and len(t) > 2:
            w = 0.65  # a Greek letter or another single symbol
        elif t.startswith("\\"):
            w = _char(t[1])
        else:
            w = _char(t)
        return w + self.scripts()


def _text_width(text: str) -> float:
    return _Measure(text).run()


def width(node: Node | str) -> float:
    """The estimated width of a node (or of LaTeX) in em.

    >>> round(width(r"\\frac{\\partial \\mathrm{Loss}}{\\partial w_{7}}"), 2)
    3.25
    """
    if isinstance(node, str):
        return _text_width(node)
    if isinstance(node, Atom):
        return _text_width(node.latex)
    if isinstance(node, Group):
        return _text_width(node.prefix) + 0.8 + width(node.body) + _text_width("x" + node.suffix) - 0.55
    return width(node.first) + sum(_operator_width(op) + width(item) for op, item in node.rest)


def _operator_width(op: str) -> float:
    return _text_width(op)


# --------------------------------------------------------------------------- breaking


@dataclass(frozen=True)
class Line:
    """One line of a broken formula: its LaTeX (a continuation line starts with its operator,
    e.g. ``+ c``) and estimated width."""

    latex: str
    width: float
    continued: bool = False  # a continuation line, which starts with an operator


def _unbreakable(node: Node) -> Line:
    return Line(latex(node), width(node))


def _open(group: Group) -> str:
    # A bracket cut across lines cannot be \left … \right; a fixed size matches its other half.
    big = r"\Bigl" if r"\frac" in latex(group.body) else ""
    return group.prefix + big + group.open


def _close(group: Group) -> str:
    big = r"\Bigr" if r"\frac" in latex(group.body) else ""
    return big + group.close + group.suffix


def _prefixed(op: str, line: Line) -> Line:
    """``line`` with the operator that joins it to what comes before."""
    if not op:
        return line
    return Line(op + " " + line.latex, line.width + _operator_width(op), True)


def break_lines(node: Node, limit: float) -> list[Line]:
    """Cut ``node`` into lines no wider than ``limit`` em where it can be cut: at its
    outermost operators first, inside brackets only where one item is too wide alone."""
    if width(node) <= limit or isinstance(node, Atom):
        return [_unbreakable(node)]
    if isinstance(node, Group):
        opening, closing = _open(node), _close(node)
        inner = break_lines(node.body, limit - width(opening) - width(closing))
        first, last = inner[0], inner[-1]
        lines = [Line(opening + first.latex, first.width + width(opening), first.continued)] + inner[1:]
        last = lines[-1]
        lines[-1] = Line(last.latex + closing, last.width + width(closing), last.continued)
        return lines
    lines: list[Line] = []
    current: Line | None = None
    for op, item in node.items:
        piece = _prefixed(op, _unbreakable(item))
        if current is not None and current.width + piece.width <= limit:
            current = Line(current.latex + SEPARATORS[op] + latex(item), current.width + piece.width, current.continued)
            continue
        if current is not None:
            lines.append(current)
        if piece.width <= limit:
            current = piece
            continue
        parts = break_lines(item, limit - _operator_width(op))
        parts[0] = _prefixed(op, parts[0]) if op else parts[0]
        lines.extend(parts[:-1])
        current = parts[-1]
    if current is not None:
        lines.append(current)
    return lines
