"""Random points of a network, and expressions evaluated there in 30-digit arithmetic.

A verdict is decided by numbers first: claim and truth are evaluated at a few random
points (every parameter, input and target drawn at random, every step computed from
them) in mpmath. Points where the truth is undefined, or where a ReLU, |x| or max is
within a hair of its kink, are skipped. Nothing is compiled: one tree walk with a memo
shared by every expression evaluated at the same point.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> sample = Sample.random(net, [net.grad("x1").factored], n=3, seed=0)
>>> len(sample.points), all(v is not None for v in sample.vec(net.grad("x1").factored))
(3, True)
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import mpmath
import sympy

from ..errors import SymgradError
from ..model import functions as fn

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["DPS", "KINK", "REL_TOL", "Sample", "close", "evaluate", "kink_arguments"]

DPS = 30  # working precision of the numeric comparison, in decimal digits
REL_TOL = 1e-20  # two 30-digit values closer than this are equal
KINK = 1e-3  # keep this far from the kink of relu, |x|, max, sign


def _real(v):
    """A finite real mpmath number, or None (complex, infinite, nan, or not a number)."""
    try:
        if isinstance(v, mpmath.mpc):
            if abs(v.imag) > 1e-25 * max(1, abs(v.real)):
                return None
            v = v.real
        v = mpmath.mpf(v)
    except (TypeError, ValueError):
        return None
    return v if mpmath.isfinite(v) else None


# How the functions outside the functions table are computed in mpmath (each row of
# the table has its own, FunctionRow.mpmath).
_MPMATH = {
    sympy.Max: max, sympy.Min: min,
    fn.logsumexp: lambda *xs: mpmath.log(mpmath.fsum(mpmath.exp(x) for x in xs)),
}


def evaluate(e: sympy.Expr, values: dict, memo: dict):
    """``e`` in mpmath at the point ``values`` (None where a symbol has no value).

    A plain tree walk with a memo shared by every expression evaluated at the same
    point: the forward pass, the truth, the claim and all the diagnosis variants reuse
    each other's subexpressions, and nothing is compiled (``lambdify`` costs ~10 ms an
    expression, which a diagnosis comparing hundreds of variants cannot afford).
    """
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        return values.get(e)
    if e.is_number and not e.has(sympy.zoo, sympy.nan):
        v = mpmath.mpf(e.evalf(mpmath.mp.dps + 5)) if e.is_real else mpmath.mpc(complex(e))  # evalf: sqrt(2), pi too
        memo[e] = v
        return v
    args = [evaluate(a, values, memo) for a in e.args]
    if any(a is None for a in args):
        v = None
    else:
        try:
            v = _apply(e, args)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            v = None
    memo[e] = v
    return v


def _apply(e: sympy.Expr, args: list):
    if e.is_Add:
        return mpmath.fsum(args)
    if e.is_Mul:
        return mpmath.fprod(args)
    if e.is_Pow:
        base, exponent = args
        return base**exponent
    func = type(e)
    if func is sympy.log:
        return mpmath.log(args[0]) if len(args) == 1 else mpmath.log(args[0]) / mpmath.log(args[1])
    if func in _MPMATH:
        return _MPMATH[func](*args)
    row = fn.row_of(func)
    if row is not None:
        return row.mpmath(*args, **fn.parameters_of(func))
    raise TypeError(f"cannot evaluate {func.__name__}")  # becomes "undefined": no silent guess


class Sample:
    """Points where every leaf and every step of a network has a value; evaluates
    expressions at all of them at once."""

    def __init__(self, net: "Network", points: list[dict]):
        self.net = net
        self.points: list[dict] = []
        self.memos: list[dict] = []
        for leaves in points:
            values, memo = self._forward(leaves)
            self.points.append(values)
            self.memos.append(memo)

    def _forward(self, leaves: dict) -> tuple[dict, dict]:
        values, memo = dict(leaves), {}
        for st in self.net.steps:
            values[st.target] = evaluate(st.expr, values, memo)
        return values, memo

    def vec(self, expr) -> list:
        """``expr`` at every point (None where it is undefined)."""
        expr = sympy.sympify(expr)
        return [_real(evaluate(expr, values, memo)) for values, memo in zip(self.points, self.memos)]

    def vec_swapped(self, expr, old: sympy.Symbol, new: sympy.Symbol) -> list:
        """``expr`` at every point, with ``old`` given ``new``'s values."""
        expr = sympy.sympify(expr)
        out = []
        for values in self.points:
            swapped = dict(values)
            swapped[old] = values.get(new)
            out.append(_real(evaluate(expr, swapped, {})))
        return out

    @classmethod
    def random(cls, net: "Network", exprs, n: int, seed: int) -> "Sample":
        """``n`` random points where ``exprs[0]`` (the truth) is defined, non-zero, and no kink is near.

        Points where the truth is 0 (a dead ReLU, say) tell little apart; up to two are
        kept besides, because a claim that is not 0 there is refuted by them. A kink whose
        argument is 0 at every point drawn (``max(a, s)`` with a step ``s = a``) is one no
        point can step off: there a derivative's value is a matter of convention (which
        side's formula a tie takes), so nothing can be decided, and the error names it.
        """
        kinks = kink_arguments([st.expr for st in net.steps] + list(exprs))
        chosen, pinned = cls._draw(net, exprs, kinks, n, seed)
        if not chosen and pinned:
            arg = str(next(k for k in kinks if k in pinned))
            raise SymgradError(
                f"cannot find points where the derivative is defined: {arg} = 0 at every point drawn, a kink "
                "(of a max, min, relu, |x|, sign or step) that no point can step off, where the derivative "
                "depends on which side a tie takes",
                token=arg,
            )
        if not chosen:
            raise SymgradError("cannot find points where the derivative is defined (every random point hit a singularity)")
        sample = cls(net, [])
        sample.points = [values for values, _ in chosen]
        sample.memos = [memo for _, memo in chosen]
        return sample

    @classmethod
    def _draw(cls, net: "Network", exprs, kinks: list, n: int, seed: int) -> tuple[list, set]:
        """The points of :meth:`random` (values and memo each), and the kink arguments that
        were exactly 0 at every point where the network and the truth are defined."""
        rng = random.Random(seed)
        leaves = list(net.params) + list(net.inputs) + list(net.targets)
        informative: list[tuple[dict, dict]] = []
        zeros: list[tuple[dict, dict]] = []
        pinned = set(kinks)
        for _ in range(40 * n):
            # Magnitudes away from 0 and 1, so that a dropped factor or an added one shows.
            point = {s: mpmath.mpf(rng.choice((-1, 1)) * rng.uniform(0.2, 1.8)) for s in leaves}
            values, memo = cls(net, [])._forward(point)
            truth = _real(evaluate(exprs[0], values, memo))
            if truth is None or any(_real(values[st.target]) is None for st in net.steps):
                continue
            at_kinks = [_real(evaluate(arg, values, memo)) for arg in kinks]
            pinned -= {arg for arg, k in zip(kinks, at_kinks) if k is None or k != 0}
            if any(k is None or abs(k) < KINK for k in at_kinks):
                continue
            (informative if abs(truth) > 1e-25 else zeros).append((values, memo))
            if len(informative) == n:
                break
        return informative + zeros[: min(2, max(0, n - len(informative)) + 2)], pinned

    def leaf_point(self, i: int) -> dict[str, float]:
        net = self.net
        return {s.name: float(self.points[i][s]) for s in list(net.params) + list(net.inputs) + list(net.targets)}


def kink_arguments(exprs) -> list[sympy.Expr]:
    """Where relu, |x|, max/min, sign and step change their formula: near there, a claim
    and the truth may legitimately differ by the choice of one-sided derivative."""
    args: list[sympy.Expr] = []
    for e in exprs:
        for node in sympy.preorder_traversal(e):
            kind = fn.kind_of(type(node)) if isinstance(node, sympy.Function) else None
            if isinstance(node, (sympy.Heaviside, sympy.Abs, sympy.sign)) or kind in ("relu", "abs"):
                args.append(node.args[0])
            elif isinstance(node, (sympy.Max, sympy.Min)):
                first, *rest = node.args
                args += [first - r for r in rest]
    return list(dict.fromkeys(args))


def close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= REL_TOL * max(1, abs(a), abs(b))
