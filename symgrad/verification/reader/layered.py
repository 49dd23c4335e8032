r"""What the usual textbook names mean on a layered network (one built by :func:`symgrad.mlp`).

symgrad names a layered network's symbols ``W{l}_{i}_{j}``, ``b{l}_{i}``, ``u{l}_{i}``
(pre-activations), ``x{l}_{i}`` (activations), inputs ``x{j}`` and targets ``y{k}``.
Derivations written elsewhere use other letters for the same things; this module
maps them, by layer and index:

* ``a^{(l)}`` is the activation x⁽ˡ⁾ and ``z^{(l)}`` the pre-activation u⁽ˡ⁾, as most
  courses write them; ``a^{(0)}`` and ``x^{(0)}`` are the inputs; ``\hat y`` is the
  output x⁽ᴸ⁾;
* ``\delta^{(l)}_i`` is the error term ∂L/∂u⁽ˡ⁾ᵢ (unless a derivation defines it);
* a name with a layer and no index (``W^{(l)}``, ``\delta^{(l)}``, ``a^{(l-1)}``), and a
  bold name without one (``\mathbf{y}``), is the whole matrix or vector, in the column
  convention (u = Wx + b, vectors are columns) or the row one (u = xW + b, vectors are
  rows, W⁽ˡ⁾ is stored transposed); ``\mathbf{w}^{(l)}_i`` is row i of W⁽ˡ⁾.

>>> import symgrad as sg
>>> layers = Layers(sg.mlp([3, 4, 2]))
>>> layers.symbol("a", 1, (2,)), layers.symbol("w", 2, (1, 3)), layers.symbol("x", 0, (3,))
(x1_2, W2_1_3, x3)
>>> layers.shape("W", 2, "column"), layers.shape("W", 2, "row"), layers.width("delta", 1)
((2, 4), (4, 2), 4)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from ...errors import ParseError, UnknownSymbolError
from ...model import functions as fn
from ...model.names import activation_name, bias_name, input_name, pre_activation_name, real_symbol, target_name, weight_name

if TYPE_CHECKING:  # pragma: no cover
    from ...model.network import Network

__all__ = ["LayerActivation", "Layers", "MATRIX_BASES", "VECTOR_BASES"]

#: Written bases of the weight matrices, and of the layer vectors (by the quantity each is).
MATRIX_BASES = {"W": "weight", "w": "weight", "theta": "weight", "Theta": "weight"}
VECTOR_BASES = {
    "b": "bias", "u": "pre", "z": "pre", "x": "activation", "a": "activation", "h": "activation",
    "delta": "delta", "y": "target", "t": "target",
}


class Layers:
    """A layered network's families of names, by layer and index."""

    def __init__(self, net: "Network"):
        spec = net.layers
        self.net = net
        self.sizes: tuple[int, ...] = tuple(spec.sizes)
        self.L = len(self.sizes) - 1
        self.activations: tuple[str, ...] = tuple(spec.activations)
        self.bias = bool(spec.bias)
        self._known = {s.name for s in list(net.params) + list(net.inputs) + list(net.targets)} | {st.target.name for st in net.steps}

    # -- scalars

    def quantity(self, base: str, accent: str = "") -> str | None:
        """What a written base stands for: weight, bias, pre, activation, delta, target, output."""
        if accent == "hat" and base in ("y", "x", "a", "o"):
            return "output"
        if accent:
            return None
        return MATRIX_BASES.get(base) or VECTOR_BASES.get(base)

    def _named(self, name: str) -> sympy.Symbol | None:
        return real_symbol(name) if name in self._known else None

    def symbol(self, base: str, layer: int | None, parts: tuple[int, ...], accent: str = "") -> sympy.Symbol | None:
        """The network symbol for a layered name with concrete layer and index values, or None."""
        q = self.quantity(base, accent)
        if q == "weight" and layer is not None and len(parts) == 2:
            return self._named(weight_name(layer, *parts))
        if len(parts) != 1:
            return None
        (i,) = parts
        if q == "output":
            return self.symbol("x", self.L, parts) if layer in (None, self.L) else None
        if q == "target" and layer in (None, self.L):
            return self._named(target_name(i))
        if layer is None:
            return None
        if q == "bias":
            return self._named(bias_name(layer, i))
        if q == "pre":
            return self._named(pre_activation_name(layer, i))
        if q == "activation":
            if layer == 0:
                return self._named(input_name(i))
            found = self._named(activation_name(layer, i))
            if found is None and 1 <= layer <= self.L and self.activations[layer - 1] == "identity":
                return self._named(pre_activation_name(layer, i))  # an identity layer's output is its u
            return found
        return None

    def has_layer(self, base: str, layer: int, accent: str = "") -> bool:
        """Whether the family has that layer at all (so an index beyond it is out of range, not unknown)."""
        q = self.quantity(base, accent)
        if q in ("weight", "bias", "pre", "delta"):
            return 1 <= layer <= self.L
        if q == "activation":
            return 0 <= layer <= self.L
        return q in ("output", "target") and layer == self.L

    # -- shapes and objects

    def width(self, base: str, layer: int | None, accent: str = "") -> int | None:
        """How many entries a layer vector has (None if the name is not a layer vector)."""
        q = self.quantity(base, accent)
        if q == "output" or (q == "target" and layer in (None, self.L)):
            return self.sizes[-1]
        if layer is None or not self.has_layer(base, layer, accent):
            return None
        if q in ("bias", "pre", "activation", "delta"):
            return self.sizes[layer]
        return None

    def shape(self, base: str, layer: int, convention: str) -> tuple[int, int] | None:
        """The shape of W⁽ˡ⁾ in a convention (None for other names)."""
        if self.quantity(base) != "weight" or not 1 <= layer <= self.L:
            return None
        rows, cols = self.sizes[layer], self.sizes[layer - 1]
        return (rows, cols) if convention == "column" else (cols, rows)

    def activation(self, layer: int):
        """The activation function of a layer (None for identity and softmax, which have no scalar f')."""
        if not 1 <= layer <= self.L:
            return None
        kind = self.activations[layer - 1]
        return None if kind in ("identity", "softmax") else fn.resolve(kind)

    def layer_of(self, symbol: sympy.Symbol) -> int | None:
        """The layer of a pre-activation or activation symbol (u2_1 → 2)."""
        head, _, rest = symbol.name.partition("_")
        if head[:1] in ("u", "x") and head[1:].isdigit() and rest.isdigit():
            return int(head[1:])
        return None


class LayerActivation:
    r"""``f`` on a network whose layers use different activations. Applied to a whole
    layer (``f'(\mathbf{u}^{(2)})``) or in a claim about every layer (``f'(u^{(l)}_j)``),
    it is that layer's activation; applied to one entry, it is ambiguous."""

    def __init__(self, layers: Layers, written: str, generic_layer: bool):
        self.layers, self.written, self.generic_layer = layers, written, generic_layer

    def for_argument(self, arg, whole_layer: bool = False):
        layers = {self.layers.layer_of(s) for s in sympy.sympify(arg).free_symbols} - {None}
        if len(layers) == 1 and (whole_layer or self.generic_layer):
            (layer,) = layers
            kind = self.layers.activations[layer - 1]
            if kind == "identity":
                return lambda x: x
            if kind == "softmax":
                raise ParseError(f"'{self.written}' at layer {layer} is a softmax, which is not element-wise; write softmax(u)", token=self.written)
            return fn.resolve(kind)
        kinds = ", ".join(sorted(set(self.layers.activations)))
        raise UnknownSymbolError(
            f"'{self.written}' stands for the activation, but this network's layers use {kinds}; name it (e.g. \\tanh, \\sigma, "
            f"or names={{'{self.written}': 'sigmoid'}}), or write it of a whole layer, f'(\\mathbf{{u}}^{{(l)}})",
            token=self.written,
        )
