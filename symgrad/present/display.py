r"""What a notebook shows for the objects of earlier stages (their ``_repr_latex_``).

A network shows its equations, a derivative its factored form, ``Gradients`` a table
of every parameter's derivative, a matrix form its δ recursion; a long list is cut
after :data:`MAX_ROWS` rows with a line saying how many are left out.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1")._repr_latex_()
'$$\\frac{\\partial f}{\\partial x_{1}} = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)$$'
>>> print(net._repr_latex_())
$$\begin{aligned}
f &= \left(x_{1} x_{2} - 3\right)^{2} + 1
\end{aligned}$$
"""

from __future__ import annotations

from .. import hooks
from ..derive.derivative import Derivative, Gradients
from ..derive.matrix_form import MatrixForm, matrix_form
from ..errors import SymgradError
from ..model.network import Network
from .latex import derivative_latex, expr_latex, partial_latex, symbol_latex

__all__ = ["MAX_ROWS", "display_latex"]

#: Rows shown of a network's equations or of a table of gradients; the rest are counted.
MAX_ROWS = 40


def _more(count: int, what: str) -> str:
    return rf"&\vdots \quad \text{{({count} more {what})}}"


def _aligned(lines: list[str]) -> str:
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


def _network(net: Network) -> str:
    if net.layers is not None and len(net.params) > MAX_ROWS:
        # A wide layered network: its layer equations in matrix form, not thousands of steps.
        body = matrix_form(net).latex().split("\n")[1:-1]
        lines = [line.removesuffix(r" \\") for line in body]
        return _aligned([line for line in lines if not line.startswith((r"\delta", r"\nabla", "f'"))])
    steps = net.steps
    lines = [f"{symbol_latex(st.target)} &= {expr_latex(st.expr)}" for st in steps[:MAX_ROWS]]
    if len(steps) > MAX_ROWS:
        lines.append(_more(len(steps) - MAX_ROWS, "steps"))
    return _aligned(lines)


def _gradients(grads: Gradients) -> str:
    net = grads.network
    rows = [f"{partial_latex(net.loss, d.param)} &= {derivative_latex(d, 'factored')}" for d in list(grads)[:MAX_ROWS]]
    if len(grads) > MAX_ROWS:
        rows.append(_more(len(grads) - MAX_ROWS, "parameters"))
    return _aligned(rows)


@hooks.provides
def display_latex(obj) -> str:
    """The display-math LaTeX of a network, derivative, ``Gradients`` or matrix form, for a notebook."""
    if isinstance(obj, Derivative):
        return f"$${partial_latex(obj.network.loss, obj.param)} = {derivative_latex(obj, 'factored')}$$"
    if isinstance(obj, Gradients):
        return _gradients(obj)
    if isinstance(obj, Network):
        return _network(obj)
    if isinstance(obj, MatrixForm):
        return f"$${obj.latex()}$$"
    raise SymgradError(f"no LaTeX display for {type(obj).__name__}", token=type(obj).__name__)


@hooks.provides
def second_derivative_latex(second) -> str:
    """``\\frac{\\partial^{2} L}{\\partial p \\partial q} = …``, the factored form of a second derivative."""
    loss = symbol_latex(second.network.loss)
    p, q = second.params
    below = rf"\partial {symbol_latex(p)}^{{2}}" if p == q else rf"\partial {symbol_latex(p)} \partial {symbol_latex(q)}"
    return rf"\frac{{\partial^{{2}} {loss}}}{{{below}}} = {expr_latex(second.factored)}"
