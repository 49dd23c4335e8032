"""Seed 001 (backpropagation blog): a 2-3-2 sigmoid network with the L1 loss, in matrix form.

The blog writes z^[l] = w^[l]·a^[l−1] + b^[l] (w^[1] is 3×2, w^[2] is 2×3), the loss
L(ŷ, y) = |ŷ − y|, and the error terms δ^[L] = ∇_a L ⊙ σ'(z^[L]),
δ^[l] = (w^[l+1]ᵀ δ^[l+1]) ⊙ σ'(z^[l]), ∂L/∂b^[l] = δ^[l], ∂L/∂w^[l] = δ^[l] a^[l−1]ᵀ.
symgrad derives that recursion itself (``net.matrix_form()``); this script prints it,
writes it out entry by entry to show it equals the element-wise derivatives, and
checks the gradient at the spec's point (``examples/blog_2_3_2_l1.toml``).

    python examples/seed001_blog_l1.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import symgrad as sg
from symgrad.model.spec import load_spec
from symgrad.present.latex import expr_latex

SPEC = Path(__file__).resolve().with_name("blog_2_3_2_l1.toml")


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    net = spec.network
    mf = net.matrix_form()
    print("matrix form (column convention, the blog's z = w·a + b; symgrad writes u for z, x for a):")
    print(mf.latex("column"))

    sizes = "-".join(map(str, net.layers.sizes))
    print(f"\nthe recursion written out at {sizes}, in the network's scalar names:")
    inst = mf.instantiate("column")
    for l in sorted(inst.delta, reverse=True):  # the recursion runs from the output layer down
        for i, entry in enumerate(inst.delta[l], start=1):
            print(f"\\delta^{{({l})}}_{{{i}}} = {expr_latex(entry)}")

    # Each entry of δ⁽ˡ⁾(x⁽ˡ⁻¹⁾)ᵀ and δ⁽ˡ⁾ must be ∂L/∂ of its parameter: verify them all.
    verdicts = {p: sg.verify(net, p, formula) for p, formula in inst.gradients.items()}
    held = sum(v.ok for v in verdicts.values())
    print(f"\nthe matrix form, written out, equals net.grad: {held}/{len(verdicts)} entries hold")
    for p, v in verdicts.items():
        if not v.ok:
            print(v)

    print(f"\nelement form of one first-layer weight, ∂L/∂{net.params[0]}:")
    print(net.grad(net.params[0]).latex())

    print("\ngradient check at the spec's point:")
    report = sg.check_spec(spec)  # at the spec's [point]
    print(report)
    return report.exit_code if held == len(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
