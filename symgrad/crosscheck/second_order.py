"""The second-order check: the symbolic Hessian-vector product against finite differences
of the independent numeric gradient.

At a few random points and directions v, two computations of H·v must agree: the
*symbolic* one (the compiled gradient of the HVP network, reverse over the gradient
program, :func:`symgrad.derive.second.hvp_network`) and central differences of the
*numeric backprop*'s gradient along v, which shares no derivative code with the
symbolic path. Tolerance: central differences of a gradient err by about
h²|∇³L|/6 + ε|∇L|/h; with h = ε^(1/3)·max(1, |θ|) that is ~4e-11 of the gradient's
scale, so ``rtol=1e-5``, ``atol=1e-6·max(1, ‖∇L‖)`` leave room for curved losses while
a wrong second derivative (a dropped term, a factor 2) fails by orders of magnitude.

>>> import symgrad as sg
>>> rep = check_second_order(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), seed=0)
>>> rep.ok, len(rep.rows)
(True, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..derive.second import hvp_network
from ..errors import SymgradError
from .backprop import as_arrays, forward
from .finite_diff import step_sizes

__all__ = ["SecondOrderReport", "SecondOrderRow", "check_second_order"]

RTOL, ATOL = 1e-5, 1e-6


@dataclass(frozen=True)
class SecondOrderRow:
    """One entry of H·v at one point and direction: symbolic, finite differences, error."""

    point: int
    param: str
    symbolic: float
    finite_diff: float
    abs_err: float
    ok: bool


@dataclass
class SecondOrderReport:
    """The result of :func:`check_second_order`: ``ok`` and one row per parameter, point and direction."""

    network: str
    rows: list[SecondOrderRow]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def __str__(self) -> str:
        bad = [r for r in self.rows if not r.ok]
        head = f"second-order check of {self.network!r} (H·v, symbolic vs finite differences of the numeric gradient): "
        head += f"OK: all {len(self.rows)} entries agree" if self.ok else f"FAIL: {len(bad)} of {len(self.rows)} entries disagree"
        worst = sorted(self.rows, key=lambda r: -r.abs_err)[:10]
        lines = [head] + [
            f"{'ok' if r.ok else 'FAIL':<4} point {r.point} {r.param:<10} symbolic {r.symbolic:.10g}  finite diff {r.finite_diff:.10g}  abs err {r.abs_err:.2e}"
            for r in worst
        ]
        return "\n".join(lines)


def check_second_order(net, points: int = 3, seed=None, *, rtol: float = RTOL, atol: float = ATOL) -> SecondOrderReport:
    """Compare the compiled symbolic H·v with finite differences of the numeric gradient,
    at ``points`` random points (parameters and inputs in [−1, 1], targets in [0, 1]),
    one random unit direction each."""
    if not (isinstance(points, int) and points >= 1):
        raise SymgradError(f"points must be a positive integer, not {points!r}", token=str(points))
    hvp = hvp_network(net, net.gradients().sweep).compile(jit=False)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(points):
        theta, xs, ys = as_arrays(net, rng.uniform(-1, 1, len(net.params)), rng.uniform(-1, 1, len(net.inputs)),
                                  rng.uniform(0, 1, len(net.targets)))
        v = rng.standard_normal(len(theta))
        v /= np.linalg.norm(v)
        _, symbolic = hvp(theta, np.concatenate([xs, v]), ys if net.targets else None)
        h = step_sizes([np.max(np.abs(theta))])[0]
        plus = forward(net, theta + h * v, xs, ys).backward()
        minus = forward(net, theta - h * v, xs, ys).backward()
        gradient = forward(net, theta, xs, ys).backward()
        differences = (plus - minus) / (2 * h)
        tolerance = atol * max(1.0, float(np.linalg.norm(gradient))) + rtol * np.abs(differences)
        for p, s, d, tol in zip(net.params, symbolic, differences, tolerance):
            err = abs(float(s) - float(d))
            rows.append(SecondOrderRow(k, p.name, float(s), float(d), err, err <= tol))
    return SecondOrderReport(net.name, rows)
