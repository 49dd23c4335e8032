"""Seed 000, §3.1: gradient descent on f(x1, x2) = (x1·x2 − 3)² + 1, and a hand value refuted.

The seed derives the gradient (3.2), then takes two steps from x⁽¹⁾ = (1, 1) with
α = 0.01 (3.3–3.8). For the second step it uses a hand-computed ∂f/∂x1 = −1.995136
at (1.04, 1.04). This script derives (3.2) with symgrad, repeats both steps with
``symgrad.train.gradient_descent``, and lets ``sg.verify_value`` judge the hand value.

    python examples/seed000_quadratic.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import symgrad as sg
from symgrad.model.spec import load_spec
from symgrad.present.latex import expr_latex
from symgrad.train import gradient_descent

SPEC = Path(__file__).resolve().with_name("quadratic.toml")

# The seed's gradient (3.2) as printed: the row vector J(f), one entry per parameter.
SEED_J = {"x1": r"2x_2(x_1 x_2 - 3)", "x2": r"2x_1(x_1 x_2 - 3)"}

# The seed's second step (3.7) uses this hand-computed ∂f/∂x1 (and ∂f/∂x2) at x⁽²⁾.
SEED_HAND_VALUE = -1.995136


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    net = spec.network
    print(f"f(x_1, x_2) = {expr_latex(net.loss_expr)}")

    print("\n(3.2) the gradient, derived by symgrad, and the seed's entries verified:")
    for p in net.params:
        verdict = sg.verify(net, p, SEED_J[p.name])
        print(f"  ∂f/∂{p} = {net.grad(p).latex()}    seed: {'HOLDS' if verdict.ok else 'REFUTED'}")

    # Two steps from the spec's point (1, 1) with α = 0.01: one update per epoch, as there is no data.
    f = net.compile()  # one compiled function, for the descent and for printing J at each point
    lr, epochs = spec.train["lr"], spec.train["epochs"]
    hist = gradient_descent(net, spec.point.params, None, lr=lr, epochs=epochs, mode=spec.train["mode"], grad=f)
    print(f"\n(3.3)-(3.8) gradient descent, alpha = {lr:g}, with the true gradient:")
    for k, (x, loss) in enumerate(zip(hist.params, hist.loss), start=1):
        _, g = f(x)
        print(f"  x({k}) = ({x[0]:.10g}, {x[1]:.10g})   f = {loss:.12g}   J = [{g[0]:.10g}, {g[1]:.10g}]")

    # The seed's own second step, x⁽³⁾ = x⁽²⁾ − α·J with its hand value in J.
    seed_x3 = hist.params[1] - lr * SEED_HAND_VALUE
    print(f"\nthe seed's (3.7) with its hand value {SEED_HAND_VALUE}: x(3) = ({seed_x3[0]:.10g}, {seed_x3[1]:.10g}),"
          f" f = {f.value(seed_x3):.12g} (its (3.8))")

    # Is the hand value right? Judge it at the point where the seed computed it.
    at = {p.name: float(v) for p, v in zip(net.params, hist.params[1])}
    verdict = sg.verify_value(net, "x1", SEED_HAND_VALUE, at=at)
    print(f"\nthe seed's hand value ∂f/∂x1 = {SEED_HAND_VALUE} at x(2):")
    print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
