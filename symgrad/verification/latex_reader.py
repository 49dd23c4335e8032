r"""Reading a hand-written derivative: LaTeX, Python text or sympy, into the network's symbols.

A claim is read in three steps:

1. **Tokens and brackets.** The LaTeX is cut into TeX tokens (one letter or digit
   each, as TeX reads them), and every ``{ }``, ``( )``, ``[ ]``, ``\{ \}``,
   ``\left … \right`` and ``| |`` is paired up front, so that an unbalanced formula is
   reported at the token that breaks it, with its column.
2. **A normalising pass.** Names are matched against the network by their structure,
   not their spelling: ``\hat{f}_1``, ``\hat f_1``, ``\hat{f_1}`` and ``fhat1`` all
   mean the step ``fhat1``; ``w_{10}`` is ``w10``; ``w^{(1)}_{23}``, ``w_{23}^{(1)}``
   and ``W^{(1)}_{2,3}`` are ``W1_2_3``. ``g(u_1)`` applies the declared function
   ``g``; ``g'(u)``, ``\sigma'(z)`` and ``f'(u)`` are its derivative; ``f`` alone is the
   network's activation when it has exactly one; ``\operatorname{step}``, ``sign`` and
   ``logsumexp`` read back what symgrad's own LaTeX prints. ``\frac{\partial h_1}{\partial u_2}``
   and ``\frac{dg}{du_1}`` are the local derivatives of the seeds' chain-rule lines.
   The seeds' evaluation subscripts ``(\ldots)_w`` are dropped, as are ``\left``,
   ``\right``, thin spaces and alignment marks (a lone closing bracket, as in seed
   002's printed ∂Loss/∂w1, is read without it and kept for the verifier, which tries
   every place its opening bracket could go); a leading
   ``\frac{\partial Loss}{\partial w_7} =`` names the parameter and is dropped; further
   ``=`` signs separate the lines of a derivation, each a claim of its own.
3. **sympy's parser.** What is left is arithmetic: the pass writes it as Python
   (explicit ``*`` for implicit products, ``**`` for powers) over placeholders that
   already hold sympy expressions, and ``sympy.parse_expr`` builds the result.

An unknown name, an unknown command or an unbalanced bracket raises
:class:`~symgrad.errors.ParseError` / :class:`~symgrad.errors.UnknownSymbolError`
naming the token; the reader never guesses.

Why not a LaTeX-to-sympy library: latex2sympy2_extended (1.11) was tried. On the
seeds' notation it drops primes silently (``\sigma'(z)`` becomes σ(z)), reads
``w^{(1)}_{23}`` as a power, takes ``\log`` as base 10, reads ``2\frac12`` as 5/2,
guesses whether ``h_1(w_7)`` is a call, and spends 0.1–0.6 s per bracket group, which
alone breaks the 2 s budget of a verdict. Once the pass above does the names,
calls, primes and brackets, only operator precedence is left, which sympy's own
Python parser does exactly and fast.

>>> import symgrad as sg
>>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
>>> read_latex(net, r"(o - y)\, g'(u)\, x").lines[0]
x*(1 - g(u))*(o - y)*g(u)
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping

import sympy
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

from ..errors import ParseError, SymgradError, UnknownSymbolError
from ..model import functions as fn
from ..present.latex import name_latex

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Claim", "read_claim", "read_latex", "read_python", "read_sympy"]


@dataclass(frozen=True)
class Claim:
    """A claim read into the network's symbols.

    ``lines`` holds one expression per right-hand side (a derivation ``A = B = C`` has
    three); ``wrt`` is the parameter named by a leading ``\\frac{\\partial Loss}{\\partial w}``,
    if any; ``kind`` is ``"latex"``, ``"python"`` or ``"sympy"``.
    """

    lines: tuple[sympy.Expr, ...]
    kind: str
    wrt: sympy.Symbol | None = None
    source: str | None = None
    #: For LaTeX with a closing bracket that has no opening one: the claim is read without
    #: it (``lines``), and ``readings`` holds every other place its opening bracket could go,
    #: as ``(where, lines)``, so that a verdict can hold for all of them or name the one that fits.
    readings: tuple[tuple[str, tuple[sympy.Expr, ...]], ...] = ()
    stray: str | None = None  # the lone closing bracket and where it is, for messages


def read_claim(net: "Network", claim, *, kind: str | None = None, names: Mapping | None = None) -> Claim:
    """Read ``claim`` (LaTeX, Python text or a sympy expression) over ``net``'s symbols.

    ``kind=None`` tells them apart: a sympy object or a number is ``"sympy"``; text with
    a backslash or a brace is LaTeX; other text is Python when Python reads it with the
    network's names, else LaTeX. ``names`` maps a name as the claim writes it to the
    network's (``{"z_1": "y1"}``), to a function kind (``{"f": "sigmoid"}``) or to an
    expression.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> read_claim(net, "2*x2*(x1*x2 - 3)").kind, read_claim(net, r"2x_2(x_1 x_2 - 3)").kind
    ('python', 'latex')
    """
    if kind not in (None, "latex", "python", "sympy"):
        raise SymgradError(f"unknown claim kind {kind!r} (use 'latex', 'python' or 'sympy')", token=str(kind))
    if kind == "sympy" or (kind is None and not isinstance(claim, str)):
        return read_sympy(net, claim, names=names)
    if not isinstance(claim, str):
        raise ParseError(f"a {kind} claim must be text, got {type(claim).__name__}")
    if kind == "latex":
        return read_latex(net, claim, names=names)
    if kind == "python":
        return read_python(net, claim, names=names)
    if re.search(r"[\\{}$]", claim):
        return read_latex(net, claim, names=names)
    try:
        ast.parse(claim.strip(), mode="eval")
    except SyntaxError:
        return read_latex(net, claim, names=names)
    try:
        return read_python(net, claim, names=names)
    except SymgradError as python_error:
        # ``x_2*(x_1*x_2 - 3)`` is valid Python with LaTeX-style names: try them as LaTeX.
        try:
            return read_latex(net, claim, names=names)
        except SymgradError:
            raise python_error from None


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r"(?P<cmd>\\[A-Za-z]+)|(?P<sym>\\.)|(?P<letter>[A-Za-z])|(?P<digit>[0-9])|(?P<space>\s+)|(?P<char>.)", re.S)

_UNICODE = {
    "×": ("cmd", r"\times"), "·": ("cmd", r"\cdot"), "⋅": ("cmd", r"\cdot"), "∙": ("cmd", r"\cdot"),
    "−": ("char", "-"), "–": ("char", "-"), "′": ("char", "'"), "∂": ("cmd", r"\partial"),
    "⊙": ("cmd", r"\odot"), "σ": ("cmd", r"\sigma"), "δ": ("cmd", r"\delta"), "θ": ("cmd", r"\theta"),
    "η": ("cmd", r"\eta"), "α": ("cmd", r"\alpha"), "β": ("cmd", r"\beta"), "λ": ("cmd", r"\lambda"),
    "ω": ("cmd", r"\omega"), "φ": ("cmd", r"\phi"), "ε": ("cmd", r"\epsilon"), "π": ("cmd", r"\pi"),
    "\u00a0": ("space", " "),
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # cmd, sym, letter, digit, space, char
    text: str
    pos: int  # 0-based offset in the source

    def _replace_pos(self, pos: int) -> "_Tok":
        return _Tok(self.kind, self.text, pos)


def _tokenize(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "char" and tok in _UNICODE:
            kind, tok = _UNICODE[tok]
        if kind == "char" and tok in "$&~":  # math delimiters, alignment, non-breaking space
            kind = "space"
        if kind == "char" and tok == "%":  # a TeX comment runs to the end of the line
            end = text.find("\n", m.start())
            out.append(_Tok("space", " ", m.start()))
            if end < 0:
                break
            continue
        out.append(_Tok(kind, tok, m.start()))
    return _drop_layout(out, text)


# Commands that only lay the formula out: dropped (with their one brace argument, if any).
_LAYOUT = {r"\,", r"\;", r"\:", r"\!", r"\ ", r"\\", r"\quad", r"\qquad", r"\displaystyle", r"\textstyle",
           r"\nonumber", r"\notag", r"\limits", r"\ldots", r"\cdots", r"\dots"}
_LAYOUT_WITH_ARG = {r"\begin", r"\end", r"\tag", r"\label"}
_MATRIX_ENVS = {"matrix", "bmatrix", "pmatrix", "vmatrix", "Bmatrix", "array", "cases"}
_SIZES = {rf"\{s}{x}" for s in ("big", "Big", "bigg", "Bigg") for x in ("", "l", "r", "m")}


def _drop_layout(toks: list[_Tok], text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind in ("cmd", "sym") and t.text in _LAYOUT:
            if t.text in (r"\ldots", r"\cdots", r"\dots"):
                raise ParseError(f"column {t.pos + 1}: '{t.text}' elides part of the formula; write it out in full", token=t.text)
            out.append(_Tok("space", " ", t.pos))
            i += 1
        elif t.kind == "cmd" and t.text in _LAYOUT_WITH_ARG:
            j = i + 1
            while j < len(toks) and toks[j].kind == "space":
                j += 1
            if j >= len(toks) or toks[j].text != "{":
                raise ParseError(f"column {t.pos + 1}: '{t.text}' needs a {{…}} argument", token=t.text)
            k = j + 1
            while k < len(toks) and toks[k].text != "}":
                k += 1
            if k >= len(toks):
                raise ParseError(f"unbalanced braces: the '{{' at column {toks[j].pos + 1} is never closed", token="{")
            env = "".join(x.text for x in toks[j + 1 : k]).strip()
            if t.text in (r"\begin", r"\end") and env.rstrip("*") in _MATRIX_ENVS:
                raise ParseError(
                    f"column {t.pos + 1}: '{t.text}{{{env}}}': a {env} holds several entries; verify one scalar element formula at a time",
                    token=f"{t.text}{{{env}}}",
                )
            out.append(_Tok("space", " ", t.pos))
            i = k + 1
        elif t.kind == "cmd" and t.text in _SIZES:
            i += 1  # \big( is just a larger (
        else:
            out.append(t)
            i += 1
    return out


def _col(tok: _Tok) -> str:
    return f"column {tok.pos + 1}"


# --------------------------------------------------------------------------- brackets

_OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrace": r"\rbrace", r"\lbrack": r"\rbrack", r"\lvert": r"\rvert", r"\langle": r"\rangle"}
_CLOSE = {v: k for k, v in _OPEN.items()}
_LEFT_DELIMS = set(_OPEN) | set(_CLOSE) | {"|", ".", r"\vert"}


def _delimiter_after(toks: list[_Tok], i: int, what: str) -> int:
    j = i + 1
    while j < len(toks) and toks[j].kind == "space":
        j += 1
    if j >= len(toks) or toks[j].text not in _LEFT_DELIMS:
        got = toks[j].text if j < len(toks) else "the end"
        raise ParseError(f"{_col(toks[i])}: '{what}' must be followed by a delimiter, got {got!r}", token=what)
    return j


def _pair_brackets(toks: list[_Tok]) -> tuple[dict[int, int], list[int]]:
    """Pair every bracket: ``{open index: close index}``; also the top-level '=' positions.

    ``\\left`` pairs with ``\\right`` (any delimiters, as TeX allows); a plain bracket
    pairs with its own kind; ``|`` opens or closes an absolute value.
    """
    pairs: dict[int, int] = {}
    stack: list[tuple[str, int]] = []  # (the closer expected, index of the opener)
    equals: list[int] = []
    skip: set[int] = set()
    for i, t in enumerate(toks):
        if i in skip or t.kind == "space":
            continue
        text = t.text
        if t.kind == "cmd" and text == r"\left":
            skip.add(_delimiter_after(toks, i, r"\left"))
            stack.append((r"\right", i))
        elif t.kind == "cmd" and text == r"\right":
            d = _delimiter_after(toks, i, r"\right")
            skip.add(d)
            if not stack or stack[-1][0] != r"\right":
                raise _unmatched(toks, i, r"\right" + toks[d].text, stack)
            pairs[stack.pop()[1]] = i
        elif t.kind == "char" and text == "{":
            stack.append(("}", i))
        elif t.kind == "char" and text == "}":
            if not stack or stack[-1][0] != "}":
                raise _unmatched(toks, i, "}", stack)
            pairs[stack.pop()[1]] = i
        elif text == "|" or text == r"\vert":
            if stack and stack[-1][0] == "|":
                pairs[stack.pop()[1]] = i
            else:
                stack.append(("|", i))
        elif text in _OPEN and t.kind in ("char", "sym", "cmd"):
            stack.append((_OPEN[text], i))
        elif text in _CLOSE and t.kind in ("char", "sym", "cmd"):
            if not stack or stack[-1][0] != text:
                raise _unmatched(toks, i, text, stack)
            pairs[stack.pop()[1]] = i
        elif text == "=" and t.kind == "char":
            if stack:
                opener = toks[stack[-1][1]]
                raise ParseError(f"{_col(t)}: '=' inside the '{opener.text}' opened at {_col(opener)}", token="=")
            equals.append(i)
    if stack:
        closer, i = stack[-1]
        opener = toks[i].text + (toks[_delimiter_after(toks, i, r"\left")].text if toks[i].text == r"\left" else "")
        what = "braces" if opener == "{" else "brackets"
        raise ParseError(f"unbalanced {what}: the '{opener}' at {_col(toks[i])} is never closed", token=opener)
    return pairs, equals


def _unmatched(toks: list[_Tok], i: int, closer: str, stack) -> ParseError:
    what = "braces" if closer == "}" else "brackets"
    if not stack:
        opener = {"}": "{", r"\right": r"\left"}.get(closer, _CLOSE.get(closer, closer))
        error = ParseError(f"unbalanced {what}: the '{closer}' at {_col(toks[i])} has no opening '{opener}'", token=closer)
        error.stray = i if closer in _CLOSE else None  # a lone closing delimiter: see _Reader._stray_closer
        return error
    j = stack[-1][1]
    opener = toks[j].text
    return ParseError(
        f"unbalanced {what}: the '{closer}' at {_col(toks[i])} meets the '{opener}' opened at {_col(toks[j])}, which is never closed",
        token=closer,
    )


# --------------------------------------------------------------------------- names

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
    "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}
_ACCENTS = {r"\hat": "hat", r"\widehat": "hat", r"\tilde": "tilde", r"\widetilde": "tilde", r"\bar": "bar", r"\overline": "bar"}
_FONTS = {r"\mathrm", r"\mathit", r"\mathbf", r"\boldsymbol", r"\bm", r"\mathsf", r"\text", r"\textrm", r"\textit", r"\operatorname", r"\mathcal"}
# Function commands and the function each stands for (\log is the natural log, as in ML texts).
_FUNCTION_COMMANDS = {
    r"\exp": sympy.exp, r"\ln": sympy.log, r"\log": sympy.log, r"\tanh": sympy.tanh, r"\sinh": sympy.sinh,
    r"\cosh": sympy.cosh, r"\sin": sympy.sin, r"\cos": sympy.cos, r"\tan": sympy.tan, r"\sigma": fn.sigmoid,
    r"\max": sympy.Max, r"\min": sympy.Min,
}


def _step(x):
    """The unit step as symgrad writes relu' (0 at 0, as seed 002's table)."""
    return sympy.Heaviside(x, 0)


# Function names written as words (\operatorname{ReLU}, tanh, sigmoid…), compared in lower case;
# step, sign and logsumexp are how symgrad's own LaTeX prints relu', |x|' and a softmax's normaliser.
_FUNCTION_WORDS = {
    "exp": sympy.exp, "ln": sympy.log, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
    "step": _step, "heaviside": _step, "sign": sympy.sign, "sgn": sympy.sign, "logsumexp": fn.logsumexp,
    "max": sympy.Max, "min": sympy.Min,
}
_MULTI_ARGUMENT = (fn.logsumexp, sympy.Max, sympy.Min)
_ACTIVATION_KINDS = ("sigmoid", "tanh", "relu", "softplus")


@dataclass(frozen=True)
class _Name:
    """A name as written: ``\\hat{f}_{1}`` is accent 'hat', base 'f', index '1'."""

    base: str
    accent: str = ""
    layer: str = ""
    index: str = ""
    primes: int = 0
    text: str = ""  # as written, for messages

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.accent, self.base, self.layer, _normal_index(self.index))


def _normal_index(index: str) -> str:
    index = index.replace(" ", "")
    parts = index.split(",")
    # w_{2,3} and w_{23} name the same entry when every index is one digit.
    if len(parts) > 1 and all(len(p) == 1 for p in parts):
        return "".join(parts)
    return index


def _leading_letters(name: str) -> str:
    m = re.match(r"[A-Za-z]+", name)
    return m.group() if m else ""


class _Names:
    """The network's names, by their written structure; built once per network."""

    def __init__(self, net: "Network"):
        self.net = net
        self.symbols = list(net.params) + list(net.inputs) + list(net.targets) + [st.target for st in net.steps]
        self.plain = {s.name: s for s in self.symbols}
        self.keys: dict[tuple, list[sympy.Symbol]] = {}
        for s in self.symbols:
            for key in self._keys_of(s):
                bucket = self.keys.setdefault(key, [])
                if s not in bucket:
                    bucket.append(s)
        self.bases = {key[1] for key in self.keys}
        self.functions: dict[str, type] = {name: fn.resolve(name) for name in fn.FUNCTION_NAMES}
        self.functions.update(getattr(net, "functions", {}) or {})
        kinds = {}
        for st in net.steps:
            e = st.expr
            if isinstance(e, sympy.Function) and len(e.args) == 1 and fn.kind_of(type(e)) in _ACTIVATION_KINDS:
                kinds[type(e)] = True
        self.activations = list(kinds)

    def _keys_of(self, s: sympy.Symbol):
        parsed = _parse_name_text(name_latex(s.name))
        if parsed is not None:
            yield parsed.key
            lead = _leading_letters(s.name)
            if lead and lead != parsed.base and lead.lower() == parsed.base.lower():
                yield replace(parsed, base=lead).key  # W1_2_3 prints as w^{(1)}_{23}; W^{(1)}_{23} means it too
        yield ("", s.name, "", "")

    def lookup(self, key) -> sympy.Symbol | None:
        found = self.keys.get(key)
        if not found:
            return None
        if len(found) > 1:
            names = ", ".join(s.name for s in found)
            raise UnknownSymbolError(f"the name is ambiguous in this network: it could be any of {names}", token=names)
        return found[0]

    def suggestions(self, text: str) -> str:
        close = difflib.get_close_matches(text, [name_latex(s.name) for s in self.symbols] + list(self.plain), n=3, cutoff=0.6)
        return f" (did you mean {' or '.join(dict.fromkeys(close))}?)" if close else ""


_NAME_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _names_of(net: "Network") -> _Names:
    try:
        return _NAME_CACHE[net]
    except (KeyError, TypeError):
        names = _Names(net)
        try:
            _NAME_CACHE[net] = names
        except TypeError:  # pragma: no cover - a network that cannot be weakly referenced
            pass
        return names


def _parse_name_text(text: str) -> _Name | None:
    """The structure of a name written in LaTeX (used on the network's own printed names)."""
    try:
        toks = [t for t in _tokenize(text)]
        pairs, _ = _pair_brackets(toks)
        r = _Reader.__new__(_Reader)
        r.toks, r.pairs, r.text, r.whole_words = toks, pairs, text, True
        name, end = r._name_at(0, len(toks))
    except (SymgradError, IndexError):
        return None
    rest = [t for t in toks[end:] if t.kind != "space"]
    return None if rest or name is None else name


class _Overrides:
    """``names={...}``: claim names mapped to network names, expressions or function kinds."""

    def __init__(self, names: Mapping | None, table: _Names):
        self.symbols: dict[tuple, sympy.Expr] = {}
        self.functions: dict[str, type] = {}
        for written, meaning in (names or {}).items():
            parsed = _parse_name_text(str(written))
            if parsed is None:
                raise ParseError(f"names=: cannot read {written!r} as a name", token=str(written))
            if isinstance(meaning, type) and issubclass(meaning, sympy.Function):
                self.functions[parsed.base] = meaning
                continue
            if isinstance(meaning, str) and meaning in fn.ALIASABLE_NAMES and meaning not in table.plain:
                self.functions[parsed.base] = fn.resolve(meaning)
                continue
            if isinstance(meaning, str):
                expr = table.plain.get(meaning)
                if expr is None:
                    expr = read_python(table.net, meaning).lines[0]
            else:
                expr = read_sympy(table.net, meaning).lines[0]
            self.symbols[parsed.key] = expr


# --------------------------------------------------------------------------- the reader


class _Reader:
    """One LaTeX claim being read: its tokens, bracket pairs and the network's names."""

    whole_words = False  # True while reading the network's own printed names: a letter run is one name

    def __init__(self, net: "Network", text: str, names: Mapping | None, toks: list[_Tok] | None = None):
        self.net = net
        self.text = text
        self.table = _names_of(net)
        self.overrides = _Overrides(names, self.table)
        self.toks = _tokenize(text) if toks is None else toks
        self.stray: int | None = None
        try:
            self.pairs, self.equals = _pair_brackets(self.toks)
        except ParseError as error:
            if getattr(error, "stray", None) is None or toks is not None:
                raise
            # One closing bracket too many, as in seed 002's printed ∂Loss/∂w1: read the
            # formula without it, and keep it to try every place its opening bracket could go.
            self.stray = error.stray
            self.error = error
            self.toks = list(self.toks)
            self.toks[self.stray] = _Tok("space", " ", self.toks[self.stray].pos)
            try:
                self.pairs, self.equals = _pair_brackets(self.toks)
            except ParseError:
                raise error from None

    def stray_readings(self) -> tuple[str, list[tuple[str, sympy.Expr]], int]:
        """The lone closer, and the segment it is in read with its opening bracket at each
        place it could go: before any operand at its own bracket level, back to the start
        of the group (or of the line) it is in."""
        i = self.stray
        original = _tokenize(self.text)[i]
        opener_text = _CLOSE[original.text]
        bounds = [-1] + self.equals + [len(self.toks)]
        segment = next(n for n, (a, b) in enumerate(zip(bounds, bounds[1:])) if a < i < b)
        start = bounds[segment] + 1
        for o, c in self.pairs.items():  # the innermost group around the stray closer
            if o < i < c and o >= start:
                start = self._inner_start(o)
        readings = []
        j = start
        previous: _Tok | None = None
        while j < i:
            t = self.toks[j]
            if t.kind == "space":
                j += 1
                continue
            if self._operand_start(t) and (previous is None or self._operand_boundary(previous)):
                toks = list(self.toks)
                toks[i] = original
                toks.insert(j, _tokenize(opener_text)[0]._replace_pos(t.pos))
                other = _Reader(self.net, self.text, None, toks=toks)
                other.overrides = self.overrides
                a, b = bounds[segment] + 1, bounds[segment + 1] + 1
                where = f"'{opener_text}' before column {t.pos + 1} ({' '.join(self.text[t.pos:t.pos + 24].split())}…)"
                try:
                    readings.append((where, other.expr(a, b)))
                except SymgradError:
                    pass  # an opening bracket there does not make a formula
            if j in self.pairs:  # step over a whole bracket group
                close = self.pairs[j]
                if self.toks[close].text == r"\right":
                    close = self._delim_index(close)
                previous, j = self.toks[close], close + 1
                continue
            previous = t
            j += 1
        return f"'{original.text}' at {_col(original)}", readings, segment

    @staticmethod
    def _operand_start(t: _Tok) -> bool:
        return t.kind in ("letter", "digit", "cmd") and t.text not in (r"\times", r"\cdot", r"\ast", r"\odot", r"\div", r"\right") or (
            t.text in _OPEN or t.text == "|"
        )

    @staticmethod
    def _operand_boundary(previous: _Tok) -> bool:
        """Whether an operand may start right after ``previous`` (an operator or a closing bracket)."""
        return previous.text in ("+", "-", "*", "/", r"\times", r"\cdot", r"\ast", r"\odot", r"\div", "|") or previous.text in _CLOSE

    # -- small helpers --------------------------------------------------------

    def _skip(self, i: int, end: int) -> int:
        while i < end and self.toks[i].kind == "space":
            i += 1
        return i

    def _opener(self, i: int) -> bool:
        t = self.toks[i]
        return i in self.pairs and not (t.kind == "char" and t.text == "{")

    def _arg(self, i: int, end: int, what: str) -> tuple[int, int, int]:
        """One TeX argument at ``i``: a {group} or a single token → (start, stop, next)."""
        i = self._skip(i, end)
        if i >= end:
            raise ParseError(f"'{what}' at the end of the formula has no argument", token=what)
        t = self.toks[i]
        if t.text == "{" and t.kind == "char":
            close = self.pairs[i]
            return i + 1, close, close + 1
        if t.kind in ("letter", "digit", "cmd"):
            return i, i + 1, i + 1
        raise ParseError(f"{_col(t)}: '{what}' is followed by {t.text!r}, not an argument", token=t.text)

    def _source(self, start: int, stop: int) -> str:
        if start >= stop:
            return ""
        last = self.toks[stop - 1]
        return self.text[self.toks[start].pos : last.pos + len(last.text)].strip()

    def _group_text(self, start: int, stop: int) -> str:
        return "".join(t.text for t in self.toks[start:stop] if t.kind != "space")

    # -- names ----------------------------------------------------------------

    def _name_at(self, i: int, end: int) -> tuple[_Name | None, int]:
        """Read the name at ``i`` (with its accent, index, layer and primes); None if none starts here."""
        t = self.toks[i]
        if t.kind == "cmd" and t.text in _ACCENTS:
            a, b, j = self._arg(i + 1, end, t.text)
            inner, k = self._name_at(self._skip(a, b), b)
            if inner is None or self._skip(k, b) != b or inner.accent:
                raise ParseError(f"{_col(t)}: '{t.text}' must sit on a single name, got {self._source(a, b)!r}", token=t.text)
            name = replace(inner, accent=_ACCENTS[t.text])
        elif t.kind == "cmd" and t.text in _FONTS:
            a, b, j = self._arg(i + 1, end, t.text)
            word = self._group_text(a, b)
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", word):
                raise ParseError(f"{_col(t)}: '{t.text}{{{word}}}' is not a name", token=f"{t.text}{{{word}}}")
            name = _Name(base=word)
        elif t.kind == "cmd" and t.text[1:] in _GREEK:
            name, j = _Name(base=t.text[1:]), i + 1
        elif t.kind == "letter":
            j = i
            while j < end and self.toks[j].kind == "letter":
                j += 1
            k = j
            while k < end and self.toks[k].kind == "digit":
                k += 1
            word, plain = self._source(i, j), self._source(i, k)
            follows = self.toks[k].text if k < end else ""
            if self.whole_words:
                name = _Name(base=word)
            elif k > j and follows not in ("_", "^", "'") and self._plain(plain) is not None:
                return _Name(base=plain, text=plain), k  # fhat1, w7: a name typed as declared
            elif j - i > 1 and self._is_word(word):
                name = _Name(base=word)  # Loss, tanh, sigmoid
            else:
                name, j = _Name(base=t.text), i + 1  # TeX's reading: one letter
        else:
            return None, i
        return self._modifiers(name, i, j, end)

    def _plain(self, plain: str) -> sympy.Expr | None:
        found = self.overrides.symbols.get(("", plain, "", ""))
        return found if found is not None else self.table.plain.get(plain)

    def _is_word(self, word: str) -> bool:
        """Whether a run of letters is one name (Loss, lse, tanh) rather than a product of letters."""
        return (
            word in self.table.bases
            or word in self.overrides.functions
            or any(key[1] == word for key in self.overrides.symbols)
            or word in self.table.functions
            or word.lower() in _FUNCTION_WORDS
            or word.lower() in fn.ALIASABLE_NAMES
        )

    def _modifiers(self, name: _Name, start: int, j: int, end: int) -> tuple[_Name, int]:
        """Subscript, ``^{(l)}`` layer and primes after a name, in any order."""
        while True:
            k = self._skip(j, end)
            if k >= end:
                break
            t = self.toks[k]
            if t.text == "_" and t.kind == "char":
                if name.index:
                    raise ParseError(f"{_col(t)}: a second subscript on {self._source(start, k)!r}", token=self._source(start, k + 2))
                a, b, j2 = self._arg(k + 1, end, "_")
                if b == a + 1 and j2 == b and j2 < end and self.toks[a].kind == "digit" and self.toks[j2].kind == "digit":
                    written = self._source(start, j2 + 1)
                    raise ParseError(
                        f"{_col(t)}: TeX reads {written!r} as a one-digit subscript followed by a digit; write the index in braces, e.g. _{{{self.toks[a].text}{self.toks[j2].text}}}",
                        token=written,
                    )
                name, j = replace(name, index=self._group_text(a, b)), j2
            elif t.text == "^" and t.kind == "char":
                a, b, j2 = self._arg(k + 1, end, "^")
                content = self._group_text(a, b)
                if re.fullmatch(r"\(\d+\)", content) and not name.layer:
                    name, j = replace(name, layer=content[1:-1]), j2
                elif re.fullmatch(r"(\\prime)+", content):
                    name, j = replace(name, primes=name.primes + content.count(r"\prime")), j2
                else:
                    break  # a power: the arithmetic pass handles it
            elif t.text == "'" and t.kind == "char":
                name, j = replace(name, primes=name.primes + 1), k + 1
            else:
                break
        return replace(name, text=self._source(start, j)), j

    def _function(self, name: _Name) -> type | sympy.FunctionClass | None:
        """The function a name stands for, if it is one (and not a symbol of the network)."""
        if name.index or name.layer or name.accent:
            return None
        base = name.base
        if base in self.overrides.functions:
            return self.overrides.functions[base]
        if self.table.lookup(name.key) is not None:
            return None
        if base in self.table.functions:
            return self.table.functions[base]
        if base.lower() in _FUNCTION_WORDS:
            return _FUNCTION_WORDS[base.lower()]
        if base.lower() in fn.ALIASABLE_NAMES:
            return fn.resolve(base.lower())
        if base in ("f", "phi", "varphi"):
            acts = self.table.activations
            if len(acts) == 1:
                return acts[0]
            kinds = ", ".join(sorted(fn.kind_of(a) for a in acts)) or "none"
            raise UnknownSymbolError(
                f"'{name.text or base}' stands for the activation, but this network has {len(acts)} kinds ({kinds}); "
                f"name it, e.g. names={{'{base}': 'sigmoid'}}",
                token=name.text or base,
            )
        return None

    def _symbol(self, name: _Name) -> sympy.Expr:
        written = name.text or name.base
        if name.primes:
            raise ParseError(f"a prime on {written!r}, which is not a function; write the derivative of a function, e.g. g'(u_1)", token=written)
        key = name.key
        if key in self.overrides.symbols:
            return self.overrides.symbols[key]
        found = self.table.lookup(key)
        if found is not None:
            return found
        if key == ("", "e", "", ""):
            return sympy.E
        if key == ("", "pi", "", ""):
            return sympy.pi
        if name.base in ("partial", "nabla"):
            raise ParseError(f"'\\{name.base}' outside a \\frac{{\\partial …}}{{\\partial …}}", token="\\" + name.base)
        raise UnknownSymbolError(
            f"unknown name {written!r}: it is not a parameter, input, target or step of network {self.net.name!r}"
            + self.table.suggestions(written),
            token=written,
        )

    # -- expressions ----------------------------------------------------------

    def expr(self, start: int, stop: int) -> sympy.Expr:
        """The expression written by tokens ``start..stop``."""
        return _Arithmetic(self, start, stop).result()

    def lines(self) -> tuple[tuple[sympy.Expr, ...], sympy.Symbol | None]:
        bounds = [-1] + self.equals + [len(self.toks)]
        segments = [(a + 1, b) for a, b in zip(bounds, bounds[1:])]
        wrt = None
        if len(segments) > 1:
            first = segments[0]
            if self._skip(*first) == first[1]:
                segments = segments[1:]  # "&= …": nothing on the left
            else:
                lhs = self._loss_derivative(*first)
                if lhs is not None:
                    wrt = lhs
                    segments = segments[1:]
        exprs = []
        for a, b in segments:
            if self._skip(a, b) == b:
                at = self.toks[a - 1] if a > 0 else None
                raise ParseError(f"{_col(at) + ': ' if at else ''}nothing after '='", token="=")
            exprs.append(self.expr(a, b))
        if not exprs:
            raise ParseError("the claim is empty", token="")
        return tuple(exprs), wrt

    def _loss_derivative(self, a: int, b: int) -> sympy.Symbol | None:
        """``\\frac{\\partial Loss}{\\partial w_7}`` (bracketed, with an evaluation subscript or not)
        on the left of the first '=': the parameter it names, or None if it is something else."""
        a, b = self._skip(a, b), b
        while b > a and self.toks[b - 1].kind == "space":
            b -= 1
        while a < b and self._opener(a):
            close = self.pairs[a]
            after = self._after_bracket(close, b)
            if self._skip(after, b) != b:
                break
            a, b = self._skip(self._inner_start(a), close), close
            while b > a and self.toks[b - 1].kind == "space":
                b -= 1
        frac = self._derivative_frac(a, b)
        if frac is None:
            return None
        (num_a, num_b), (den_a, den_b), end = frac
        if self._skip(end, b) != b:
            return None
        of, k = self._name_at(self._skip(num_a, num_b), num_b)
        if of is None or self._skip(k, num_b) != num_b:
            return None
        wrt_name, k = self._name_at(self._skip(den_a, den_b), den_b)
        if wrt_name is None or self._skip(k, den_b) != den_b:
            raise ParseError(f"the left side {self._source(a, b)!r} is not a derivative with respect to one parameter", token=self._source(den_a, den_b))
        try:
            target = self._symbol(of)
        except UnknownSymbolError:
            target = None  # another name for the loss (L, E, J…)
        if target is not None and target != self.net.loss:
            raise SymgradError(
                f"the left side {self._source(a, b)!r} is a derivative of {of.text!r}, not of the loss {self.net.loss.name!r}",
                token=of.text,
            )
        p = self._symbol(wrt_name)
        if p not in self.net.params:
            raise SymgradError(f"the left side differentiates with respect to {wrt_name.text!r}, which is not a parameter", token=wrt_name.text)
        return p

    def _inner_start(self, opener: int) -> int:
        return self._delim_index(opener) + 1 if self.toks[opener].text == r"\left" else opener + 1

    def _delim_index(self, i: int) -> int:
        return _delimiter_after(self.toks, i, self.toks[i].text)

    def _after_bracket(self, close: int, end: int) -> int:
        """The index after a closing bracket and its evaluation subscript ``_w``, if any."""
        j = self._delim_index(close) + 1 if self.toks[close].text == r"\right" else close + 1
        k = self._skip(j, end)
        if k < end and self.toks[k].text == "_" and self.toks[k].kind == "char":
            _, _, j = self._arg(k + 1, end, "_")
        return j

    def _derivative_frac(self, i: int, end: int):
        """``\\frac{\\partial A}{\\partial B}`` or ``\\frac{dA}{dB}`` at ``i``: the ranges of A and B and the end."""
        i = self._skip(i, end)
        if i >= end or self.toks[i].text not in (r"\frac", r"\dfrac", r"\tfrac"):
            return None
        na, nb, j = self._arg(i + 1, end, r"\frac")
        da, db, j = self._arg(j, end, r"\frac")
        num, den = self._after_d(na, nb), self._after_d(da, db)
        if num is None or den is None:
            return None
        return (num, nb), (den, db), j

    def _after_d(self, a: int, b: int) -> int | None:
        """Where the expression after a leading ∂ or d starts (None if the group does not start with one)."""
        a = self._skip(a, b)
        if a >= b:
            return None
        t = self.toks[a]
        if t.text == r"\partial":
            if a + 1 < b and self.toks[a + 1].text == "^":
                raise ParseError(f"{_col(t)}: higher derivatives are not supported", token=self._source(a, b))
            return a + 1
        if t.kind == "letter" and t.text == "d" and a + 1 < b and self.toks[a + 1].kind in ("letter", "cmd"):
            return a + 1
        if t.kind == "cmd" and t.text in (r"\mathrm", r"\text", r"\operatorname") and self._group_text(*self._arg(a + 1, b, t.text)[:2]) == "d":
            return self._arg(a + 1, b, t.text)[2]
        return None


class _Arithmetic:
    """The normalising pass over one range: names, calls, brackets and fractions become
    placeholders holding sympy expressions; the arithmetic between them is written as
    Python and given to ``sympy.parse_expr``."""

    def __init__(self, reader: _Reader, start: int, stop: int):
        self.r = reader
        self.toks = reader.toks
        self.start, self.stop = start, stop
        self.parts: list[str] = []
        self.env: dict[str, sympy.Expr] = {}
        self.after_operand = False
        self.last_op: _Tok | None = None

    # -- output ---------------------------------------------------------------

    def _operand(self, expr: sympy.Expr) -> None:
        if self.after_operand:
            self.parts.append("*")  # implicit multiplication, made explicit
        name = f"_v{len(self.env)}"
        self.env[name] = sympy.sympify(expr)
        self.parts.append(name)
        self.after_operand = True

    def _operator(self, op: str, tok: _Tok) -> None:
        if not self.after_operand and op not in "+-":
            raise ParseError(f"{_col(tok)}: '{tok.text}' has nothing on its left", token=tok.text)
        self.parts.append(op)
        self.after_operand = False
        self.last_op = tok

    def result(self) -> sympy.Expr:
        i = self.start
        while i < self.stop:
            i = self._step(i)
        if not self.parts:
            near = self.toks[self.start - 1] if self.start > 0 else None
            raise ParseError(f"{_col(near) + ': ' if near else ''}an empty formula or bracket", token=near.text if near else "")
        if not self.after_operand:
            tok = self.last_op
            raise ParseError(f"{_col(tok)}: '{tok.text}' has nothing on its right", token=tok.text)
        text = " ".join(self.parts)
        try:
            expr = parse_expr(text, local_dict=dict(self.env), global_dict={"__builtins__": {}, "Integer": sympy.Integer},
                              transformations=(auto_number,))
        except (SyntaxError, TypeError, ValueError, ZeroDivisionError) as exc:  # pragma: no cover - the pass checks operators
            raise ParseError(f"cannot read {self.r._source(self.start, self.stop)!r}: {exc}", token=self.r._source(self.start, self.stop)) from None
        return sympy.sympify(expr)

    # -- one token ------------------------------------------------------------

    def _step(self, i: int) -> int:
        t = self.toks[i]
        r = self.r
        if t.kind == "space":
            return i + 1
        if r._opener(i):
            return self._bracket(i)
        if t.kind == "char" and t.text == "{":
            close = r.pairs[i]
            self._operand(r.expr(i + 1, close))
            return close + 1
        if t.kind == "digit" or (t.text == "." and i + 1 < self.stop and self.toks[i + 1].kind == "digit"):
            return self._number(i)
        if t.kind == "char" and t.text in "+-":
            self._operator(t.text, t)
            return i + 1
        if t.kind == "char" and t.text == "/" or t.text == r"\div":
            self._operator("/", t)
            return i + 1
        if t.text in ("*", r"\cdot", r"\times", r"\ast", r"\odot", r"\bullet"):
            self._operator("*", t)
            return i + 1
        if t.kind == "char" and t.text == "^":
            return self._power(i)
        if t.kind == "char" and t.text == "_":
            raise ParseError(f"{_col(t)}: a subscript on {self._previous(i)!r}, which is not a name", token="_")
        if t.text in (r"\frac", r"\dfrac", r"\tfrac"):
            return self._frac(i)
        if t.text == r"\sqrt":
            return self._sqrt(i)
        if t.kind == "cmd" and t.text in _FUNCTION_COMMANDS and t.text != r"\sigma":
            return self._call(_FUNCTION_COMMANDS[t.text], 0, t.text, i + 1, braces_ok=True)
        if t.text == r"\pi":
            self._operand(sympy.pi)
            return i + 1
        if t.kind == "letter" or (t.kind == "cmd" and (t.text in _ACCENTS or t.text in _FONTS or t.text[1:] in _GREEK)):
            return self._name(i)
        if t.text in (r"\partial", r"\nabla"):
            raise ParseError(f"{_col(t)}: '{t.text}' outside a \\frac{{\\partial …}}{{\\partial …}}", token=t.text)
        if t.kind in ("cmd", "sym"):
            raise ParseError(f"{_col(t)}: unknown LaTeX command '{t.text}'", token=t.text)
        if t.text == ",":
            raise ParseError(f"{_col(t)}: a comma; a claim is one scalar formula", token=",")
        raise ParseError(f"{_col(t)}: unexpected {t.text!r}", token=t.text)

    def _previous(self, i: int) -> str:
        j = i - 1
        while j >= self.start and self.toks[j].kind == "space":
            j -= 1
        return self.toks[j].text if j >= self.start else ""

    def _number(self, i: int) -> int:
        j = i
        seen_dot = False
        while j < self.stop and (self.toks[j].kind == "digit" or (self.toks[j].text == "." and not seen_dot)):
            seen_dot |= self.toks[j].text == "."
            j += 1
        text = "".join(t.text for t in self.toks[i:j])
        if text.endswith("."):
            raise ParseError(f"{_col(self.toks[i])}: a number ending in '.': {text!r}", token=text)
        self._operand(sympy.Rational(text))  # exact: 0.5 is 1/2, so a symbolic proof stays exact
        return j

    def _bracket(self, i: int) -> int:
        r = self.r
        close = r.pairs[i]
        inner = r._inner_start(i)
        opener = self.toks[i].text if self.toks[i].text != r"\left" else self.toks[inner - 1].text
        value = r.expr(inner, close)
        if opener in ("|", r"\vert", r"\lvert"):
            value = sympy.Abs(value)
        self._operand(value)
        # The seeds write (…)_w for "evaluated at the current w": the subscript is dropped.
        return r._after_bracket(close, self.stop)

    def _power(self, i: int) -> int:
        t = self.toks[i]
        if not self.after_operand:
            raise ParseError(f"{_col(t)}: '^' has nothing to raise", token="^")
        a, b, j = self.r._arg(i + 1, self.stop, "^")
        content = self.r._group_text(a, b)
        if content in ("T", r"\top", r"\intercal"):
            raise ParseError(f"{_col(t)}: a transpose; verify takes a scalar element formula", token="^" + content)
        if content == r"\prime" or content == "'":
            raise ParseError(f"{_col(t)}: a prime on {self._previous(i)!r}, which is not a function", token="'")
        exponent = self.r.expr(a, b)
        name = f"_v{len(self.env)}"
        self.env[name] = exponent
        self.parts.append(f"**{name}")
        k = self.r._skip(j, self.stop)
        if k < self.stop and self.toks[k].text == "^":
            raise ParseError(f"{_col(self.toks[k])}: a double superscript; use braces", token="^")
        return j

    def _frac(self, i: int) -> int:
        r = self.r
        derivative = r._derivative_frac(i, self.stop)
        if derivative is not None:
            (na, nb), (da, db), j = derivative
            self._operand(self._derivative(na, nb, da, db))
            return j
        na, nb, j = r._arg(i + 1, self.stop, self.toks[i].text)
        da, db, j = r._arg(j, self.stop, self.toks[i].text)
        self._operand(r.expr(na, nb) / r.expr(da, db))
        return j

    def _sqrt(self, i: int) -> int:
        r = self.r
        j = r._skip(i + 1, self.stop)
        degree = sympy.Integer(2)
        if j < self.stop and self.toks[j].text == "[":
            close = r.pairs[j]
            degree = r.expr(j + 1, close)
            j = close + 1
        a, b, j = r._arg(j, self.stop, r"\sqrt")
        self._operand(r.expr(a, b) ** (1 / degree))
        return j

    def _derivative(self, na: int, nb: int, da: int, db: int) -> sympy.Expr:
        """∂A/∂B of the chain-rule lines: A's definition expanded through the steps that
        depend on B, differentiated with B held as the only variable that moves."""
        r = self.r
        wrt_name, k = r._name_at(r._skip(da, db), db)
        if wrt_name is None or r._skip(k, db) != db:
            raise ParseError(f"differentiation with respect to {r._source(da, db)!r}: name one symbol", token=r._source(da, db))
        wrt = r._symbol(wrt_name)
        if not isinstance(wrt, sympy.Symbol):
            raise ParseError(f"differentiation with respect to {wrt_name.text!r}, which is not a symbol of the network", token=wrt_name.text)
        first = r._skip(na, nb)
        name, k = r._name_at(first, nb) if first < nb else (None, first)
        if name is not None and r._skip(k, nb) == nb:
            func = r._function(name)
            if func is not None:  # dg/du_1: the function's derivative at u_1
                return _function_derivative(func, name.primes + 1, wrt)
        return _partial(r.net, r.expr(na, nb), wrt)

    # -- names and calls ------------------------------------------------------

    def _name(self, i: int) -> int:
        r = self.r
        name, j = r._name_at(i, self.stop)
        run = i
        while run < self.stop and self.toks[run].kind == "letter":
            run += 1
        if run - i > 1 and j <= i + 1:
            # Not one name: TeX's reading, letter by letter (ab is a·b), when every letter is a name.
            word = r._source(i, run)
            for m in range(i, run - 1):
                single = _Name(base=self.toks[m].text, text=self.toks[m].text)
                try:
                    if r._function(single) is not None:
                        raise UnknownSymbolError(word, token=word)
                    self._operand(r._symbol(single))
                except UnknownSymbolError:
                    raise UnknownSymbolError(
                        f"unknown name {word!r}: it is not a name of network {r.net.name!r}, nor a product of its one-letter names"
                        + r.table.suggestions(word),
                        token=word,
                    ) from None
            i = run - 1
            name, j = r._name_at(i, self.stop)
        return self._named_parsed(name, i, j)

    def _named_parsed(self, name: _Name, i: int, j: int) -> int:
        r = self.r
        func = r._function(name) if not name.index else None
        if name.base == "sigma" and r.table.lookup(name.key) is None and name.base not in r.overrides.functions:
            func = fn.sigmoid
        if func is not None:
            return self._call(func, name.primes, name.text or name.base, j, braces_ok=self.toks[i].kind == "cmd")
        self._operand(r._symbol(name))
        return j

    def _call(self, func, primes: int, written: str, j: int, *, braces_ok: bool) -> int:
        """``F(arg)``, ``F'(arg)``, ``F^2(arg)``; commands also take ``\\ln x`` or ``\\exp{…}``."""
        r = self.r
        k = r._skip(j, self.stop)
        power = None
        while k < self.stop and self.toks[k].text in ("'", "^"):
            if self.toks[k].text == "'":
                primes += 1
                k = r._skip(k + 1, self.stop)
                continue
            a, b, k2 = r._arg(k + 1, self.stop, "^")
            content = r._group_text(a, b)
            if re.fullmatch(r"(\\prime)+", content):
                primes += content.count(r"\prime")
            elif content == "-1":
                raise ParseError(f"{_col(self.toks[k])}: an inverse function {written}^{{-1}}", token=f"{written}^{{-1}}")
            else:
                power = r.expr(a, b)
            k = r._skip(k2, self.stop)
        if k < self.stop and r._opener(k):
            close = r.pairs[k]
            inner = r._inner_start(k)
            commas = [m for m in range(inner, close) if self.toks[m].text == "," and not any(o < m < c for o, c in r.pairs.items() if inner <= o < close)]
            if commas and func not in _MULTI_ARGUMENT:
                raise ParseError(f"{_col(self.toks[commas[0]])}: ',' in the argument of {written}, which takes one argument", token=",")
            bounds = [inner - 1] + commas + [close]
            args = [r.expr(a + 1, b) for a, b in zip(bounds, bounds[1:])]
            if len(args) > 1:
                if primes:
                    raise ParseError(f"a prime on {written}, a function of several arguments", token=written)
                value = func(*args)
                self._operand(value if power is None else value**power)
                return r._after_bracket(close, self.stop)
            arg = args[0]
            end = r._after_bracket(close, self.stop)
        elif braces_ok and k < self.stop:
            start = k
            if self.toks[k].text == "{":
                close = r.pairs[k]
                arg, end = r.expr(k + 1, close), close + 1
            else:
                name, end = r._name_at(k, self.stop)
                if name is None and self.toks[k].kind == "digit":
                    end = k + 1
                    while end < self.stop and self.toks[end].kind == "digit":
                        end += 1
                    arg = sympy.Integer(r._source(k, end))
                elif name is None:
                    raise ParseError(f"{_col(self.toks[start])}: {written} is followed by {self.toks[start].text!r}, not an argument", token=written)
                else:
                    arg = r._symbol(name)
        else:
            raise ParseError(f"'{written}' is a function: write its argument in brackets, e.g. {written}(u_1)", token=written)
        value = _function_derivative(func, primes, arg) if primes else func(arg)
        self._operand(value if power is None else value**power)
        return end


# --------------------------------------------------------------------------- semantics


def _function_derivative(func, order: int, at: sympy.Expr) -> sympy.Expr:
    """The ``order``-th derivative of a one-argument function at ``at`` (g' = g(1 − g) for a sigmoid)."""
    x = sympy.Dummy("x", real=True)
    d = func(x)
    for _ in range(order):
        d = d.diff(x)
    return d.xreplace({x: at})


def _partial(net: "Network", expr: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
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


def read_latex(net: "Network", text: str, *, names: Mapping | None = None) -> Claim:
    r"""Read a LaTeX claim over ``net``'s symbols (see the module notes for the notation).

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> claim = read_latex(net, r"\frac{\partial f}{\partial x_1} = 2x_2\left(x_1 x_2 - 3\right)")
    >>> claim.lines, claim.wrt
    ((2*x2*(x1*x2 - 3),), x1)
    """
    reader = _Reader(net, text, names)
    lines, wrt = reader.lines()
    if reader.stray is None:
        return Claim(lines, "latex", wrt, text)
    stray, readings, segment = reader.stray_readings()
    offset = len(lines) - (len(reader.equals) + 1)  # segments dropped in front (a left side)
    index = segment + offset
    if not 0 <= index < len(lines):
        raise reader.error
    alternatives = tuple((where, lines[:index] + (expr,) + lines[index + 1 :]) for where, expr in readings)
    return Claim(lines, "latex", wrt, text, alternatives, stray)


# --------------------------------------------------------------------------- Python and sympy


def read_python(net: "Network", text: str, *, names: Mapping | None = None) -> Claim:
    """Read a claim written in Python syntax with the network's own names.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> read_python(net, "2*x2*(x1*x2 - 3)").lines
    (2*x2*(x1*x2 - 3),)
    """
    table = _names_of(net)
    local: dict[str, object] = dict(table.functions)
    local.update({"ln": sympy.log, "E": sympy.E, "pi": sympy.pi})
    local.update(table.plain)
    for written, meaning in (names or {}).items():
        if not str(written).isidentifier():
            continue
        if isinstance(meaning, str) and meaning in table.plain:
            local[str(written)] = table.plain[meaning]
        elif isinstance(meaning, str) and meaning in fn.ALIASABLE_NAMES:
            local[str(written)] = fn.resolve(meaning)
        elif isinstance(meaning, str):
            local[str(written)] = read_python(net, meaning).lines[0]
        else:
            local[str(written)] = meaning
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"cannot read {text!r}: {exc}", token=text) from None
    for tok in toks:
        if tok.type == tokenize.NAME and tok.string not in local:
            raise UnknownSymbolError(
                f"unknown name {tok.string!r}: it is not a parameter, input, target, step or function of network {net.name!r}"
                + table.suggestions(tok.string),
                token=tok.string,
            )
        if tok.type == tokenize.OP and tok.string not in {"+", "-", "*", "/", "**", "^", "(", ")", "."}:
            raise ParseError(f"{tok.string!r} is not allowed in a claim (only + - * / ** ^ and brackets)", token=tok.string)
    try:
        expr = parse_expr(text.strip(), local_dict=local, global_dict={"__builtins__": {}, "Integer": sympy.Integer,
                          "Float": sympy.Float, "Rational": sympy.Rational}, transformations=(auto_number, rationalize, convert_xor))
    except SyntaxError:
        raise ParseError(f"syntax error in {text!r}", token=text) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ParseError(f"cannot read {text!r}: {exc}", token=text) from None
    if not isinstance(expr, sympy.Expr):
        raise ParseError(f"{text!r} is not a scalar formula", token=text)
    return Claim((expr,), "python", None, text)


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
    table = _names_of(net)
    overrides = _Overrides(names, table)
    mapping: dict[sympy.Basic, sympy.Expr] = {}
    for s in expr.free_symbols:
        if s in table.symbols:
            continue
        parsed = _parse_name_text(s.name) or _Name(base=s.name)
        found = overrides.symbols.get(parsed.key)
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
        func = overrides.functions.get(name) or table.functions.get(name)
        if func is None and name == "sigma":
            func = fn.sigmoid
        if func is None:
            raise UnknownSymbolError(f"unknown function {name!r} in the claim", token=name)
        expr = expr.xreplace({app: func(*app.args)})
    if expr.has(sympy.Derivative):
        expr = expr.doit()
    expr = expr.xreplace({f: sympy.Rational(str(f)) for f in expr.atoms(sympy.Float)})
    return Claim((expr,), "sympy", None, None)
