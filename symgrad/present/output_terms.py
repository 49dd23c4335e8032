r"""A layered network's output error term δ⁽ᴸ⁾ in the form a reader recognises.

The reverse sweep writes δ⁽ᴸ⁾ᵢ = ∂L/∂u⁽ᴸ⁾ᵢ as the chain rule gives it, the loss's
gradient times the activation's derivative: ((1 − yᵢ)/(1 − xᵢ) − yᵢ/xᵢ)·σ(uᵢ)(1 − σ(uᵢ))
for a sigmoid output under the binary cross-entropy. The matrix form
(:mod:`symgrad.derive.matrix_form`) simplifies it wherever the derivative cancels:
xᵢ − yᵢ there, softmax(u)ᵢ·Σₖyₖ − yᵢ for a softmax output under the cross-entropy. This
module reads that component back, for one unit k in the network's own symbols (the
factored form) or for a generic index (the named-adjoint form).

>>> import symgrad as sg
>>> net = sg.mlp([2, 2], activation="sigmoid", loss="cross_entropy")
>>> term = output_term(net)
>>> term.simplified, term.unit(net, 1)
(True, x1_1 - y1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from sympy import HadamardProduct

from ..derive.hadamard import ComponentAlgebra, total
from ..derive.matrix_form import matrix_form
from ..model import names
from ..model.names import real_symbol

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["LSE", "U", "X", "Y", "OutputTerm", "output_term", "softmax_of"]

#: Placeholders of the generic output component: u⁽ᴸ⁾ᵢ, x⁽ᴸ⁾ᵢ, yᵢ and lse⁽ᴸ⁾.
U, X, Y, LSE = (sympy.Dummy(name, real=True) for name in ("u_i", "x_i", "y_i", "lse"))


def softmax_of() -> sympy.Expr:
    """The softmax component e^{uᵢ − lse} in the placeholders."""
    return sympy.exp(U - LSE)


@dataclass(frozen=True)
class OutputTerm:
    """δ⁽ᴸ⁾ᵢ in the placeholders :data:`U`, :data:`X`, :data:`Y`, :data:`LSE`; a sum over the
    output units is ``total(…)`` of the summand.

    ``gradient`` times ``derivative`` (∇ₓL times f′(u)) when the derivative does not
    cancel (``derivative`` None when it does, or for an identity or softmax output);
    ``simplified`` says the matrix form shortened the chain rule's product.
    """

    layer: int
    units: int
    gradient: sympy.Expr
    derivative: sympy.Expr | None
    simplified: bool
    fused_softmax: bool  # a softmax cross-entropy that reads u⁽ᴸ⁾ and lse⁽ᴸ⁾ (no x⁽ᴸ⁾ steps)
    identity: bool  # an identity output, whose x⁽ᴸ⁾ is its u⁽ᴸ⁾

    @property
    def expr(self) -> sympy.Expr:
        return self.gradient if self.derivative is None else self.gradient * self.derivative

    def unit(self, network: "Network", k: int) -> sympy.Expr:
        """The component for output unit ``k`` in the network's own symbols (sums written out)."""
        return self.instance(self.expr, k)

    def instance(self, expr: sympy.Expr, k: int) -> sympy.Expr:
        L = self.layer

        def at(j: int) -> dict:
            u = real_symbol(names.pre_activation_name(L, j))
            x = u if self.identity else real_symbol(names.activation_name(L, j))
            out = {U: u, X: x, Y: real_symbol(names.target_name(j)), LSE: real_symbol(names.lse_name(L))}
            if not self.fused_softmax and not self.identity:
                out[softmax_of()] = x  # the softmax output is the step x⁽ᴸ⁾ⱼ
            return out

        sums = {t: sympy.Add(*[t.args[0].xreplace(at(j)) for j in range(1, self.units + 1)]) for t in expr.atoms(total)}
        return expr.xreplace(sums).xreplace(at(k))


def output_term(network: "Network") -> OutputTerm | None:
    """The output error term of a layered network (None for other networks)."""
    spec = getattr(network, "layers", None)
    if spec is None:
        return None
    F = matrix_form(network).formulas("column")
    L = F.n_layers
    n = spec.sizes[-1]
    named = {F.u[L]: U, F.x[L]: X, F.y: Y}
    if F.lse is not None:
        named[F.lse] = LSE
    algebra = ComponentAlgebra(n, "column", named)
    delta = F.delta_formulas[L]
    derivative = F.derivatives.get(L)
    identity = F.activations[L] == "identity"
    fused = spec.loss == "softmax_cross_entropy"
    if isinstance(delta, HadamardProduct) and derivative is not None and derivative in delta.args:
        rest = [a for a in delta.args if a != derivative]
        gradient = algebra.to_scalar(rest[0] if len(rest) == 1 else HadamardProduct(*rest))
        return OutputTerm(L, n, gradient, algebra.to_scalar(derivative), False, fused, identity)
    expr = algebra.to_scalar(delta)
    if identity:
        expr = expr.xreplace({X: U})
    simplified = derivative is not None or F.activations[L] == "softmax"
    return OutputTerm(L, n, expr, None, simplified, fused, identity)
