"""Reading a network's text: declared names, and equations one assignment per line.

The text is checked token by token before sympy sees it: names must be declared
(parameters, inputs, targets, steps or functions), numbers and ``+ - * / ** ^`` and
brackets are all the arithmetic there is, so no user text reaches ``eval`` and an
error names the offending token and its line.

>>> eq = read_equations("u = w*x + b; L = (u - y)**2/2", params="w b", inputs="x", targets="y")
>>> [st.line for st in eq.steps], default_loss(eq.steps)
([1, 1], 'L')
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sympy
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

from ..errors import CycleError, LossError, ParseError, UnknownSymbolError
from . import functions as fn
from .names import real_symbol
from .step import Step
from .user_functions import user_function

__all__ = ["Equations", "function", "check_distinct", "range_notes", "with_range_note", "declared_names", "default_loss", "function_table", "names_in", "parse_expression", "read_equations"]


def declared_names(spec, what: str) -> tuple[sympy.Symbol, ...]:
    """Declared names: ``"w1:11 b1 b2"`` (sympy's range syntax) or an iterable of names/symbols."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        text = spec.replace(",", " ").strip()
        if not text:
            return ()
        try:
            made = sympy.symbols(text, seq=True)
        except Exception as exc:  # sympy raises ValueError/TypeError on bad ranges
            raise ParseError(f"cannot read the {what} list {spec!r}: {exc}", token=spec) from None
        names = [s.name for s in made]
    else:
        names = [s.name if isinstance(s, sympy.Symbol) else str(s) for s in spec]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ParseError(f"{name!r} in the {what} list is not a valid name", token=name)
    return tuple(real_symbol(n) for n in names)


# A numbered range as sympy reads it: w1:8, x_0:3, b(1:3), w:4 (from 0).
_RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*?)\(?(\d*):(\d+)\)?$")


def range_notes(*specs) -> dict[str, str]:
    """For each numbered range in declared name lists, the name just past its end and a note
    saying why that name was not declared: ``w1:8`` declares w1..w7, as a Python range
    stops before its end.

    >>> range_notes("w1:8 b1")
    {'w8': "'w1:8' declares w1 to w7: a range stops before its end number, as in Python (write w1:9 for w1 to w8)"}
    """
    notes: dict[str, str] = {}
    for spec in specs:
        if not isinstance(spec, str):
            continue
        for token in spec.replace(",", " ").split():
            m = _RANGE.match(token)
            if not m:
                continue
            base, start, end = m.group(1), int(m.group(2) or 0), int(m.group(3))
            if end <= start:
                continue
            past = f"{base}{end}"
            notes[past] = (
                f"{token!r} declares {base}{start} to {base}{end - 1}: a range stops before its end number, as in Python "
                f"(write {base}{start}:{end + 1} for {base}{start} to {past})"
            )
    return notes


def with_range_note(exc: UnknownSymbolError, notes: Mapping[str, str]) -> UnknownSymbolError:
    """``exc`` with the range note of its token appended, when the token is a name just past a range."""
    note = notes.get(exc.token or "")
    if not note:
        return exc
    return type(exc)(f"{exc}; note: {note}", token=exc.token, line=exc.line)


def check_distinct(groups: Mapping[str, Sequence[sympy.Symbol]], functions: Mapping[str, object]) -> None:
    seen: dict[str, str] = {}
    for what, symbols in groups.items():
        for s in symbols:
            if s.name in seen:
                where = "twice among the " + what if seen[s.name] == what else f"both among the {seen[s.name]} and the {what}"
                raise CycleError(f"{s.name!r} is declared {where}", token=s.name)
            if s.name in functions:
                raise CycleError(f"{s.name!r} is declared among the {what} but is also a function name", token=s.name)
            seen[s.name] = what


def function_table(functions: Mapping[str, str] | None) -> dict[str, type]:
    """The functions a text may call: every callable row, and ``functions``, which names
    a kind for each of the text's own names (``{"g": "sigmoid"}``) or defines one by an
    expression of x (``{"swish": "x*sigmoid(x)"}``)."""
    table = {name: fn.resolve(name) for name in fn.FUNCTION_NAMES}
    for name, kind in (functions or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ParseError(f"function name {name!r} is not a valid name", token=str(name))
        if isinstance(kind, type) and issubclass(kind, sympy.Function):
            table[name] = kind  # a function made by symgrad.function
        elif isinstance(kind, str) and "x" in names_in(kind):
            table[name] = user_function(name, _definition(name, kind, table))
        else:
            table[name] = fn.resolve(name, kind)
    return table


def _definition(name: str, text: str, table: Mapping[str, type]) -> sympy.Expr:
    return parse_expression(text, {"x": fn.DEFINITION_VARIABLE}, table, where=f"the definition of {name}")


def function(name: str, forward: str, derivative: str | None = None) -> type:
    """Define a function by an expression of ``x`` (and, optionally, its derivative), and
    make it known by ``name`` everywhere: in equations, in ``functions=`` and in
    ``mlp(activation=...)``. A derivative given is checked against the expression's own.

    >>> import sympy, symgrad as sg
    >>> mysoft = function("mysoft", forward="log(1 + exp(x))", derivative="sigmoid(x)")
    >>> net = sg.Network.from_equations("L = mysoft(w) * y", params="w", targets="y")
    >>> net.grad("w").factored
    y*sigmoid(w)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ParseError(f"function name {name!r} is not a valid name", token=str(name))
    table = function_table(None)
    table.pop(name, None)  # a definition may not call the function it defines
    cls = user_function(
        name,
        _definition(name, forward, table),
        None if derivative is None else parse_expression(derivative, {"x": fn.DEFINITION_VARIABLE}, table, where=f"the derivative of {name}"),
    )
    fn.register(cls.row)
    return cls


_ALLOWED_OPS = {"+", "-", "*", "/", "**", "^", "(", ")", ","}
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)(.*)$", re.S)


@dataclass(frozen=True)
class _Statement:
    target: str
    rhs: str
    line: int


def _split_statements(text: str) -> list[_Statement]:
    statements = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        code = raw.split("#", 1)[0]
        for part in code.split(";"):
            if not part.strip():
                continue
            m = _ASSIGNMENT.match(part)
            if not m:
                token = part.strip().split()[0] if part.strip() else part
                raise ParseError(
                    f"line {lineno}: expected 'name = expression', got {part.strip()!r}",
                    token=token,
                    line=lineno,
                )
            statements.append(_Statement(m.group(1), m.group(2).strip(), lineno))
    return statements


def parse_expression(
    text: str,
    names: Mapping[str, sympy.Basic],
    functions: Mapping[str, type],
    *,
    where: str,
    line: int | None = None,
) -> sympy.Expr:
    """``text`` read as arithmetic over ``names`` and calls of ``functions``.

    Every token is checked before sympy's parser sees the text: a name must be one of
    ``names`` or ``functions``; numbers, ``+ - * / ** ^``, brackets and commas are the
    rest. ``where`` (and ``line``) say where the text came from in an error.

    >>> x = real_symbol("x")
    >>> parse_expression("2*x^2 + sigmoid(x)", {"x": x}, function_table(None), where="f")
    2*x**2 + sigmoid(x)
    >>> parse_expression("2x", {"x": x}, {}, where="f")
    Traceback (most recent call last):
    ...
    symgrad.errors.ParseError: f: write '2*x' for a product (no implicit multiplication)
    """
    _check_tokens(text, names, functions, where, line)
    # Tokens were checked already, so the namespace holds every name the text can
    # reach and the parser's globals nothing but number constructors.
    try:
        expr = parse_expr(
            text,
            local_dict={**names, **functions},
            global_dict=dict(_PARSER_GLOBALS),
            transformations=(auto_number, rationalize, convert_xor),
        )
    except SyntaxError:
        raise ParseError(f"{where}: syntax error in {text!r}", token=text, line=line) from None
    except (TypeError, ValueError) as exc:
        raise ParseError(f"{where}: cannot build {text!r}: {exc}", token=text, line=line) from None
    if not isinstance(expr, sympy.Expr):
        raise LossError(f"{where}: {text!r} is not a scalar expression (a tuple or a comparison?)", token=text, line=line)
    return expr


def _check_tokens(text: str, known: Mapping[str, object], functions: Mapping[str, type], where: str, line: int | None) -> None:
    """Reject anything but names, numbers and arithmetic before sympy sees the text."""
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"{where}: cannot read {text!r}: {exc}", token=text, line=line) from None
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else None
        if tok.type == tokenize.NAME:
            if tok.string in functions:
                if nxt != "(":
                    raise ParseError(f"{where}: function {tok.string!r} is used without an argument", token=tok.string, line=line)
            elif tok.string in known:
                if nxt == "(":
                    raise ParseError(f"{where}: {tok.string!r} is not a function (declare it with functions={{...}})", token=tok.string, line=line)
            else:
                raise UnknownSymbolError(
                    f"{where}: unknown name {tok.string!r}; it is not a parameter, input, target, step or function",
                    token=tok.string,
                    line=line,
                )
        elif tok.type == tokenize.NUMBER:
            if tok.string[-1:] in "jJ":
                raise ParseError(f"{where}: complex number {tok.string!r}", token=tok.string, line=line)
            if nxt is not None and tokens[i + 1].type == tokenize.NAME:
                raise ParseError(
                    f"{where}: write '{tok.string}*{nxt}' for a product (no implicit multiplication)",
                    token=tok.string + nxt,
                    line=line,
                )
        elif tok.type == tokenize.OP:
            if tok.string not in _ALLOWED_OPS:
                raise ParseError(f"{where}: {tok.string!r} is not allowed (only + - * / ** ^ and brackets)", token=tok.string, line=line)
        else:
            raise ParseError(f"{where}: unexpected {tok.string!r}", token=tok.string, line=line)


_PARSER_GLOBALS = {
    "Integer": sympy.Integer,
    "Float": sympy.Float,
    "Rational": sympy.Rational,
    "__builtins__": {},
}


@dataclass(frozen=True)
class Equations:
    """What :func:`read_equations` read: the declared symbols, the function table and the steps."""

    params: tuple[sympy.Symbol, ...]
    inputs: tuple[sympy.Symbol, ...]
    targets: tuple[sympy.Symbol, ...]
    functions: dict[str, type]
    steps: list[Step]
    range_notes: dict[str, str] = field(default_factory=dict)


def read_equations(text: str, params, inputs=None, targets=None, functions: Mapping[str, str] | None = None) -> Equations:
    """Read one assignment per line (``;`` also separates, ``#`` comments) into steps.

    >>> eq = read_equations("h = w*x; L = (h - y)**2", params="w", inputs="x", targets="y")
    >>> [str(st) for st in eq.steps], eq.params
    (['h = w*x', 'L = (h - y)**2'], (w,))
    """
    if not isinstance(text, str):
        raise ParseError(f"equations must be text, got {type(text).__name__}")
    table = function_table(functions)
    ps, xs, ys = declared_names(params, "parameters"), declared_names(inputs, "inputs"), declared_names(targets, "targets")
    check_distinct({"parameters": ps, "inputs": xs, "targets": ys}, table)
    statements = _split_statements(text)
    if not statements:
        raise LossError("the equations are empty: no 'name = expression' line found")
    declared = {s.name: s for s in ps + xs + ys}
    step_symbols: dict[str, sympy.Symbol] = {}
    first_line: dict[str, int] = {}
    for st in statements:
        if st.target in declared:
            raise CycleError(
                f"line {st.line}: {st.target!r} is declared as a parameter, input or target and cannot be assigned",
                token=st.target,
                line=st.line,
            )
        if st.target in table:
            raise CycleError(f"line {st.line}: {st.target!r} is a function name and cannot be assigned", token=st.target, line=st.line)
        if st.target in first_line:
            raise CycleError(
                f"line {st.line}: {st.target!r} is assigned again (first on line {first_line[st.target]})",
                token=st.target,
                line=st.line,
            )
        first_line[st.target] = st.line
        step_symbols[st.target] = real_symbol(st.target)
    names = {**declared, **step_symbols}
    notes = range_notes(params, inputs, targets)
    steps = []
    for st in statements:
        if not st.rhs:
            raise ParseError(f"line {st.line}: nothing after '{st.target} ='", token=st.target, line=st.line)
        try:
            expr = parse_expression(st.rhs, names, table, where=f"line {st.line} ({st.target} = {st.rhs})", line=st.line)
        except LossError as exc:  # not a scalar: the step is what is wrong
            raise LossError(str(exc), token=st.target, line=st.line) from None
        except UnknownSymbolError as exc:  # w8 used where w1:8 declared w1..w7: say why
            raise with_range_note(exc, notes) from None
        if step_symbols[st.target] in expr.free_symbols:
            raise CycleError(f"line {st.line}: {st.target!r} is defined in terms of itself", token=st.target, line=st.line)
        steps.append(Step(step_symbols[st.target], expr, st.line))
    return Equations(ps, xs, ys, table, steps, notes)


def names_in(text: str) -> set[str]:
    try:
        return {t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME}
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"cannot read {text!r}: {exc}", token=text) from None


def default_loss(steps: list[Step]) -> str:
    """The last line, when nothing uses it; else the one step nothing uses (loss written first)."""
    used = set().union(*(st.expr.free_symbols for st in steps))
    sinks = [st for st in steps if st.target not in used]
    last = steps[-1]
    if last.target not in used:
        return last.target.name
    if len(sinks) == 1:
        return sinks[0].target.name
    names = ", ".join(st.target.name for st in sinks)
    raise LossError(f"cannot tell which step is the loss: {names} are not used by any other step; pass loss=", token=names)
