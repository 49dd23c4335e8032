r"""What a notebook shows for the objects of earlier stages (their ``_repr_latex_``).

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1")._repr_latex_()
'$$\\frac{\\partial f}{\\partial x_{1}} = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)$$'
"""

from __future__ import annotations

from .. import hooks
from ..derive.derivative import Derivative
from ..errors import SymgradError
from .latex import derivative_latex, partial_latex

__all__ = ["display_latex"]


@hooks.provides
def display_latex(obj) -> str:
    """The display-math LaTeX of ``obj`` for a notebook."""
    if isinstance(obj, Derivative):
        return f"$${partial_latex(obj.network.loss, obj.param)} = {derivative_latex(obj, 'factored')}$$"
    raise SymgradError(f"no LaTeX display for {type(obj).__name__}", token=type(obj).__name__)
