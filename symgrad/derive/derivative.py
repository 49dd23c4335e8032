"""The public results of a derivation: ``Derivative`` (one parameter) and ``Gradients`` (all).

Both read the network's one reverse sweep (:mod:`symgrad.derive.sweep`); nothing is
derived twice. Printing them is the present stage's job, reached through
:mod:`symgrad.hooks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import sympy

from .. import hooks
from ..deep import deep
from ..errors import SymgradError
from ..model.substitution import substitute
from .second import SecondDerivative, second_derivative
from .sweep import ChainPath, Sweep

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Derivative", "Gradients", "derivative", "gradients"]


class Derivative:
    """∂Loss/∂``param`` of one network.

    ``factored`` is written in the network's named intermediates, the way a hand
    derivation writes it; ``expanded`` substitutes them (parameters, inputs and targets
    only; built on first use); ``paths`` lists the chain-rule routes.

    >>> from symgrad import Network
    >>> net = Network.from_equations("h = w1*x; L = (h - y)**2/2", params="w1", inputs="x", targets="y")
    >>> d = net.grad("w1")
    >>> d.factored, d.expanded
    (x*(h - y), x*(w1*x - y))
    >>> d.latex()  # in chain order: the error term first, then the local factor
    '\\\\left(h - y\\\\right) \\\\cdot x'
    """

    def __init__(self, network: "Network", param: sympy.Symbol, sweep: Sweep):
        self.network = network
        self.param = param
        self._sweep = sweep

    @property
    def sweep(self) -> Sweep:
        """The network's reverse sweep this derivative comes from (edges, consumers, adjoints)."""
        return self._sweep

    @property
    def factored(self) -> sympy.Expr:
        return self._sweep.factored[self.param]

    @cached_property
    @deep
    def expanded(self) -> sympy.Expr:
        return substitute(self.factored, self.network.substituted)

    @property
    def in_adjoints(self) -> sympy.Expr:
        """The derivative in adjoint symbols (``bar_u1``…), as the generated code computes it."""
        return self._sweep.in_adjoints[self.param]

    @cached_property
    def paths(self) -> tuple[ChainPath, ...]:
        return self._sweep.paths(self.param)

    def grad(self, name: str | sympy.Symbol) -> SecondDerivative:
        """∂²Loss/∂param∂``name``, exact (a :class:`~symgrad.derive.second.SecondDerivative`)."""
        return second_derivative(self.network, self.param, self.network.parameter(name), self._sweep)

    @deep
    def latex(self, form: str = "factored") -> str:
        """LaTeX of the derivative: ``"factored"``, ``"expanded"``, ``"chain"`` (the multi-line
        chain-rule derivation a hand derivation writes) or ``"delta"`` (a product of named
        adjoints δ, then their definitions, one line each)."""
        return hooks.derivative_latex(self, form)

    @deep
    def text(self, form: str = "factored") -> str:
        """The derivative as Unicode text, ``∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1``
        (``"factored"``, the structure of :meth:`latex`, or ``"expanded"``, one line each; or
        ``"delta"``, one line per named adjoint); also ``str(d)``."""
        return hooks.derivative_text(self, form)

    @deep
    def to_dict(self, form: str = "factored") -> dict:
        """The derivative as plain data (what ``symgrad derive --json`` prints for it; the
        schema is in ``docs/json.md``): ``param``, ``loss``, ``form``, ``text`` (one line of
        Unicode), ``latex`` (in ``form``: ``"factored"``, ``"expanded"``, ``"chain"`` or
        ``"delta"``; ``"text"`` means factored, ``"text-delta"`` delta), ``expression`` (sympy's
        text of the factored or expanded form, which ``sympy.sympify`` reads back) and
        ``routes`` (chain-rule routes).

        >>> from symgrad import Network
        >>> Network.from_expr("(w - 1)**2", params="w").grad("w").to_dict()
        {'param': 'w', 'loss': 'f', 'form': 'factored', 'text': '∂f/∂w = 2 (w − 1)', 'latex': '2 \\\\left(w - 1\\\\right)', 'expression': '2*(w - 1)', 'routes': 1}
        """
        forms = ("factored", "expanded", "chain", "delta", "text", "text-delta")
        if form not in forms:
            raise SymgradError(f"unknown form {form!r} (use {', '.join(map(repr, forms))})", token=str(form))
        expanded = form == "expanded"
        return {
            "param": self.param.name,
            "loss": self.network.loss.name,
            "form": form,
            "text": self.text("expanded" if expanded else "factored"),
            "latex": self.latex({"text": "factored", "text-delta": "delta"}.get(form, form)),
            "expression": str(self.expanded if expanded else self.factored),
            "routes": self._sweep.path_count(self.param),
        }

    @deep
    def _repr_latex_(self) -> str:
        return hooks.display_latex(self)

    def _latex(self, printer=None) -> str:
        # sympy.latex(d) asks the object itself first (sympy's own Derivative printer
        # would otherwise be chosen by the class name and fail).
        return self.latex()

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Derivative d{self.network.loss.name}/d{self.param.name} = {self.factored}>"


class Gradients(Sequence):
    """All parameters' derivatives in ``net.params`` order; index by position or name.

    >>> from symgrad import Network
    >>> g = Network.from_expr("a*b + a", params="a b").gradients()
    >>> [d.factored for d in g], g["b"].factored
    ([b + 1, a], a)
    """

    def __init__(self, network: "Network", sweep: Sweep):
        self.network = network
        self.sweep = sweep
        self._items = tuple(Derivative(network, p, sweep) for p in network.params)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self._items[key]
        p = self.network.parameter(key)
        return self._items[self.network.params.index(p)]

    @property
    def factored(self) -> list[sympy.Expr]:
        return [d.factored for d in self._items]

    def _repr_latex_(self) -> str:
        return hooks.display_latex(self)

    def _latex(self, printer=None) -> str:
        return hooks.display_latex(self).strip("$")

    def __str__(self) -> str:
        return "\n".join(d.text() for d in self._items)

    def __repr__(self) -> str:
        return f"<Gradients of {self.network.name!r}: {len(self)} parameters>"


@hooks.provides
def derivative(network: "Network", param: sympy.Symbol, sweep: Sweep) -> Derivative:
    """∂Loss/∂``param`` of ``network`` (what ``net.grad`` returns)."""
    return Derivative(network, param, sweep)


@hooks.provides
def gradients(network: "Network", sweep: Sweep) -> Gradients:
    """Every parameter's derivative (what ``net.gradients()`` returns)."""
    return Gradients(network, sweep)
