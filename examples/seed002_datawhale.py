r"""Seed 002 (Datawhale, "the mathematics behind artificial neural networks"): the headline example.

Inputs i1..i3, a sigmoid hidden unit h1 = g(u2) and a linear one h2, two sigmoid
outputs f̂1 = g(u1), f̂2 = g(u3), Loss = ½[(f̂1 − f1)² + (f̂2 − f2)²]
(``examples/datawhale.toml``). The article derives ∂Loss/∂w7, ∂Loss/∂w1 and ∂Loss/∂w6
by the chain rule, three lines each. This script

1. derives the three as chain-rule derivations (``net.grad(p).latex("chain")``);
2. verifies the article's own derivations, as printed, line by line (``sg.verify``),
   from ``examples/datawhale_derivations.md``: ∂Loss/∂w7 holds; for w1 and w6 the
   first two lines hold and the last line is misbracketed, and the verdict says where;
   then the whole file at once (``sg.verify_document``), naming the wrong lines;
3. evaluates the compiled gradient at the spec's point (``net.compile()``);
4. checks it against numeric backprop and finite differences (``sg.check``).

    python examples/seed002_datawhale.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import symgrad as sg
from symgrad.model.spec import load_spec

SPEC = Path(__file__).resolve().with_name("datawhale.toml")

# The article's derivations, verbatim (§2.2.2): one Markdown file, the input symgrad judges.
DERIVATIONS = SPEC.with_name("datawhale_derivations.md")


def seed_derivations() -> dict[str, str]:
    """The article's three derivations by parameter, read from the Markdown file."""
    text = DERIVATIONS.read_text(encoding="utf-8")
    blocks = re.findall(r"\$\$\\begin\{aligned\}.*?\\end\{aligned\}\$\$", text, re.S)
    return dict(zip(("w7", "w1", "w6"), blocks))


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    net = spec.network

    derivations = seed_derivations()
    for p in derivations:
        print(f"symgrad's derivation of ∂Loss/∂{p}:")
        print(net.grad(p).latex("chain"))
        print()

    for p, derivation in derivations.items():
        print(f"the article's derivation of ∂Loss/∂{p}, verified:")
        print(sg.verify(net, p, derivation))
        print()

    print(f"the whole file, {DERIVATIONS.name}, verified (symgrad verify --document):")
    print(sg.verify_document(net, DERIVATIONS.read_text(encoding="utf-8")))
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
