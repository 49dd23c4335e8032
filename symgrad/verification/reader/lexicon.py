r"""What the names of one claim mean.

A :class:`Lexicon` resolves every name the parser meets, in this order: the caller's
``names={...}`` mapping; the names the derivation itself defined on earlier lines
(``\delta_j = …``); the network's own names; on a layered network, the textbook
names of :mod:`.layers` and whole matrices and vectors; ``e`` and ``\pi``. Whatever
is left is an error naming the name and suggesting close ones.

Generic indices: a name indexed by letters (``w^{(2)}_{ij}``, ``\delta^{(l+1)}_k``) is
read with the values in :attr:`Lexicon.bindings`; the claim is read once per
admissible value (:mod:`..derivation`). An index that runs past its family raises
:class:`IndexOutOfRange`; a letter with no value raises :class:`UnboundIndex`.

A bare superscript before an index (``w^3_{12}``) is a layer on a layered network
and a power elsewhere; where both readings name something, it is an error that
offers both. Every reading chosen for the reader is kept in :attr:`Lexicon.notes`.

>>> import symgrad as sg
>>> from symgrad.verification.reader.names import parse_name
>>> net = sg.mlp([3, 4, 2])
>>> lexicon = Lexicon(net, bindings={"i": 2, "j": 3})
>>> lexicon.value(parse_name(r"w^{(1)}_{ij}")), lexicon.value(parse_name(r"w^2_{12}"))
(W1_2_3, W2_1_2)
>>> lexicon.notes
['w^2_{12} is read as w^{(2)}_{12} (layer 2), not as a power']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Mapping

import sympy

from ...errors import ParseError, SymgradError, UnknownSymbolError
from ...model import functions as fn
from ...present.latex import name_latex
from .layered import LayerActivation, Layers
from .matrices import Matrix
from .names import Name, function_word, network_names

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network

__all__ = [
    "INDEX_LETTERS", "Definition", "IndexOutOfRange", "Lexicon", "UnboundIndex", "Variant", "index_letters",
]

#: Letters that stand for an index (i, j, k, m, n, p, q) or a layer (l) when a name is not found as written.
INDEX_LETTERS = frozenset("ijklmnpq")
_LAYER_TEXT = re.compile(r"(\d+)|([lL])([+-]\d+)?")


class UnboundIndex(UnknownSymbolError):
    """A generic index letter that has no value where it is read."""


class IndexOutOfRange(SymgradError):
    """A generic index whose value runs past the family it indexes (w^{(2)}_{ij} at i = 3 in a 2-row W)."""


def index_letters(name: Name) -> list[str]:
    """The generic letters of a name's layer and index, in order (``w^{(l)}_{ij}`` → l, i, j)."""
    out = []
    m = _LAYER_TEXT.fullmatch(name.layer or name.superscript)
    if m and m.group(2) == "l":
        out.append("l")
    out += [p for p in _parts(name.index) if p in INDEX_LETTERS]
    return out


def _same_text(a: str, b: str) -> bool:
    """Whether two indices are written alike, braces and spaces aside (u_{1} and u_1)."""
    return re.sub(r"[{}\s]", "", a) == re.sub(r"[{}\s]", "", b)


def _parts(index: str) -> list[str]:
    index = index.replace(" ", "")
    if not index:
        return []
    if any(c in "_{}\\^" for c in index):
        return [index]  # δ_{u_{1}}: a name as the index, one part
    if "," in index:
        return index.split(",")
    if any(c in INDEX_LETTERS for c in index):
        return list(index)  # w_{ij}, w_{1j}: one letter or digit per index
    return [index]


@dataclass(frozen=True)
class Variant:
    """A change the diagnosis tries on one name of a claim (at token ``at``): transpose
    it, move its layer by ``layer_shift``, swap its two indices, or write one index
    letter for another."""

    at: int
    transpose: bool = False
    layer_shift: int = 0
    swap: bool = False
    letters: tuple[str, str] | None = None  # an index letter replaced by another: (old, new)


@dataclass
class Definition:
    """A name a derivation defines (``\\delta_j = …``): its written pattern, how to read its
    right side with a lexicon (index values bound), and where it is."""

    name: Name
    read: Callable[["Lexicon"], object]
    line: int | None = None

    @property
    def letters(self) -> list[str]:
        return index_letters(self.name)


@dataclass
class _Shared:
    """What the copies of one lexicon share: notes, definitions, caches."""

    notes: dict = field(default_factory=dict)
    definitions: list = field(default_factory=list)
    cache: dict = field(default_factory=dict)
    evaluating: set = field(default_factory=set)


class Lexicon:
    """The meaning of the names in one claim (see the module notes).

    ``symbols`` maps a written name's key to an expression and ``functions`` a written
    base to a function class (the caller's ``names=``); ``bindings`` gives generic
    index letters their values; ``convention`` ("column" or "row") shapes matrices.
    """

    def __init__(self, net: "Network", symbols: Mapping | None = None, functions: Mapping | None = None, *,
                 bindings: Mapping[str, int] | None = None, convention: str = "column"):
        self.net = net
        self.table = network_names(net)
        self.layers = Layers(net) if getattr(net, "layers", None) is not None else None
        self.symbols: dict[tuple, sympy.Expr] = dict(symbols or {})
        self.functions: dict[str, type] = dict(functions or {})
        self.bindings: dict[str, int] = dict(bindings or {})
        self.convention = convention
        self.variant: Variant | None = None
        self.used_matrices = False  # set when a matrix or vector was read
        self._shared = _Shared()

    # -- copies for one reading

    def bound(self, bindings: Mapping[str, int] | None = None, convention: str | None = None, variant: Variant | None = None) -> "Lexicon":
        """This lexicon with other index values, convention or variant (notes and definitions shared)."""
        other = object.__new__(Lexicon)
        other.__dict__.update(self.__dict__)
        other.bindings = dict(self.bindings if bindings is None else bindings)
        other.convention = convention or self.convention
        other.variant = variant
        other.used_matrices = False
        return other

    def as_of(self, count: int, private: bool = False) -> "Lexicon":
        """This lexicon with only the first ``count`` definitions (what a line sees of the lines
        before it); ``private`` keeps its notes to itself (a diagnosis trying variants)."""
        other = self.bound(self.bindings, self.convention)
        other._shared = _Shared({} if private else self._shared.notes, list(self._shared.definitions[:count]))
        return other

    @property
    def memo(self) -> dict:
        """A cache for what is read the same way wherever it is written (shared by the copies)."""
        return self._shared.cache

    @property
    def notes(self) -> list[str]:
        return list(self._shared.notes)

    def note(self, text: str) -> None:
        self._shared.notes[text] = True

    @property
    def definitions(self) -> list[Definition]:
        return self._shared.definitions

    def define(self, definition: Definition) -> None:
        """Bind a name for the lines after this one."""
        self._shared.definitions.append(definition)
        self._shared.cache.clear()

    def index_limit(self) -> int:
        """The largest value a generic index is tried with: the widest layer, or the largest
        number in the network's names."""
        if self.layers is not None:
            return max(self.layers.sizes)
        numbers = [int(n) for s in self.table.plain for n in re.findall(r"\d+", s)]
        return min(max(numbers, default=9), 99)

    # -- words and functions

    def plain(self, text: str) -> sympy.Expr | None:
        """A name typed as declared (``fhat1``, ``w7``), or None."""
        found = self.symbols.get(("", text, "", ""))
        return found if found is not None else self.table.plain.get(text)

    def is_word(self, word: str) -> bool:
        """Whether a run of letters is one name (Loss, lse, tanh) rather than a product of letters."""
        return (
            word in self.table.bases
            or word in self.functions
            or any(key[1] == word for key in self.symbols)
            or word in self.table.functions
            or function_word(word) is not None
            or any(d.name.base == word for d in self.definitions)
        )

    def function(self, name: Name):
        """The function a name stands for, if it is one (and not a symbol of the network)."""
        if name.index or name.layer or name.accent:
            return None
        base = name.base
        if base in self.functions:
            return self.functions[base]
        if self.table.lookup(name.key) is not None:
            return None
        if base in self.table.functions:
            return self.table.functions[base]
        if base in self.table.symbol_functions:
            return self.table.symbol_functions[base]
        if base in ("f", "phi", "varphi"):
            acts = self.table.activations
            if len(acts) == 1:
                return acts[0]
            if self.layers is not None:
                return LayerActivation(self.layers, name.base, "l" in self.bindings)
            kinds = ", ".join(sorted(fn.kind_of(a) for a in acts)) or "none"
            raise UnknownSymbolError(
                f"'{name.written}' stands for the activation, but this network has {len(acts)} kinds ({kinds}); "
                f"name it, e.g. names={{'{base}': 'sigmoid'}}",
                token=name.written,
            )
        return function_word(base)

    def sigma_is_sigmoid(self, name: Name) -> bool:
        """σ applies the sigmoid unless the network or the caller gives σ another meaning."""
        return name.base == "sigma" and self.table.lookup(name.key) is None and name.base not in self.functions

    # -- values

    def symbol(self, name: Name) -> sympy.Expr:
        """The value of a name that must be a scalar."""
        value = self.value(name)
        if isinstance(value, Matrix):
            raise ParseError(f"{name.written!r} is a whole {value.shape[0]}×{value.shape[1]} matrix here, not one entry", token=name.written)
        return value

    def value(self, name: Name, at: int | None = None):
        """What ``name`` stands for: a network symbol, an expression, or a :class:`Matrix`."""
        if name.primes:
            raise ParseError(f"a prime on {name.written!r}, which is not a function; write the derivative of a function, e.g. g'(u_1)", token=name.written)
        variant = self.variant if self.variant is not None and self.variant.at == at else None
        if variant is not None:
            name = self._varied(name, variant)
        if name.superscript:
            value = self._superscripted(name)
        else:
            value = self._value(name)
        if variant is not None and variant.transpose:
            if not isinstance(value, Matrix):
                raise ParseError("a transpose of a scalar", token=name.written)
            value = value.T
        return value

    def _varied(self, name: Name, variant: Variant) -> Name:
        if variant.layer_shift:
            layer = self._layer(name.layer or name.superscript)
            if layer is None:
                raise ParseError("no layer to move", token=name.written)
            name = replace(name, layer=str(layer + variant.layer_shift), superscript="")
        if variant.letters:
            old, new = variant.letters
            name = replace(name, index=",".join(new if p == old else p for p in _parts(name.index)))
        if variant.swap:
            parts = _parts(name.index)
            if len(parts) == 1 and len(parts[0]) == 2:
                parts = list(parts[0])  # w_{12}: row 1, column 2
            if len(parts) != 2:
                raise ParseError("no two indices to swap", token=name.written)
            name = replace(name, index=",".join(reversed(parts)))
        return name

    def _layer(self, text: str) -> int | None:
        if not text:
            return None
        m = _LAYER_TEXT.fullmatch(text)
        if m is None:
            raise ParseError(f"cannot read the layer {text!r}", token=text)
        if m.group(1):
            return int(m.group(1))
        if m.group(2) == "L":
            if self.layers is None:
                raise ParseError(f"layer {text!r} on a network without layers", token=text)
            base = self.layers.L
        elif "l" in self.bindings:
            base = self.bindings["l"]
        else:
            raise UnboundIndex("the layer index l has no value here", token="l")
        return base + int(m.group(3) or 0)

    def _concrete(self, name: Name) -> tuple[Name, int | None, tuple | None, bool]:
        """The name with its generic letters replaced by their values; its layer, index values and whether it was generic."""
        layer = self._layer(name.layer)
        parts = _parts(name.index)
        generic = any(p in INDEX_LETTERS for p in parts) or bool(re.search(r"[lL]", name.layer))
        values = []
        for p in parts:
            if p in INDEX_LETTERS:
                if p not in self.bindings:
                    raise UnboundIndex(f"the index {p} of {name.written!r} has no value here", token=p)
                values.append(self.bindings[p])
            elif p.isdigit():
                values.append(int(p))
            else:
                values.append(p)
        if generic:
            text = ("" if all(isinstance(v, int) and v < 10 for v in values) else ",").join(str(v) for v in values)
            name = replace(name, layer="" if layer is None else str(layer), index=text)
        ints = tuple(values) if all(isinstance(v, int) for v in values) else None
        if ints is not None and len(parts) == 1 and len(parts[0]) == 2 and parts[0].isdigit():
            ints = (int(parts[0][0]), int(parts[0][1]))  # w_{23}: row 2, column 3 (a two-index family reads it so)
            if self.layers is None or self.layers.quantity(name.base, name.accent) != "weight":
                ints = (int(parts[0]),)
        return name, layer, ints, generic

    def _value(self, written: Name):
        try:
            name, layer, parts, generic = self._concrete(written)
        except UnboundIndex as error:
            if not self._family_known(written, None):
                self._unknown(written)
            raise UnboundIndex(
                f"{error} in {written.written!r}: give it its values by writing the left side with it, "
                f"e.g. \\frac{{\\partial L}}{{\\partial {written.written}}} = …",
                token=written.written,
            ) from None
        key = name.key
        cache_key = (key, name.bold, self.convention)
        if cache_key in self._shared.cache:
            return self._shared.cache[cache_key]
        value = self._resolve(name, layer, parts)
        if value is None:
            if generic and self._family_known(name, layer):
                raise IndexOutOfRange(f"{written.written!r} has no entry {name.text or name_latex(name.base)} at {self._where()}", token=written.written)
            self._unknown(written)
        if isinstance(value, Matrix):
            self.used_matrices = True
        self._shared.cache[cache_key] = value
        return value

    def _where(self) -> str:
        return ", ".join(f"{k} = {v}" for k, v in sorted(self.bindings.items())) or "these indices"

    def _resolve(self, name: Name, layer: int | None, parts):
        key = name.key
        if key in self.symbols:
            return self.symbols[key]
        defined = self._defined(name, layer, parts)
        if defined is not None:
            return defined
        found = self.table.lookup(key)
        if found is not None:
            return found
        if self.layers is not None and parts is not None:
            found = self.layers.symbol(name.base, layer, parts, name.accent)
            if found is not None:
                return found
            if name.base == "delta" and not name.accent and layer is not None and len(parts) == 1:
                u = self.layers.symbol("u", layer, parts)
                if u is not None:
                    self.note(f"δ^{{({layer})}} is read as ∇_{{u^{{({layer})}}}} L, the network's error term (the derivation does not define it)")
                    return self.adjoint(u)
        if not name.index:
            obj = self._object(name, layer)
            if obj is not None:
                return obj
        elif name.bold and parts is not None and len(parts) == 1 and self.layers is not None and layer is not None:
            row = self._weight_row(name, layer, parts[0])
            if row is not None:
                return row
        if key == ("", "e", "", ""):
            return sympy.E
        if key == ("", "pi", "", ""):
            return sympy.pi
        return None

    def _family_known(self, name: Name, layer: int | None) -> bool:
        """Whether names of this family exist with other indices (so this one is out of range, not unknown)."""
        if self.layers is not None and self.layers.quantity(name.base, name.accent) is not None:
            return True
        if any(d.name.base == name.base and d.name.accent == name.accent for d in self.definitions):
            return True
        layered = bool(name.layer)
        return any(k[0] == name.accent and k[1] == name.base and bool(k[2]) == layered for k in list(self.table.keys) + list(self.symbols))

    def _unknown(self, name: Name):
        written = name.written
        if name.base in ("partial", "nabla"):
            raise ParseError(f"'\\{name.base}' outside a derivative: write \\frac{{\\partial A}}{{\\partial B}} or \\partial A/\\partial B", token="\\" + name.base)
        raise UnknownSymbolError(
            f"unknown name {written!r}: it is not a parameter, input, target or step of network {self.net.name!r}"
            + self.table.suggestions(written),
            token=written,
        )

    def _superscripted(self, name: Name):
        """``w^3_{12}``: the layer reading on a layered network, the power reading anywhere;
        an error offering both when both name something."""
        sup = name.superscript
        readings = []
        if self.layers is not None:
            readings.append(("layer", replace(name, layer=sup, superscript="")))
        if sup.isdigit():
            readings.append(("power", replace(name, superscript="")))
        found = []
        errors = []
        for how, reading in readings:
            try:
                value = self._value(reading)
            except (UnknownSymbolError, IndexOutOfRange) as error:
                errors.append(error)
                continue
            found.append((how, reading, value ** int(sup) if how == "power" else value))
        layer_text = f"{name.base}^{{({sup})}}" + (f"_{{{name.index}}}" if name.index else "")
        power_text = "{" + (f"{name.base}_{{{name.index}}}" if name.index else name.base) + "}" + f"^{{{sup}}}"
        if len(found) == 2:
            raise ParseError(
                f"{name.written!r} is ambiguous: it could be {layer_text} (layer {sup}) or {power_text} (a power); "
                f"write {layer_text} for the layer or {power_text} for the power",
                token=name.written,
            )
        if not found:
            raise errors[0]
        how, reading, value = found[0]
        if how == "layer":
            self.note(f"{name.written} is read as {layer_text} (layer {sup}), not as a power")
        return value

    # -- matrices and vectors

    def _orient(self, entries: list, n: int) -> Matrix:
        return Matrix(sympy.Matrix(n, 1, entries) if self.convention == "column" else sympy.Matrix(1, n, entries))

    def _object(self, name: Name, layer: int | None) -> Matrix | None:
        """A whole matrix or vector: W^{(l)}, a layer vector, or a bold name's entries."""
        if self.layers is None and not name.bold:
            return None
        if self.layers is not None and layer is not None:
            shape = self.layers.shape(name.base, layer, "column")
            if shape is not None:
                rows, cols = shape
                entries = sympy.Matrix(rows, cols, lambda i, j: self._entry(name, layer, f"{i + 1},{j + 1}"))
                return Matrix(entries if self.convention == "column" else entries.T)
            width = self.layers.width(name.base, layer, name.accent)
            if width is not None:
                return self._orient([self._entry(name, layer, str(i)) for i in range(1, width + 1)], width)
        if not name.bold and (self.layers is None or layer is None):
            return None
        entries = []
        if self.layers is not None and layer is None:
            width = self.layers.width(name.base, None, name.accent)
            if width is not None:
                return self._orient([self._entry(name, None, str(i)) for i in range(1, width + 1)], width)
        for i in range(1, 10_000):  # a bold name: its entries name_1, name_2, … as far as they go
            try:
                entries.append(self._entry(name, layer, str(i)))
            except (UnknownSymbolError, IndexOutOfRange):
                break
        return self._orient(entries, len(entries)) if entries else None

    def _entry(self, name: Name, layer: int | None, index: str):
        entry = replace(name, layer="" if layer is None else str(layer), index=index, bold=False, text="")
        return self.symbol(replace(entry, text=name_latex(name.base) + (f"^{{({layer})}}" if layer is not None else "") + f"_{{{index}}}"))

    def _weight_row(self, name: Name, layer: int, i: int) -> Matrix | None:
        shape = self.layers.shape(name.base, layer, "column")
        if shape is None or not 1 <= i <= shape[0]:
            return None
        entries = [self._entry(name, layer, f"{i},{j}") for j in range(1, shape[1] + 1)]
        return Matrix(sympy.Matrix(1, len(entries), entries) if self.convention == "column" else sympy.Matrix(len(entries), 1, entries))

    # -- definitions

    def _defined(self, name: Name, layer: int | None, parts):
        for definition in reversed(self.definitions):
            pattern = definition.name
            if (pattern.accent, pattern.base) != (name.accent, name.base):
                continue
            bindings = self._match_layer(pattern, layer)
            if bindings is None:
                continue
            pattern_parts = _parts(pattern.index)
            entry = None
            if parts is None and pattern_parts and _same_text(pattern.index, name.index):
                value = self._evaluate(definition, bindings)  # δ_{u_{1}}, δ_h: indexed by a name, as written
                if value is not None:
                    return value
                continue
            if pattern_parts and parts is not None and len(pattern_parts) == len(parts):
                for p, v in zip(pattern_parts, parts):
                    if p in INDEX_LETTERS:
                        if bindings.setdefault(p, v) != v:
                            break
                    elif p != str(v):
                        break
                else:
                    value = self._evaluate(definition, bindings)
                    if value is not None:
                        return value
                continue
            if not pattern_parts and parts is not None and len(parts) in (1, 2):
                entry = parts  # one entry of a defined vector or matrix
            elif pattern_parts or name.index:
                continue
            value = self._evaluate(definition, bindings)
            if value is None:
                continue
            if entry is None:
                return value
            if not isinstance(value, Matrix):
                continue
            rows, cols = value.shape
            flat = [value.entries[k] for k in range(rows * cols)]
            k = entry[0] - 1 if len(entry) == 1 else (entry[0] - 1) * cols + entry[1] - 1
            if len(entry) == 1 and 1 not in value.shape or not 0 <= k < len(flat):
                continue
            return flat[k]
        return None

    def _match_layer(self, pattern: Name, layer: int | None) -> dict | None:
        text = pattern.layer or pattern.superscript
        if not text:
            return {} if layer is None else None
        if layer is None:
            return None
        m = _LAYER_TEXT.fullmatch(text)
        if m is None:
            return None
        if m.group(1):
            return {} if int(m.group(1)) == layer else None
        offset = int(m.group(3) or 0)
        if m.group(2) == "L":
            return {} if self.layers is not None and self.layers.L + offset == layer else None
        return {"l": layer - offset}

    def _evaluate(self, definition: Definition, bindings: dict):
        key = (id(definition), tuple(sorted(bindings.items())), self.convention)
        if key in self._shared.evaluating:
            raise ParseError(f"{definition.name.written!r} is defined in terms of itself", token=definition.name.written)
        self._shared.evaluating.add(key)
        try:
            return definition.read(self.bound(bindings))
        except IndexOutOfRange:
            return None  # the definition does not reach this far (δ^{(l)} in δ^{(l+1)}, at the last layer)
        finally:
            self._shared.evaluating.discard(key)

    # -- derivatives of the loss

    def error_term(self, name: Name):
        """The network's δ⁽ˡ⁾ (an entry, or the vector) that a δ written with a layer stands for."""
        if self.layers is None:
            raise ParseError(f"{name.written!r}: an error term needs a layered network", token=name.written)
        layer = self._layer(name.layer or name.superscript)
        u = replace(name, base="u", accent="", layer=str(layer), superscript="", text="", primes=0)
        if name.index:
            u = replace(u, index=self._concrete(replace(name, layer=str(layer), superscript=""))[0].index)
        try:
            return self.adjoint(self.value(u))
        except UnknownSymbolError:
            raise IndexOutOfRange(f"{name.written!r} has no error term at {self._where()}", token=name.written) from None

    def adjoint(self, target):
        """∂Loss/∂target for a network symbol (a parameter or a step), or entry by entry for a matrix."""
        if isinstance(target, Matrix):
            return target.applyfunc(self.adjoint)
        sweep = self.net.grad(self.net.params[0]).sweep
        if target in sweep.factored:
            return sweep.factored[target]
        if target in sweep.inline:
            return sweep.inline[target]
        if target in sweep.active:
            return sympy.S.Zero  # a step that nothing below the loss uses
        written = name_latex(target.name) if isinstance(target, sympy.Symbol) else str(target)
        raise ParseError(
            f"a derivative of the loss with respect to {written}, which depends on no parameter (an input, a target, or a step "
            "computed from them); symgrad derives with respect to parameters and the steps that depend on them",
            token=written,
        )
