r"""Names as written, matched to a network's symbols by their structure, not their spelling.

``\hat{f}_1``, ``\hat f_1``, ``\hat{f_1}`` and ``fhat1`` all mean the step ``fhat1``;
``w_{10}`` is ``w10``; ``w^{(1)}_{23}``, ``w_{23}^{(1)}`` and ``W^{(1)}_{2,3}`` are
``W1_2_3``. A written name is read into a :class:`Name` (accent, base, layer, index,
primes); the network's own names are read the same way from the LaTeX symgrad prints
for them (:class:`NetworkNames`), and the two meet on the :attr:`Name.key`.

What a name means in one claim is the :class:`~.lexicon.Lexicon`'s business.

>>> parse_name(r"\hat{f}_{1}").key, parse_name(r"w^{(1)}_{2,3}").key
(('hat', 'f', '', '1'), ('', 'w', '1', '23'))
"""

from __future__ import annotations

import difflib
import re
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import sympy

from ...errors import ParseError, SymgradError, UnknownSymbolError
from ...model import functions as fn
from ...present.latex import name_latex
from .tokens import Formula, column

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network


class Words(Protocol):
    """What reading a name needs to know of a claim's names (a :class:`~.lexicon.Lexicon` is one)."""

    def plain(self, text: str) -> sympy.Expr | None: ...

    def is_word(self, word: str) -> bool: ...

__all__ = [
    "ACCENTS", "FONTS", "FUNCTION_COMMANDS", "FUNCTION_WORDS", "GREEK", "MULTI_ARGUMENT",
    "BOLD", "LAYER", "Name", "NetworkNames", "function_word", "network_names", "parse_name", "read_name",
]

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
    "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
}
ACCENTS = {r"\hat": "hat", r"\widehat": "hat", r"\tilde": "tilde", r"\widetilde": "tilde", r"\bar": "bar", r"\overline": "bar"}
FONTS = {r"\mathrm", r"\mathit", r"\mathbf", r"\boldsymbol", r"\bm", r"\mathsf", r"\text", r"\textrm", r"\textit", r"\operatorname", r"\mathcal",
         r"\mathbfit", r"\pmb", r"\vec"}
BOLD = {r"\mathbf", r"\boldsymbol", r"\bm", r"\mathbfit", r"\pmb", r"\vec"}
#: A layer written after a name: (2), [2], (l), (l+1), [l-1], L.
LAYER = re.compile(r"[(\[](\d+|[lL](?:[+-]\d+)?)[)\]]")
_BARE_LAYER = re.compile(r"\d+|[lL](?:[+-]\d+)?")
# Function commands and the function each stands for (\log is the natural log, as in ML texts).
FUNCTION_COMMANDS = {
    r"\exp": sympy.exp, r"\ln": sympy.log, r"\log": sympy.log, r"\tanh": sympy.tanh, r"\sinh": sympy.sinh,
    r"\cosh": sympy.cosh, r"\sin": sympy.sin, r"\cos": sympy.cos, r"\tan": sympy.tan, r"\sigma": fn.sigmoid,
    r"\max": sympy.Max, r"\min": sympy.Min,
}


def step(x):
    """The unit step as symgrad writes relu' (0 at 0)."""
    return sympy.Heaviside(x, 0)


# Function names written as words (\operatorname{ReLU}, tanh, sigmoid…), compared in lower case;
# step, sign and logsumexp are how symgrad's own LaTeX prints relu', |x|' and a softmax's normaliser.
FUNCTION_WORDS = {
    "exp": sympy.exp, "ln": sympy.log, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
    "step": step, "heaviside": step, "sign": sympy.sign, "sgn": sympy.sign, "logsumexp": fn.logsumexp,
    "max": sympy.Max, "min": sympy.Min
}
FUNCTION_WORDS.update({"sech": lambda x: 1 / sympy.cosh(x), "cosh": sympy.cosh, "sinh": sympy.sinh})
MULTI_ARGUMENT = (fn.logsumexp, sympy.Max, sympy.Min)


def _derivative_calls(f: type, x: sympy.Symbol):
    try:
        return sympy.diff(f(x), x).atoms(sympy.Function)
    except (TypeError, ValueError):  # a function of more than one argument
        return set()


def function_word(word: str):
    """The function a word names (``tanh``, ``ReLU``, ``logistic``, ``swish``, ``step``), or None:
    the words above, then each row of the functions table by its name and its word spellings."""
    lower = word.lower()
    if lower in FUNCTION_WORDS:
        return FUNCTION_WORDS[lower]
    for row in fn.FUNCTIONS.values():
        if row.builtin is not None and (lower == row.name or lower in (s.lower() for s in row.spellings if s.isalpha())
                                        or "\\" + word in row.spellings):
            return row.builtin
    return None


@dataclass(frozen=True)
class Name:
    """A name as written: ``\\hat{f}_{1}`` is accent 'hat', base 'f', index '1'.

    ``layer`` is a layer written ``^{(2)}``, ``^{[2]}`` or, generic, ``^{(l+1)}``;
    ``superscript`` a bare one written before the index (``w^3_{12}``), which may be a
    layer or a power (the :class:`Lexicon` decides); ``bold`` says the name was set in
    a bold font (``\\mathbf{x}``), which makes an unindexed name a vector.
    """

    base: str
    accent: str = ""
    layer: str = ""
    index: str = ""
    primes: int = 0
    text: str = ""  # as written, for messages
    bold: bool = False
    superscript: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.accent, self.base, self.layer, normal_index(self.index))

    @property
    def written(self) -> str:
        return self.text or self.base


def normal_index(index: str) -> str:
    """``2,3`` and ``23`` name the same entry when every index is one digit."""
    index = index.replace(" ", "")
    parts = index.split(",")
    if len(parts) > 1 and all(len(p) == 1 for p in parts):
        return "".join(parts)
    return index


def _leading_letters(name: str) -> str:
    m = re.match(r"[A-Za-z]+", name)
    return m.group() if m else ""


class NetworkNames:
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
        for st in net.steps:  # functions a network built from steps uses without declaring them
            for call in st.expr.atoms(sympy.Function):
                name = type(call).__name__
                if name.isidentifier() and fn.kind_of(type(call)) is not None:
                    self.functions.setdefault(name, type(call))
        kinds = {}
        for st in net.steps:
            e = st.expr
            row = fn.row_of(type(e)) if isinstance(e, sympy.Function) and len(e.args) == 1 else None
            if row is not None and row.activation:
                kinds[type(e)] = True
        self.activations = list(kinds)
        # Functions the network's derivatives print with a symbol of their own (GELU's
        # derivative is Φ(u) + u·φ(u)): in this network, \phi(u) is that function and
        # not a name for the activation.
        x = sympy.Dummy("x")
        used = {type(call) for st in net.steps for call in st.expr.atoms(sympy.Function)}
        printed = {type(call) for f in used for call in _derivative_calls(f, x)}
        self.symbol_functions = {spelling[1:]: row.builtin for row in fn.FUNCTIONS.values() if row.builtin in printed
                                 for spelling in row.spellings if spelling.startswith("\\")}

    def _keys_of(self, s: sympy.Symbol):
        parsed = parse_name(name_latex(s.name))
        if parsed is not None:
            yield parsed.key
            lead = _leading_letters(s.name)
            if lead and lead != parsed.base and lead.lower() == parsed.base.lower():
                yield replace(parsed, base=lead).key  # W1_2_3 prints as w^{(1)}_{23}; W^{(1)}_{23} means it too
        yield ("", s.name, "", "")

    def lookup(self, key) -> sympy.Symbol | None:
        """The symbol with this written structure, None if there is none."""
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


def network_names(net: "Network") -> NetworkNames:
    """The :class:`NetworkNames` of ``net`` (built once, then cached)."""
    try:
        return _NAME_CACHE[net]
    except (KeyError, TypeError):
        names = NetworkNames(net)
        try:
            _NAME_CACHE[net] = names
        except TypeError:  # pragma: no cover - a network that cannot be weakly referenced
            pass
        return names


# --------------------------------------------------------------------------- reading a name


def read_name(formula: Formula, i: int, end: int, lexicon: Words | None) -> tuple[Name | None, int]:
    """Read the name at token ``i`` (with its accent, index, layer and primes); None if none starts here.

    ``lexicon`` decides whether a run of letters is one name (``Loss``) or a product of
    one-letter names (TeX's reading); without one, a run of letters is one name (as in
    the LaTeX symgrad prints for the network's own names).
    """
    t = formula[i]
    if t.category == "cmd" and t.text in ACCENTS:
        a, b, j = formula.argument(i + 1, end, t.text)
        inner, k = read_name(formula, formula.skip(a, b), b, lexicon)
        if inner is None or formula.skip(k, b) != b or inner.accent:
            raise ParseError(f"{column(t)}: '{t.text}' must sit on a single name, got {formula.source(a, b)!r}", token=t.text)
        name = replace(inner, accent=ACCENTS[t.text])
    elif t.category == "cmd" and t.text in FONTS:
        a, b, j = formula.argument(i + 1, end, t.text)
        word = formula.group_text(a, b)
        inner, k = read_name(formula, formula.skip(a, b), b, lexicon) if re.fullmatch(r"\\[A-Za-z]+.*", word) else (None, a)
        if inner is not None and formula.skip(k, b) == b:  # \boldsymbol{\delta}, \mathbf{\hat y}
            name = replace(inner, bold=t.text in BOLD, text="")
        elif re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", word):
            name = Name(base=word, bold=t.text in BOLD)
        else:
            raise ParseError(f"{column(t)}: '{t.text}{{{word}}}' is not a name", token=f"{t.text}{{{word}}}")
    elif t.category == "cmd" and t.text[1:] in GREEK:
        name, j = Name(base=t.text[1:]), i + 1
    elif t.category == "letter":
        j = i
        while j < end and formula[j].category == "letter":
            j += 1
        k = j
        while k < end and formula[k].category == "digit":
            k += 1
        word, plain = formula.source(i, j), formula.source(i, k)
        follows = formula[k].text if k < end else ""
        if lexicon is None:
            name = Name(base=word)
        elif k > j and follows not in ("_", "^", "'") and lexicon.plain(plain) is not None:
            return Name(base=plain, text=plain), k  # fhat1, w7: a name typed as declared
        elif j - i > 1 and lexicon.is_word(word):
            name = Name(base=word)  # Loss, tanh, sigmoid
        else:
            name, j = Name(base=t.text), i + 1  # TeX's reading: one letter
    else:
        return None, i
    return _modifiers(formula, name, i, j, end)


def _modifiers(formula: Formula, name: Name, start: int, j: int, end: int) -> tuple[Name, int]:
    """Subscript, ``^{(l)}`` layer and primes after a name, in any order; a bare
    ``^2`` before the subscript is kept as a superscript for the lexicon to read."""
    while True:
        k = formula.skip(j, end)
        if k >= end:
            break
        t = formula[k]
        if t.text == "_" and t.category == "char":
            if name.index:
                raise ParseError(f"{column(t)}: a second subscript on {formula.source(start, k)!r}", token=formula.source(start, min(k + 2, end)))
            a, b, j2 = formula.argument(k + 1, end, "_")
            if b == a + 1 and j2 == b and j2 < end and formula[a].category == "digit" and formula[j2].category == "digit":
                written = formula.source(start, j2 + 1)
                raise ParseError(
                    f"{column(t)}: TeX reads {written!r} as a one-digit subscript followed by a digit; "
                    f"write the index in braces, e.g. _{{{formula[a].text}{formula[j2].text}}}",
                    token=written,
                )
            name, j = replace(name, index=formula.group_text(a, b)), j2
        elif t.text == "^" and t.category == "char":
            n = formula.skip(k + 1, end)
            if n < end and n in formula.pairs and formula[n].text in ("(", "["):  # w^(2), a^[l]: TeX reads one token, people mean the layer
                a, b, j2 = n, formula.pairs[n] + 1, formula.pairs[n] + 1
            else:
                a, b, j2 = formula.argument(k + 1, end, "^")
            content = formula.group_text(a, b)
            layer = LAYER.fullmatch(content)
            if layer and not name.layer and not name.superscript:
                name, j = replace(name, layer=layer.group(1)), j2
            elif re.fullmatch(r"(\\prime)+", content):
                name, j = replace(name, primes=name.primes + content.count(r"\prime")), j2
            elif _BARE_LAYER.fullmatch(content) and not (name.layer or name.superscript or name.index or name.primes):
                name, j = replace(name, superscript=content), j2  # w^3_{12}: a layer or a power
            else:
                break  # a power: the arithmetic handles it
        elif t.text == "'" and t.category == "char":
            name, j = replace(name, primes=name.primes + 1), k + 1
        else:
            break
    return replace(name, text=formula.source(start, j)), j


def parse_name(text: str) -> Name | None:
    """The structure of a name written in LaTeX, None if ``text`` is not one name.

    >>> parse_name(r"b_1^{(2)}").key, parse_name("w_7 + b") is None
    (('', 'b', '2', '1'), True)
    """
    try:
        formula = Formula(text)
        name, end = read_name(formula, formula.skip(0, len(formula)), len(formula), None)
    except (SymgradError, IndexError):
        return None
    return None if name is None or not formula.is_blank(end, len(formula)) else name
