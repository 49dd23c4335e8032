r"""Diagnoses found by changing what the claim writes, one thing at a time.

Where the value-based diagnosis (:mod:`.diagnose`) finds no single mistake, or where
there is no chain-rule structure to compare with (a matrix formula, an error term),
the claim itself is varied, and re-read, one change at a time: a matrix transposed
(or a transpose dropped), a name's layer moved by one, its two indices swapped, a
missing ``\odot f'(u^{(l)})`` put back, one bracket moved to another place. The first
change that makes the claim hold names the slip, with the token and its column.

>>> import symgrad as sg
>>> v = sg.verify(sg.mlp([3, 4, 2]), None, r"\nabla_{W^{(2)}} L = \delta^{(2)} \mathbf{x}^{(1)}")
>>> v.mistake, v.diagnosis.split(": ")[1]
('transposed', 'transposition slip')
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import sympy

from ..errors import SymgradError
from ..present.latex import name_latex
from .comparison import agreement, entries
from .diagnose import Finding
from .reader.equations import written_names
from .reader.lexicon import Lexicon, Variant
from .reader.matrices import Matrix
from .reader.names import FUNCTION_COMMANDS
from .reader.parser import Parser
from .reader.tokens import OPEN, Formula, Token, column

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network
    from .sampling import Sample

__all__ = ["adjoint_named", "correct_form", "find"]

_MAX_VARIANTS = 400
_TRANSPOSES = ("T", r"\top", r"\intercal")


def find(net: "Network", formula: Formula, lexicon: Lexicon, segment: tuple[int, int], truth, sample: "Sample",
         deadline: float, letters=()) -> Finding | None:
    """The first single change to tokens ``segment`` that makes it equal ``truth``, as a finding."""
    a, b = segment
    parser = Parser(net, formula, lexicon)
    try:
        value = parser.expression(a, b)
    except SymgradError:
        value = None
    names = _names_in(net, formula, lexicon, a, b)  # every name written, read or not (a shape may stop the reading)

    def holds(candidate) -> bool:
        return candidate is not None and agreement(sample, truth, candidate).ok

    tried = 0
    for finding, attempt in _candidates(net, formula, lexicon, a, b, names, value, list(letters)):
        if time.monotonic() > deadline or tried >= _MAX_VARIANTS:
            return None
        tried += 1
        try:
            candidate = attempt()
        except (SymgradError, TypeError, ValueError, ZeroDivisionError):
            continue
        if holds(candidate):
            return finding
    return None


def _names_in(net, formula, lexicon, a, b) -> list:
    """Every name written in the range, with its value where it has one outside a sum."""
    out = []
    for i, name in written_names(Parser(net, formula, lexicon), a, b):
        try:
            value = lexicon.value(name, i) if lexicon.function(name) is None else None
        except SymgradError:
            value = None  # a summed index has no value outside its sum
        out.append((i, name, value))
    return out


def _reread(net, formula: Formula, lexicon: Lexicon, a: int, b: int, variant: Variant | None = None, tokens=None, shift: int = 0):
    f = Formula(formula.text, tokens) if tokens is not None else formula
    lex = lexicon.as_of(len(lexicon.definitions), private=True).bound(lexicon.bindings, lexicon.convention, variant)
    return Parser(net, f, lex).expression(a, b + shift)


def _candidates(net, formula, lexicon, a, b, names, value, letters):
    """(finding, attempt) pairs, most specific first."""
    for at, name, v in names:  # an index letter written for another (a_i for a_j)
        for old in [x for x in letters if x in name.index]:
            for new in letters:
                if new == old or new == "l" or old == "l":
                    continue
                changed = name.written.replace(f"_{{{name.index}}}", "_{" + name.index.replace(old, new) + "}", 1)
                if changed == name.written:
                    changed = name.written.replace(f"_{name.index}", f"_{name.index.replace(old, new)}", 1)
                yield (
                    Finding("wrong_variable", f"wrong index: {name.written} at {column(formula[at])} should be {changed} "
                            f"({new} where {old} is written)."),
                    lambda at=at, old=old, new=new: _reread(net, formula, lexicon, a, b, Variant(at, letters=(old, new))),
                )
    for at, name, v in names:
        if isinstance(v, Matrix):
            yield (
                Finding("transposed", f"transposition slip: {name.written} at {column(formula[at])} must be transposed; "
                        f"with ({name.written})^T the formula holds."),
                lambda at=at: _reread(net, formula, lexicon, a, b, Variant(at, transpose=True)),
            )
    for k in range(a, b):
        t = formula[k]
        if t.text == "^":
            x, y, end = formula.argument(k + 1, b, "^")
            if formula.group_text(x, y) in _TRANSPOSES:
                tokens = formula.tokens[:k] + [Token("space", " ", t.pos)] * (end - k) + formula.tokens[end:]
                yield (
                    Finding("transposed", f"transposition slip: the transpose at {column(t)} does not belong; without it the formula holds."),
                    lambda tokens=tokens: _reread(net, formula, lexicon, a, b, tokens=tokens),
                )
    layers = lexicon.layers
    if layers is not None and isinstance(value, Matrix):
        for layer in range(1, layers.L + 1):
            act = layers.activation(layer)
            if act is None:
                continue
            u = lexicon.value(_u_name(layer))
            yield (
                Finding("missing_factor", f"missing ⊙ f'(u^{{({layer})}}): the formula holds once multiplied element-wise by "
                        f"f'(u^{{({layer})}}), the derivative of layer {layer}'s activation."),
                lambda u=u, act=act: value @ u.applyfunc(lambda e: _derivative(act, e)),
            )
    for at, name, v in names:
        if name.layer or name.superscript:
            for shift in (-1, 1):
                try:
                    old = lexicon._layer(name.layer or name.superscript)
                except SymgradError:
                    continue
                shifted = _with_layer(name, shift, old)
                yield (
                    Finding("wrong_variable", f"wrong layer: {name.written} at {column(formula[at])} should be {shifted} "
                            f"(layer {old + shift}, not {old})."),
                    lambda at=at, shift=shift: _reread(net, formula, lexicon, a, b, Variant(at, layer_shift=shift)),
                )
    for at, name, v in names:
        index = name.index.replace(",", "")
        if len(index) == 2 and index[0] != index[1] or "," in name.index:
            swapped = name.written.replace(name.index, ",".join(reversed(name.index.split(","))) if "," in name.index else index[::-1], 1)
            yield (
                Finding("wrong_variable", f"swapped index: {name.written} at {column(formula[at])} should be {swapped}."),
                lambda at=at: _reread(net, formula, lexicon, a, b, Variant(at, swap=True)),
            )
    yield from _primes(net, formula, lexicon, a, b)
    yield from _bracket_moves(net, formula, lexicon, a, b)


def _primes(net, formula: Formula, lexicon: Lexicon, a: int, b: int):
    """A function written for its derivative (σ for σ'), or its derivative for the function."""
    f = formula
    parser = Parser(net, f, lexicon)
    j = a
    while j < b:
        t = f[j]
        name, end = None, j + 1
        if t.category == "cmd" and t.text in FUNCTION_COMMANDS:
            written = t.text
        elif t.category in ("letter", "cmd"):
            try:
                name, end = parser.name_at(j, b)
            except SymgradError:
                name = None
            if name is None or lexicon.function(name) is None and not lexicon.sigma_is_sigmoid(name):
                j = max(end, j + 1)
                continue
            written = name.written
        else:
            j += 1
            continue
        k = f.skip(end, b)
        inner_primes = [m for m in range(j, end) if f[m].text == "'"]  # g'(u): the name holds its prime
        primed = bool(inner_primes) or k < b and f[k].text == "'"
        if k < b and (f.is_opener(k) or primed):
            if primed:
                m = inner_primes[-1] if inner_primes else k
                tokens = f.tokens[:m] + [Token("space", " ", f[m].pos)] + f.tokens[m + 1 :]
                finding = Finding("wrong_factor", f"derivative written for the function: {written}' at {column(t)} should be {written.rstrip(chr(39))}.")
            else:
                tokens = f.tokens[:end] + [Token("char", "'", f[end - 1].pos)] + f.tokens[end:]
                finding = Finding("wrong_factor", f"activation written for its derivative: {written} at {column(t)} should be {written}' "
                                  "(σ written for σ').")
            yield finding, (lambda tokens=tokens, shift=0 if primed else 1: _reread(net, formula, lexicon, a, b, tokens=tokens, shift=shift))
        j = max(end, j + 1)


def _u_name(layer: int):
    from .reader.names import Name

    return Name(base="u", layer=str(layer), bold=True, text=f"u^{{({layer})}}")


def _derivative(act, e):
    x = sympy.Dummy("x", real=True)
    return act(x).diff(x).xreplace({x: e})


def _with_layer(name, shift: int, old: int) -> str:
    text = name.layer or name.superscript
    generic = re.fullmatch(r"([lL])([+-]\d+)?", text)
    new = f"{generic.group(1)}{int(generic.group(2) or 0) + shift:+d}".replace("+0", "") if generic else str(old + shift)
    base = name.written
    for written in (f"^{{({text})}}", f"^({text})", f"^{{[{text}]}}", f"^{{{text}}}", f"^{text}"):
        if written in base:
            return base.replace(written, f"^{{({new})}}", 1)
    return f"{name_latex(name.base)}^{{({new})}}"


def _bracket_moves(net, formula: Formula, lexicon: Lexicon, a: int, b: int):
    """Every bracket of the range, its opener moved before another operand of its group
    (or into the bracket, before one of its own operands), or its closer likewise after one."""
    f = formula
    parser = Parser(net, f, lexicon)
    for o, c in sorted(f.pairs.items()):
        if not (a <= o < b) or f[o].text in ("{", r"\left") or f[o].text not in OPEN and f[o].text != "|":
            continue
        group_start, group_end = a, b
        for o2, c2 in f.pairs.items():  # the innermost group that holds this bracket
            if o2 < o and c < c2 and o2 >= group_start and f[o2].text != "{":
                group_start, group_end = f.inner_start(o2), c2
        outer = _primaries(f, parser, group_start, group_end)
        inner = _primaries(f, parser, f.inner_start(o), c)
        opener, closer = f[o], f[c]
        for s in sorted({start for start, _ in outer + inner[1:]}):
            if s == o or s >= c:
                continue
            tokens = list(f.tokens)
            tokens.pop(o)
            tokens.insert(s if s < o else s - 1, opener.at(f[s].pos))
            yield (
                Finding("bracket", f"misplaced bracket: the '{opener.text}' at {column(opener)} belongs before {column(f[s])} "
                        f"({_context(f, s)}); there the formula holds."),
                lambda tokens=tokens: _reread(net, formula, lexicon, a, b, tokens=tokens),
            )
        for e in sorted({end for _, end in outer + inner[:-1]}):
            if e == c or e <= o:
                continue
            tokens = list(f.tokens)
            tokens.pop(c)
            tokens.insert(e + 1 if e < c else e, closer.at(f[e].pos + 1))
            yield (
                Finding("bracket", f"misplaced bracket: the '{closer.text}' at {column(closer)} belongs after {column(f[e])} "
                        f"({_context(f, e, after=True)}); there the formula holds."),
                lambda tokens=tokens: _reread(net, formula, lexicon, a, b, tokens=tokens),
            )


_OPERATORS = ("+", "-", "*", "/", r"\times", r"\cdot", r"\odot", r"\oslash", r"\div")


def _primaries(f: Formula, parser: Parser, a: int, b: int) -> list[tuple[int, int]]:
    """The operands of one bracket level, as (first token, last token): names, numbers and
    bracket groups, also those joined by an implicit product (f_1 g(u_1) is two)."""
    out, j = [], a
    while j < b:
        t = f[j]
        if t.category in ("space", "newline") or t.text in _OPERATORS:
            j += 1
            continue
        if j in f.pairs and f[j].text != "{":
            end = f.after_bracket(f.pairs[j], b)
            out.append((j, end - 1))
            j = end
            continue
        end = j + 1
        if t.category in ("letter", "cmd"):
            try:
                name, k = parser.name_at(j, b)
            except SymgradError:
                name, k = None, j + 1
            end = k if name is not None and k > j else j + 1
        elif t.category == "digit":
            while end < b and f[end].category == "digit":
                end += 1
        out.append((j, end - 1))
        j = end
    return out


def _context(f: Formula, k: int, after: bool = False) -> str:
    t = f[k]
    if after:
        start = max(0, t.pos - 20)
        return "…" + " ".join(f.text[start : t.pos + len(t.text)].split())
    return " ".join(f.text[t.pos : t.pos + 24].split()) + "…"


# --------------------------------------------------------------------------- adjoints and correct forms

_ADJOINTS: dict = {}


def adjoint_named(net: "Network", sample: "Sample", values: list, sign: int = 1) -> list:
    """The network symbols whose adjoints the ``values`` are (one per entry; with ``sign=-1``,
    whose adjoints they are the negatives of), or [] if some are none."""
    key = (id(net), id(sample))
    if key not in _ADJOINTS:
        _ADJOINTS.clear()
        sweep = net.grad(net.params[0]).sweep
        table = {}
        for s, adj in list(sweep.inline.items())[:300] + list(sweep.factored.items())[:300]:
            v = sample.vec(adj)
            if all(x is not None for x in v):
                table.setdefault(_key(v), []).append((s, v))
        _ADJOINTS[key] = table
    table = _ADJOINTS[key]
    found = []
    for value in values:
        for e in entries(value):
            v = sample.vec(sign * e)
            if any(x is None for x in v):
                return []
            match = next((s for s, w in table.get(_key(v), []) if all(abs(x - y) <= 1e-18 * max(1, abs(x)) for x, y in zip(v, w))), None)
            if match is None or match == net.loss:
                return []
            found.append(match)
    return found


def _key(v) -> str:
    return f"{float(v[0]):.9e}"


def correct_form(net: "Network", subject: str, convention: str | None, bindings=None) -> str | None:
    """The line of the network's matrix form that has the same left side as ``subject``, if any."""
    if getattr(net, "layers", None) is None or not subject or convention is None:
        return None
    from .reader.claims import lexicon as claim_lexicon
    from .reader.equations import left_side, split_equations

    text = net.matrix_form().latex(convention)
    lexicon = claim_lexicon(net).bound({}, convention)
    try:
        mine = _left_key(net, Formula(subject), lexicon.bound(dict(bindings or {}), convention), left_side)
    except SymgradError:
        return None
    formula = Formula(text)
    for eq in split_equations(formula):
        if eq.lhs is None:
            continue
        try:
            theirs = _left_key(net, formula, lexicon, left_side, eq.lhs)
        except SymgradError:
            continue
        if theirs == mine and mine is not None:
            return f"{formula.source(*eq.lhs)} = {formula.source(*eq.rhs[-1])}"
    return None


def _left_key(net, formula: Formula, lexicon: Lexicon, left_side, rng=None):
    parser = Parser(net, formula, lexicon)
    a, b = rng or (0, len(formula))
    side = left_side(parser, a, b)
    if side.role == "gradient":
        from .reader.calculus import wrt_value

        return ("gradient", tuple(entries(wrt_value(parser, *side.wrt))))
    if side.role == "definition" and side.name.base == "delta":
        return ("delta", lexicon._layer(side.name.layer or side.name.superscript))
    return None
