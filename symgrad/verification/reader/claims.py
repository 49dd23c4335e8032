r"""Claims: a hand-written derivative, as LaTeX, Python text or sympy, read into a network's symbols.

A LaTeX claim may be a derivation ``A = B = C``: a leading
``\frac{\partial Loss}{\partial w_7}`` names the parameter and is dropped, and every
other right-hand side is a line of its own, checked on its own. ``\left``,
``\right``, thin spaces and alignment marks are dropped. A lone closing bracket (a
common slip when a derivation is typed by hand) does not stop the reading: the claim
is read without it, and :attr:`Claim.readings` holds every other place its opening
bracket could go, for the verifier to try.

An unknown name, an unknown command or an unbalanced bracket raises
:class:`~symgrad.errors.ParseError` / :class:`~symgrad.errors.UnknownSymbolError`
naming the token; the reader never guesses.

>>> import symgrad as sg
>>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
>>> read_latex(net, r"(o - y)\, g'(u)\, x").lines[0]
x*(1 - g(u))*(o - y)*g(u)
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import sympy

from ...errors import LossError, ParseError, SymgradError, UnknownSymbolError
from ...model import functions as fn
from ...model.equations import parse_expression
from .lexicon import Lexicon
from .names import Name, network_names, parse_name
from .parser import Parser
from .tokens import CLOSE, OPEN, Formula, Token, column, tokenize

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network

__all__ = ["NOTATIONS", "Claim", "TooLarge", "lexicon", "read_claim", "read_latex", "read_python", "read_sympy", "stray_readings"]

#: The notations a claim can be written in.
NOTATIONS = ("latex", "python", "sympy")


@dataclass(frozen=True)
class Claim:
    """A claim read into the network's symbols.

    ``lines`` holds one expression per right-hand side (a derivation ``A = B = C`` has
    three); ``wrt`` is the parameter named by a leading ``\\frac{\\partial Loss}{\\partial w}``,
    if any; ``notation`` is ``"latex"``, ``"python"`` or ``"sympy"``.
    """

    lines: tuple[sympy.Expr, ...]
    notation: str
    wrt: sympy.Symbol | None = None
    source: str | None = None
    #: For LaTeX with a closing bracket that has no opening one: the claim is read without
    #: it (``lines``), and ``readings`` holds every other place its opening bracket could go,
    #: as ``(where, lines)``, so that a verdict can hold for all of them or name the one that fits.
    readings: tuple[tuple[str, tuple[sympy.Expr, ...]], ...] = ()
    stray: str | None = None  # the lone closing bracket and where it is, for messages


def read_claim(net: "Network", claim, *, notation: str | None = None, names: Mapping | None = None) -> Claim:
    """Read ``claim`` (LaTeX, Python text or a sympy expression) over ``net``'s symbols.

    ``notation=None`` tells them apart: a sympy object or a number is ``"sympy"``; text
    with a backslash or a brace is LaTeX; other text is Python when Python reads it with
    the network's names, else LaTeX. ``names`` maps a name as the claim writes it to the
    network's (``{"z_1": "y1"}``), to a function kind (``{"f": "sigmoid"}``) or to an
    expression.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> read_claim(net, "2*x2*(x1*x2 - 3)").notation, read_claim(net, r"2x_2(x_1 x_2 - 3)").notation
    ('python', 'latex')
    """
    if notation not in (None, *NOTATIONS):
        raise SymgradError(f"unknown claim notation {notation!r} (use 'latex', 'python' or 'sympy')", token=str(notation))
    if notation == "sympy" or (notation is None and not isinstance(claim, str)):
        return read_sympy(net, claim, names=names)
    if not isinstance(claim, str):
        raise ParseError(f"a {notation} claim must be text, got {type(claim).__name__}")
    if notation == "latex":
        return read_latex(net, claim, names=names)
    if notation == "python":
        return read_python(net, claim, names=names)
    Formula.check_length(claim)
    if re.search(r"[\\{}$]", claim):
        return read_latex(net, claim, names=names)
    try:
        ast.parse(claim.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return read_latex(net, claim, names=names)
    try:
        return read_python(net, claim, names=names)
    except TooLarge:
        raise
    except SymgradError as python_error:
        # ``x_2*(x_1*x_2 - 3)`` is valid Python with LaTeX-style names: try them as LaTeX.
        try:
            return read_latex(net, claim, names=names)
        except SymgradError:
            raise python_error from None


def lexicon(net: "Network", names: Mapping | None = None) -> Lexicon:
    """The :class:`~.names.Lexicon` of ``net`` with the caller's ``names={...}`` mapping:
    a claim's name → a network name, a function kind, a function class or an expression."""
    table = network_names(net)
    symbols: dict[tuple, sympy.Expr] = {}
    functions: dict[str, type] = {}
    for written, meaning in (names or {}).items():
        parsed = parse_name(str(written))
        if parsed is None:
            raise ParseError(f"names=: cannot read {written!r} as a name", token=str(written))
        if isinstance(meaning, type) and issubclass(meaning, sympy.Function):
            functions[parsed.base] = meaning
            continue
        if isinstance(meaning, str) and meaning in fn.ALIASABLE_NAMES and meaning not in table.plain:
            functions[parsed.base] = fn.resolve(meaning)
            continue
        if isinstance(meaning, str):
            expr = table.plain.get(meaning)
            if expr is None:
                expr = read_python(net, meaning).lines[0]
        else:
            expr = read_sympy(net, meaning).lines[0]
        symbols[parsed.key] = expr
    return Lexicon(net, symbols, functions)


# --------------------------------------------------------------------------- LaTeX


def read_latex(net: "Network", text: str, *, names: Mapping | None = None) -> Claim:
    r"""Read a LaTeX claim over ``net``'s symbols (see the module notes for the notation).

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> claim = read_latex(net, r"\frac{\partial f}{\partial x_1} = 2x_2\left(x_1 x_2 - 3\right)")
    >>> claim.lines, claim.wrt
    ((2*x2*(x1*x2 - 3),), x1)
    """
    reading = _LatexClaim(net, text, lexicon(net, names))
    lines, wrt = reading.lines()
    if reading.formula.stray is None:
        return Claim(lines, "latex", wrt, text)
    stray, readings, segment = reading.stray_readings()
    offset = len(lines) - (len(reading.formula.equals) + 1)  # segments dropped in front (a left side)
    index = segment + offset
    if not 0 <= index < len(lines):
        raise reading.formula.stray_error
    alternatives = tuple((where, lines[:index] + (expr,) + lines[index + 1 :]) for where, expr in readings)
    return Claim(lines, "latex", wrt, text, alternatives, stray)


class _LatexClaim:
    """One LaTeX claim being read: its formula, its lines and its left side."""

    def __init__(self, net: "Network", text: str, lexicon: Lexicon):
        self.net = net
        self.text = text
        self.lexicon = lexicon
        self.formula = Formula(text, allow_stray=True)
        self.parser = Parser(net, self.formula, lexicon)

    def lines(self) -> tuple[tuple[sympy.Expr, ...], sympy.Symbol | None]:
        f = self.formula
        bounds = [-1] + f.equals + [len(f)]
        segments = [(a + 1, b) for a, b in zip(bounds, bounds[1:])]
        wrt = None
        if len(segments) > 1:
            first = segments[0]
            if f.is_blank(*first):
                segments = segments[1:]  # "&= …": nothing on the left
            else:
                lhs = self._loss_derivative(*first)
                if lhs is not None:
                    wrt = lhs
                    segments = segments[1:]
        exprs = []
        for a, b in segments:
            if f.is_blank(a, b):
                at = f[a - 1] if a > 0 else None
                raise ParseError(f"{column(at) + ': ' if at else ''}nothing after '='", token="=")
            exprs.append(self.parser.expression(a, b))
        if not exprs:
            raise ParseError("the claim is empty", token="")
        return tuple(exprs), wrt

    def _loss_derivative(self, a: int, b: int) -> sympy.Symbol | None:
        """``\\frac{\\partial Loss}{\\partial w_7}`` (bracketed, with an evaluation subscript or not)
        on the left of the first '=': the parameter it names, or None if it is something else."""
        f, parser = self.formula, self.parser
        a, b = f.trim(a, b)
        while a < b and f.is_opener(a):
            close = f.pairs[a]
            after = f.after_bracket(close, b)
            if f.skip(after, b) != b:
                break
            a, b = f.trim(f.inner_start(a), close)
        frac = parser.derivative_fraction(a, b)
        if frac is None:
            return None
        (num_a, num_b), (den_a, den_b), end = frac
        if f.skip(end, b) != b:
            return None
        of, k = parser.name_at(f.skip(num_a, num_b), num_b)
        if of is None or f.skip(k, num_b) != num_b:
            return None
        wrt_name, k = parser.name_at(f.skip(den_a, den_b), den_b)
        if wrt_name is None or f.skip(k, den_b) != den_b:
            raise ParseError(f"the left side {f.source(a, b)!r} is not a derivative with respect to one parameter", token=f.source(den_a, den_b))
        try:
            target = self.lexicon.symbol(of)
        except UnknownSymbolError:
            target = None  # another name for the loss (L, E, J…)
        if target is not None and target != self.net.loss:
            raise SymgradError(
                f"the left side {f.source(a, b)!r} is a derivative of {of.text!r}, not of the loss {self.net.loss.name!r}",
                token=of.text,
            )
        p = self.lexicon.symbol(wrt_name)
        if p not in self.net.params:
            raise SymgradError(f"the left side differentiates with respect to {wrt_name.text!r}, which is not a parameter", token=wrt_name.text)
        return p

    def stray_readings(self) -> tuple[str, list[tuple[str, sympy.Expr]], int]:
        """The lone closer, the segment it is in read with its opening bracket at each place
        it could go, and the segment's number."""
        f = self.formula
        bounds = [-1] + f.equals + [len(f)]
        segment = next(n for n, (a, b) in enumerate(zip(bounds, bounds[1:])) if a < f.stray < b)
        stray, readings = stray_readings(self.parser, self.text, bounds[segment] + 1, bounds[segment + 1])
        return stray, readings, segment


def stray_readings(parser: Parser, text: str, a: int, b: int) -> tuple[str, list[tuple[str, object]]]:
    """A formula's lone closing bracket (in tokens ``a..b``), and that range read with its
    opening bracket at each place it could go: before any operand at its own bracket
    level, back to the start of the group (or of the range) it is in."""
    f = parser.formula
    i = f.stray
    original = tokenize(text)[i]
    opener_text = CLOSE[original.text]
    start = a
    for o, c in f.pairs.items():  # the innermost group around the stray closer
        if o < i < c and o >= start:
            start = f.inner_start(o)
    readings = []
    j = start
    previous: Token | None = None
    while j < i:
        t = f[j]
        if t.category in ("space", "newline"):
            j += 1
            continue
        if _operand_start(t) and (previous is None or _operand_boundary(previous)):
            toks = list(f.tokens)
            toks[i] = original
            toks.insert(j, tokenize(opener_text)[0].at(t.pos))
            other = Parser(parser.net, Formula(text, toks), parser.lexicon)
            where = f"'{opener_text}' before column {t.pos + 1} ({' '.join(text[t.pos:t.pos + 24].split())}…)"
            try:
                readings.append((where, other.expression(a, b + 1)))
            except SymgradError:
                pass  # an opening bracket there does not make a formula
        if j in f.pairs:  # step over a whole bracket group
            close = f.pairs[j]
            if f[close].text == r"\right":
                close = f.delimiter_index(close)
            previous, j = f[close], close + 1
            continue
        previous = t
        j += 1
    return f"'{original.text}' at {column(original)}", readings


_OPERATORS = ("+", "-", "*", "/", r"\times", r"\cdot", r"\ast", r"\odot", r"\div", "|")


def _operand_start(t: Token) -> bool:
    return t.category in ("letter", "digit", "cmd") and t.text not in (r"\times", r"\cdot", r"\ast", r"\odot", r"\div", r"\right") or (
        t.text in OPEN or t.text == "|"
    )


def _operand_boundary(previous: Token) -> bool:
    """Whether an operand may start right after ``previous`` (an operator or a closing bracket)."""
    return previous.text in _OPERATORS or previous.text in CLOSE


# --------------------------------------------------------------------------- Python and sympy


def read_python(net: "Network", text: str, *, names: Mapping | None = None) -> Claim:
    """Read a claim written in Python syntax with the network's own names.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> read_python(net, "2*x2*(x1*x2 - 3)").lines
    (2*x2*(x1*x2 - 3),)
    """
    table = network_names(net)
    local: dict[str, object] = dict(table.plain)
    local.update({"E": sympy.E, "pi": sympy.pi})
    functions: dict[str, object] = dict(table.functions)
    functions["ln"] = sympy.log
    for written, meaning in (names or {}).items():
        if not str(written).isidentifier():
            continue
        if isinstance(meaning, str) and meaning in table.plain:
            local[str(written)] = table.plain[meaning]
        elif isinstance(meaning, str) and meaning in fn.ALIASABLE_NAMES:
            functions[str(written)] = fn.resolve(meaning)
        elif isinstance(meaning, str):
            local[str(written)] = read_python(net, meaning).lines[0]
        elif isinstance(meaning, type) and issubclass(meaning, sympy.Function):
            functions[str(written)] = meaning
        else:
            local[str(written)] = sympy.sympify(meaning)

    def unknown(name: str) -> str:
        return f"unknown name {name!r}: it is not a parameter, input, target, step or function of network {net.name!r}" + table.suggestions(name)

    _refuse_huge_powers(text)
    try:
        expr = parse_expression(text.strip(), local, functions, where="claim", unknown=unknown)
    except LossError as exc:  # a tuple or a comparison: the claim is not one formula
        raise ParseError(str(exc), token=exc.token) from None
    except RecursionError:
        raise ParseError("the claim is nested too deeply to read (thousands of brackets or signs)", token=text[:20]) from None
    return Claim((expr,), "python", None, text)


_MAX_LOG10 = 10_000  # a number with more digits than this is refused before it is computed


class TooLarge(ParseError):
    """A literal too large to evaluate: refused as it is, not read another way."""


def _refuse_huge_powers(text: str) -> None:
    """Refuse powers such as ``10**10**10`` by their size, before Python or sympy compute them."""
    text = text.strip().replace("^", "**")  # as the parser reads ^, right to left
    Formula.check_length(text)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return  # the parser reports it, naming the token
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.BitXor)):
            exponent = _log10(node.right)
            size = _log10(node)
            if (exponent is not None and exponent > 4) or (size is not None and size > _MAX_LOG10):
                written = ast.get_source_segment(text, node) or text
                raise TooLarge(f"the power {written[:40]!r} is too large to evaluate", token=written[:40])


def _log10(node) -> float | None:
    """log₁₀ of the size of a numeric expression (an estimate from above), None if it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        value = abs(node.value)
        return (len(str(value)) if isinstance(value, int) and value > 10**300 else math.log10(value)) if value else 0.0
    if isinstance(node, ast.UnaryOp):
        return _log10(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _log10(node.left), _log10(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, (ast.Pow, ast.BitXor)):
            return math.inf if b > 300 else max(a, 0.0) * 10**b
        if isinstance(node.op, ast.Mult):
            return a + b
        if isinstance(node.op, ast.Div):
            return a
        return max(a, b) + 1
    return None


def read_sympy(net: "Network", expr, *, names: Mapping | None = None) -> Claim:
    """Take a sympy expression (or a number), matching its symbols and functions to the network's by name.

    >>> import sympy, symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> x1, x2 = sympy.symbols("x1 x2")
    >>> read_sympy(net, 2*x2*(x1*x2 - 3)).lines[0].free_symbols == {net.symbol("x1"), net.symbol("x2")}
    True
    """
    try:
        expr = sympy.sympify(expr, strict=True)
    except (sympy.SympifyError, TypeError):
        raise ParseError(f"a claim must be a formula, got {type(expr).__name__}", token=type(expr).__name__) from None
    if not isinstance(expr, sympy.Expr):
        raise ParseError(f"a claim must be a scalar expression, got {type(expr).__name__}", token=type(expr).__name__)
    meaning = lexicon(net, names)
    table = meaning.table
    mapping: dict[sympy.Basic, sympy.Expr] = {}
    for s in expr.free_symbols:
        if s in table.symbols:
            continue
        parsed = parse_name(s.name) or Name(base=s.name)
        found = meaning.symbols.get(parsed.key)
        if found is None:
            found = table.plain.get(s.name)
        if found is None:
            found = table.lookup(parsed.key)
        if found is None:
            raise UnknownSymbolError(
                f"unknown name {s.name!r}: it is not a parameter, input, target or step of network {net.name!r}"
                + table.suggestions(s.name),
                token=s.name,
            )
        mapping[s] = found
    expr = expr.xreplace(mapping)
    for app in sorted(expr.atoms(sympy.core.function.AppliedUndef), key=sympy.default_sort_key):
        name = type(app).__name__.lstrip("\\")
        func = meaning.functions.get(name) or table.functions.get(name)
        if func is None and name == "sigma":
            func = fn.sigmoid
        if func is None:
            raise UnknownSymbolError(f"unknown function {name!r} in the claim", token=name)
        expr = expr.xreplace({app: func(*app.args)})
    if expr.has(sympy.Derivative):
        expr = expr.doit()
    expr = expr.xreplace({f: sympy.Rational(str(f)) for f in expr.atoms(sympy.Float)})
    return Claim((expr,), "sympy", None, None)
