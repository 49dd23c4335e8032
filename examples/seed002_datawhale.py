r"""Seed 002 (Datawhale, "the mathematics behind artificial neural networks"): the headline example.

Inputs i1..i3, a sigmoid hidden unit h1 = g(u2) and a linear one h2, two sigmoid
outputs f̂1 = g(u1), f̂2 = g(u3), Loss = ½[(f̂1 − f1)² + (f̂2 − f2)²]
(``examples/datawhale.toml``). The article derives ∂Loss/∂w7, ∂Loss/∂w1 and ∂Loss/∂w6
by the chain rule, three lines each. This script

1. derives the three as chain-rule derivations (``net.grad(p).latex("chain")``);
2. verifies the article's own derivations, as printed, line by line (``sg.verify``):
   ∂Loss/∂w7 holds; for w1 and w6 the first two lines hold and the last line is
   misbracketed, and the verdict says where;
3. evaluates the compiled gradient at the spec's point (``net.compile()``);
4. checks it against numeric backprop and finite differences (``sg.check``).

    python examples/seed002_datawhale.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import symgrad as sg
from symgrad.model.spec import load_spec

SPEC = Path(__file__).resolve().with_name("datawhale.toml")

# The article's derivations, verbatim (§2.2.2), the input symgrad judges.
SEED_W7 = r"""$$\begin{aligned}
 \left( \frac{\partial Loss}{\partial w_7} \right)_w &= \left( \frac{\partial Loss}{\partial \hat{f}_1} \right)_w \times \left( \frac{\partial \hat{f}_1}{\partial w_7} \right)_w \\
 &= \left( \frac{\partial Loss}{\partial \hat{f}_1} \right)_w \times \left( \frac{dg}{du_1} \right)_w \times \left( \frac{\partial u_1}{\partial w_7} \right)_w \\
 &= (\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]_w \times (h_1)_w
 \end{aligned}$$"""

SEED_W1 = r"""$$\begin{aligned}
 \left(\frac{\partial Loss}{\partial w_1}\right)_w &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{\partial \hat{f}_1}{\partial h_1}\right)_w \times \left(\frac{\partial h_1}{\partial w_1}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{\partial \hat{f}_2}{\partial h_1}\right)_w \times \left(\frac{\partial h_1}{\partial w_1}\right)_w \\
 &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{dg}{du_1}\right)_w \times \left(\frac{\partial u_1}{\partial h_1}\right)_w \times \left(\frac{dg}{du_2}\right)_w \times \left(\frac{\partial u_2}{\partial w_1}\right)_w \\
 &\quad + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{dg}{du_3}\right)_w \times \left(\frac{\partial u_3}{\partial h_1}\right)_w \times \left(\frac{dg}{du_2}\right)_w \times \left(\frac{\partial u_2}{\partial w_1}\right)_w \\
 &= \{(\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]\}_w \times (w_7)_w + \{(\hat{f}_2 - f_2)_w \times [g(u_3) \times (1 - g(u_3))]\}_w \times (w_9)_w \\
 &\quad \times [g(u_2) \times (1 - g(u_2))]\}_w \times i_1
 \end{aligned}$$"""

SEED_W6 = r"""$$\begin{aligned}
 \left(\frac{\partial Loss}{\partial w_6}\right)_w &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{\partial \hat{f}_1}{\partial h_2}\right)_w \times \left(\frac{\partial h_2}{\partial w_6}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{\partial \hat{f}_2}{\partial h_2}\right)_w \times \left(\frac{\partial h_2}{\partial w_6}\right)_w \\
 &= \left[ \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{dg}{du_1}\right)_w \times \left(\frac{\partial u_1}{\partial h_2}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{dg}{du_3}\right)_w \times \left(\frac{\partial u_3}{\partial h_2}\right)_w \right] \times \left(\frac{\partial h_2}{\partial w_6}\right)_w \\
 &= \{(\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]\}_w \times (w_8)_w + \{(\hat{f}_2 - f_2)_w \times [g(u_3) \times (1 - g(u_3))]\}_w \times (w_{10})_w \times i_3
 \end{aligned}$$"""

SEED_DERIVATIONS = {"w7": SEED_W7, "w1": SEED_W1, "w6": SEED_W6}


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    net = spec.network

    for p in SEED_DERIVATIONS:
        print(f"symgrad's derivation of ∂Loss/∂{p}:")
        print(net.grad(p).latex("chain"))
        print()

    for p, derivation in SEED_DERIVATIONS.items():
        print(f"the article's derivation of ∂Loss/∂{p}, verified:")
        print(sg.verify(net, p, derivation))
        print()

    point = spec.point
    f = net.compile()  # numba; the first compile of this network takes a few seconds
    loss, grad = f(point.params, point.x, point.y)
    print(f"compiled gradient at the spec's point (i = {point.x.tolist()}, f = {point.y.tolist()}): Loss = {loss:.10g}")
    for p, value, g in zip(net.params, point.params, grad):
        print(f"  {p.name:>3} = {value:5.2f}   ∂Loss/∂{p.name:<3} = {g: .10g}")

    print()
    report = sg.check_spec(spec)  # at the spec's [point]
    print(report)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
