"""Second derivatives: a reverse sweep over the gradient program.

The reverse sweep of a network writes ∂Loss/∂p as a straight-line program: the
forward steps, the adjoint steps (``bar_u1 = …``) and ``g_p = …``. That program is a
network too, whose "loss" is ``g_p``; sweeping it backwards gives ∂g_p/∂q for every
parameter q at once, the p-th row of the Hessian, in time linear in the program's
size (reverse over reverse), never by differentiating a flat expression. The
adjoint symbols in the result are then written out as the first sweep's inlined
adjoints, so an entry reads in the network's named intermediates, as the first
derivatives do.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.hessian()
Matrix([
[                2*x2**2, 2*x1*x2 + 2*(x1*x2 - 3)],
[2*x1*x2 + 2*(x1*x2 - 3),                 2*x1**2]])
>>> net.grad("x1").grad("x2").factored
2*x1*x2 + 2*(x1*x2 - 3)
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import TYPE_CHECKING

import sympy
from sympy.core.parameters import distribute

from .. import hooks
from ..errors import UnusedParameterWarning
from ..model.network import Network
from .sweep import reverse_sweep

if TYPE_CHECKING:  # pragma: no cover
    from .sweep import Sweep

__all__ = ["SecondDerivative", "gradient_network", "hessian", "hvp_network", "second_derivative"]


def gradient_network(net: Network, param: sympy.Symbol, sweep: "Sweep") -> Network:
    """The program that computes ∂Loss/∂``param`` (forward steps, adjoint steps, the
    gradient), as a network whose loss is that derivative.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("a*b**2", params="a b")
    >>> [str(st) for st in gradient_network(net, net.symbol("a"), net.gradients().sweep).steps]
    ['_d_a = b**2']
    """
    target = sympy.Dummy(f"d_{param.name}", real=True)
    steps = [(st.target, st.expr) for st in net.steps]
    steps += [(bar, expr) for bar, expr in sweep.adjoint_steps]
    steps.append((target, sweep.in_adjoints[param]))
    with warnings.catch_warnings():
        # The gradient need not depend on every parameter (it is constant in a linear one).
        warnings.simplefilter("ignore", UnusedParameterWarning)
        return Network(steps, params=net.params, inputs=net.inputs, targets=net.targets, loss=target, name=f"d{net.name}/d{param.name}")


class SecondDerivative:
    """∂²Loss/∂p∂q: ``factored`` in the network's named intermediates, ``expanded`` in
    parameters, inputs and targets only.

    >>> import symgrad as sg
    >>> net = sg.Network.from_equations("h = w*x; L = (h - y)**2/2", params="w", inputs="x", targets="y")
    >>> dd = net.grad("w").grad("w")
    >>> dd.factored, dd.latex()
    (x**2, '\\\\frac{\\\\partial^{2} L}{\\\\partial w^{2}} = x^{2}')
    """

    def __init__(self, network: Network, first: sympy.Symbol, second: sympy.Symbol, factored: sympy.Expr):
        self.network = network
        self.params = (first, second)
        self.factored = factored

    @cached_property
    def expanded(self) -> sympy.Expr:
        return self.factored.xreplace(self.network.substituted)

    def latex(self) -> str:
        """``\\frac{\\partial^2 L}{\\partial p \\partial q} = …`` (the factored form)."""
        return hooks.second_derivative_latex(self)

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def __repr__(self) -> str:
        p, q = self.params
        return f"<SecondDerivative d2{self.network.loss.name}/d{p.name}d{q.name} = {self.factored}>"


def _row(net: Network, p: sympy.Symbol, sweep: "Sweep") -> dict[sympy.Symbol, sympy.Expr]:
    """∂²Loss/∂p∂q for every q, in the network's named intermediates."""
    second = reverse_sweep(gradient_network(net, p, sweep))
    # An adjoint symbol of the first sweep stands for that sweep's inlined adjoint.
    adjoints = {bar: sweep.inline[t] for t, bar in sweep.bar.items()}
    with distribute(False):
        return {q: second.factored[q].xreplace(adjoints) for q in net.params}


def second_derivative(net: Network, first: sympy.Symbol, second: sympy.Symbol, sweep: "Sweep") -> SecondDerivative:
    """∂²Loss/∂first∂second (what ``net.grad(first).grad(second)`` returns)."""
    return SecondDerivative(net, first, second, _row(net, first, sweep)[second])


@hooks.provides
def hessian(network: Network, sweep: "Sweep") -> sympy.Matrix:
    """The exact Hessian, row p = ∂(∂Loss/∂p)/∂q, in ``net.params`` order (what ``net.hessian()`` returns)."""
    rows = [_row(network, p, sweep) for p in network.params]
    return sympy.Matrix([[row[q] for q in network.params] for row in rows])


#: The prefix of the direction's entries, the extra inputs of :func:`hvp_network`.
DIRECTION_PREFIX = "v_"


def hvp_network(net: Network, sweep: "Sweep") -> Network:
    """A network whose gradient is the Hessian-vector product of ``net``: its loss is
    s = Σ_p v_p·∂Loss/∂p, with the direction v as extra inputs (``v_w1``, …, after the
    network's own), so ∂s/∂θ = H v. Compiled like any network, its reverse sweep is
    reverse over the gradient program, and its cost a small multiple of one gradient's;
    no Hessian is ever formed.

    >>> import symgrad as sg
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> h = hvp_network(net, net.gradients().sweep)
    >>> [s.name for s in h.inputs], h.grad("x1").expanded
    (['v_x1', 'v_x2'], 2*v_x1*x2**2 + 2*v_x2*x1*x2 + 2*v_x2*(x1*x2 - 3))
    """
    taken = {s.name for s in net.params + net.inputs + net.targets} | {st.target.name for st in net.steps}
    directions = []
    for p in net.params:
        name = DIRECTION_PREFIX + p.name
        while name in taken:
            name = "_" + name
        directions.append(sympy.Symbol(name, real=True))
    target = sympy.Dummy("s", real=True)
    steps = [(st.target, st.expr) for st in net.steps] + [(bar, expr) for bar, expr in sweep.adjoint_steps]
    steps.append((target, sympy.Add(*[v * sweep.in_adjoints[p] for v, p in zip(directions, net.params)])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedParameterWarning)
        return Network(
            steps, params=net.params, inputs=net.inputs + tuple(directions), targets=net.targets, loss=target, name=f"{net.name} hvp"
        )
