"""Symbolic reverse mode over a network's steps.

Walk the steps backwards; for each step take its *local* partials (small
expressions, e.g. ∂u1/∂h1 = w7, ∂f̂1/∂u1 = g(u1)(1 − g(u1))), and accumulate each
symbol's adjoint as the sum over its consumers of (consumer's adjoint) × (local
partial). Contributions are collected in lists and added once. The result keeps the
named intermediates a hand derivation writes, shares the adjoints that make
backprop cheap, and takes time linear in the size of the network, where
``sympy.diff`` of the flat loss per parameter grows far faster.

>>> from symgrad import Network
>>> net = Network.from_equations('''
...     u = w*x + b
...     o = sigmoid(u)
...     L = (o - y)**2 / 2
... ''', params="w b", inputs="x", targets="y")
>>> net.grad("w").factored
x*(1 - sigmoid(u))*(o - y)*sigmoid(u)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from sympy.core.parameters import distribute

from .. import hooks
from ..errors import SymgradError
from ..model.canonical import product as canonical_product
from ..model.functions import logsumexp
from ..model.names import adjoint_name
from ..progress import progress

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["ChainPath", "LocalFactor", "Sweep", "local_partials", "reverse_sweep"]

#: Above this many chain-rule paths, listing them is refused (they grow as the product of the widths).
MAX_PATHS = 10_000


# --------------------------------------------------------------------------- local partials


def local_partials(expr: sympy.Expr, wrt: set[sympy.Symbol] | frozenset) -> dict[sympy.Symbol, sympy.Expr]:
    """∂expr/∂s for every symbol ``s`` of ``wrt`` that ``expr`` contains, in one walk.

    Equal to ``{s: expr.diff(s)}`` but linear in the size of ``expr``: ``diff`` walks
    the whole expression once per symbol, which is quadratic for a wide layer's sum.
    Each term's factors are multiplied once, without distributing a number over a
    sum, so the result keeps the textbook form 2·x2·(x1·x2 − 3).

    >>> x, y = sympy.symbols("x y")
    >>> local_partials(3*x*y + sympy.sin(x), {x, y})
    {x: 3*y + cos(x), y: 3*x}
    >>> local_partials((x*y - 3)**2, {x})
    {x: 2*y*(x*y - 3)}
    """
    lists: dict[sympy.Symbol, list] = {}
    _accumulate(expr, wrt, (), lists)
    with distribute(False):
        return {s: sympy.Add(*[sympy.Mul(*factors) for factors in terms]) for s, terms in lists.items()}


def _accumulate(expr, wrt, outer: tuple, lists) -> None:
    """Add ``Π outer · ∂expr/∂s`` (as a factor tuple) to ``lists[s]`` for every ``s`` in ``wrt``."""
    if expr.is_Symbol:
        if expr in wrt:
            lists.setdefault(expr, []).append(outer)
        return
    if not (expr.free_symbols & wrt):
        return
    if expr.is_Add:
        for term in expr.args:
            _accumulate(term, wrt, outer, lists)
    elif expr.is_Mul:
        args = expr.args
        for i, factor in enumerate(args):
            if factor.free_symbols & wrt:
                _accumulate(factor, wrt, outer + args[:i] + args[i + 1 :], lists)
    elif expr.is_Pow:
        base, exp = expr.args
        if base.free_symbols & wrt:
            _accumulate(base, wrt, outer + (exp, base ** (exp - 1)), lists)
        if exp.free_symbols & wrt:
            _accumulate(exp, wrt, outer + (expr, sympy.log(base)), lists)
    elif isinstance(expr, (sympy.Heaviside, sympy.sign)):
        # Step functions: derivative 0 wherever it exists (everywhere but the kink), as
        # every autodiff framework takes it; sympy's DiracDelta would only block codegen.
        return
    elif isinstance(expr, sympy.Function):
        for k, arg in enumerate(expr.args, start=1):
            if arg.free_symbols & wrt:
                _accumulate(arg, wrt, outer + (expr.fdiff(k),), lists)
    else:
        # Anything else (Piecewise, Derivative…): sympy's own rule, one symbol at a time.
        for s in expr.free_symbols & wrt:
            d = expr.diff(s)
            if d != 0:
                lists.setdefault(s, []).append(outer + (d,))


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class LocalFactor:
    """One edge of the computation graph: ∂``of``/∂``wrt`` = ``value``."""

    of: sympy.Symbol
    wrt: sympy.Symbol
    value: sympy.Expr


@dataclass(frozen=True)
class ChainPath:
    """One route from the loss down to a parameter, as its local factors (loss end first)."""

    factors: tuple[LocalFactor, ...]

    @property
    def nodes(self) -> tuple[sympy.Symbol, ...]:
        return (self.factors[0].of,) + tuple(f.wrt for f in self.factors)

    @property
    def product(self) -> sympy.Expr:
        return sympy.Mul(*(f.value for f in self.factors))

    def __str__(self) -> str:
        return " -> ".join(s.name for s in self.nodes)


class Sweep:
    """The result of one reverse sweep over a network.

    * ``edges[t]``: the local partials of step ``t``, ``[(s, ∂t/∂s)]``;
    * ``adjoint_steps``: ``[(bar_t, expr)]`` in evaluation order, where ``expr`` uses
      the other adjoint symbols (code generation prints them as steps after the network's own);
    * ``in_adjoints[p]``: ∂Loss/∂p in adjoint symbols;
    * ``factored[p]``: ∂Loss/∂p with the adjoints inlined, in named intermediates.
    """

    def __init__(self, network: "Network"):
        steps = network.steps
        params = set(network.params)
        # Only symbols that depend on a parameter carry an adjoint.
        active: set[sympy.Symbol] = set(params)
        for st in steps:
            if st.expr.free_symbols & active:
                active.add(st.target)
        self.active = frozenset(active)
        self.loss = network.loss
        self.bar: dict[sympy.Symbol, sympy.Symbol] = {}
        self.edges: dict[sympy.Symbol, list[tuple[sympy.Symbol, sympy.Expr]]] = {}
        self.consumers: dict[sympy.Symbol, list[tuple[sympy.Symbol, sympy.Expr]]] = {}
        inline: dict[sympy.Symbol, sympy.Expr] = {self.loss: sympy.S.One}
        self.adjoint_steps: list[tuple[sympy.Symbol, sympy.Expr]] = []
        for st in progress(reversed(steps), total=len(steps), desc="deriving", min_items=200):
            t = st.target
            if t not in active:
                continue
            if t != self.loss:
                uses = self.consumers.get(t)
                if not uses:
                    continue  # nothing downstream depends on it
                self.bar[t] = sympy.Dummy(adjoint_name(t.name), real=True)
                self.adjoint_steps.append((self.bar[t], sympy.Add(*[canonical_product(self._bar_of(c), v) for c, v in uses])))
                inline[t] = sympy.Add(*[canonical_product(inline[c], v) for c, v in uses])
            partials = local_partials(st.expr, st.expr.free_symbols & active)
            if isinstance(st.expr, logsumexp):
                # ∂lse/∂u_k = exp(u_k − lse): name the step rather than repeat its whole sum.
                partials = {s: v.xreplace({st.expr: t}) for s, v in partials.items()}
            self.edges[t] = [(s, v) for s, v in partials.items() if v != 0]
            for s, v in self.edges[t]:
                self.consumers.setdefault(s, []).append((t, v))
        # List each symbol's consumers in step order, so paths read as the network is written.
        position = {st.target: i for i, st in enumerate(steps)}
        for uses in self.consumers.values():
            uses.sort(key=lambda use: position[use[0]])
        self.in_adjoints: dict[sympy.Symbol, sympy.Expr] = {}
        self.factored: dict[sympy.Symbol, sympy.Expr] = {}
        for p in network.params:
            uses = self.consumers.get(p, [])
            self.in_adjoints[p] = sympy.Add(*[canonical_product(self._bar_of(c), v) for c, v in uses])
            self.factored[p] = sympy.Add(*[canonical_product(inline[c], v) for c, v in uses])
        self.inline = inline

    def _bar_of(self, t: sympy.Symbol) -> sympy.Expr:
        return sympy.S.One if t == self.loss else self.bar[t]

    def path_count(self, p: sympy.Symbol) -> int:
        """How many chain-rule routes lead from ``p`` to the loss."""
        return self.route_count(p)

    def route_count(self, low: sympy.Symbol, high: sympy.Symbol | None = None, memo: dict | None = None) -> int:
        """How many chain-rule routes lead from ``low`` up to ``high`` (the loss by default),
        by a walk without recursion: a chain of 5,000 steps is 5,000 deep. ``memo`` (high →
        counts) may be shared between calls, so that each count is made once."""
        high = self.loss if high is None else high
        counts = {high: 1} if memo is None else memo.setdefault(high, {high: 1})
        stack = [low]
        while stack:
            s = stack[-1]
            if s in counts:
                stack.pop()
                continue
            uses = self.consumers.get(s, [])
            waiting = [c for c, _ in uses if c not in counts]
            if waiting:
                stack.extend(waiting)
                continue
            counts[s] = sum(counts[c] for c, _ in uses)
            stack.pop()
        return counts[low]

    def paths(self, p: sympy.Symbol) -> tuple[ChainPath, ...]:
        """Every chain-rule route from ``p`` to the loss, in the order the network is written."""
        n = self.path_count(p)
        if n > MAX_PATHS:
            raise SymgradError(f"{p.name} reaches the loss by {n} chain-rule paths, more than {MAX_PATHS} can be listed; use the factored form", token=p.name)
        out: list[ChainPath] = []
        stack: list[tuple[sympy.Symbol, tuple[LocalFactor, ...]]] = [(p, ())]
        while stack:  # depth first, consumers in step order, without recursion
            s, below = stack.pop()
            if s == self.loss:
                out.append(ChainPath(below))
                continue
            for c, v in reversed(self.consumers.get(s, [])):
                stack.append((c, (LocalFactor(c, s, v),) + below))
        return tuple(out)


@hooks.provides
def reverse_sweep(network: "Network") -> Sweep:
    """Run the symbolic reverse sweep over ``network`` (done once per network and cached).

    >>> from symgrad import Network
    >>> sweep = reverse_sweep(Network.from_expr("a*b + a", params="a b"))
    >>> sweep.factored
    {a: b + 1, b: a}
    """
    with distribute(False):  # keep 2·(h − y), as written by hand, rather than 2h − 2y
        return Sweep(network)
