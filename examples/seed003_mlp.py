r"""Seed 003 (SIGAI): the 3-4-2 sigmoid network, its element formulas checked, a dropped prime caught.

x ∈ R³ → y = f(W⁽¹⁾x + b⁽¹⁾) ∈ R⁴ → f(W⁽²⁾y + b⁽²⁾) ∈ R², loss ½‖h(x) − z‖²
(``examples/mlp_3_4_2.toml``). The seed derives ∂L/∂w⁽²⁾_ij and ∂L/∂b⁽²⁾_i element by
element, then writes them as matrices. This script

1. prints symgrad's element formulas for ∂L/∂w⁽²⁾_13 and ∂L/∂b⁽²⁾_1;
2. verifies the seed's element formulas, as printed, for every i, j (``sg.verify``);
3. refutes the seed's matrix form of ∇_b⁽²⁾L, which writes f where f' belongs;
4. prints the matrix form (δ recursion) in the column convention the seed uses.

The seed's notation differs from symgrad's: f is the activation (σ), y the hidden
activations (symgrad's x1_k, x⁽¹⁾_k), z the targets (symgrad's y1, y2). ``names=``
tells the verifier so.

    python examples/seed003_mlp.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import symgrad as sg
from symgrad.model.spec import load_spec

SPEC = Path(__file__).resolve().with_name("mlp_3_4_2.toml")

# The seed's formulas as printed (right-hand sides). It derives row 1 of ∂L/∂W⁽²⁾ and
# says row 2 is "similar"; the bias formula is generic in i.
SEED_W2 = {
    1: r"\left(f\left(\mathbf{w}_{1}^{(2)}\mathbf{y} + b_{1}^{(2)}\right) - z_{1} \right) f'\left(\mathbf{w}_{1}^{(2)}\mathbf{y} + b_{1}^{(2)}\right) y_{j}",
    2: r"\left(f\left(\mathbf{w}_{2}^{(2)}\mathbf{y} + b_{2}^{(2)}\right) - z_{2} \right) f'\left(\mathbf{w}_{2}^{(2)}\mathbf{y} + b_{2}^{(2)}\right) y_{j}",
}
SEED_B2 = r"\left(f\left(\mathbf{w}_i^{(2)} \mathbf{y} + b_i^{(2)}\right) - z_i \right) f'\left(\mathbf{w}_i^{(2)} \mathbf{y} + b_i^{(2)}\right)"
SEED_B2_MATRIX = r"\left(f\left(\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)} \right) - \mathbf{z} \right) \odot f\left(\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)} \right)"

HIDDEN, OUTPUTS = 4, 2  # the seed's y ∈ R⁴ and z ∈ R²

# The seed's notation → the network's names: y_k are the hidden activations, z_i the targets.
SEED_NAMES = {**{f"y_{k}": f"x1_{k}" for k in range(1, HIDDEN + 1)}, **{f"z_{i}": f"y{i}" for i in range(1, OUTPUTS + 1)}}

# The seed's row-vector product w_i⁽²⁾y (its own next line writes it as Σ_k w_ik⁽²⁾ y_k).
ROW_TIMES_Y = re.compile(r"\\mathbf\{w\}_\{?(\w)\}?\^\{\(2\)\}\s*\\mathbf\{y\}")
GENERIC_INDEX = re.compile(r"_\{?([ij])\}?")


def element(formula: str, i: int, j: int | None = None) -> str:
    """The seed's formula for the entry (i, j): w_r⁽²⁾y written out as its sum, i and j made concrete."""

    def row_sum(m: re.Match) -> str:
        row = i if m.group(1) == "i" else m.group(1)  # a printed row number stays as printed
        return " + ".join(f"w_{{{row}{k}}}^{{(2)}} y_{{{k}}}" for k in range(1, HIDDEN + 1))

    text = ROW_TIMES_Y.sub(row_sum, formula)
    return GENERIC_INDEX.sub(lambda m: f"_{{{i if m.group(1) == 'i' else j}}}", text)


def row_of_matrix_form(formula: str) -> str:
    """Row i of the seed's matrix form: W⁽²⁾y + b⁽²⁾ → w_i⁽²⁾y + b_i⁽²⁾ and z → z_i."""
    text = formula.replace(r"\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)}", r"\mathbf{w}_i^{(2)} \mathbf{y} + b_i^{(2)}")
    return text.replace(r"\mathbf{z}", "z_i").replace(r"\odot", "")  # ⊙ of two entries is their product


def headline(verdict: sg.Verdict) -> str:
    """The verdict's first line, e.g. "∂L/∂b2_1: HOLDS (proved symbolically)"."""
    return str(verdict).splitlines()[0]


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    net = spec.network
    assert net.layers.sizes[1:] == (HIDDEN, OUTPUTS), "the seed's formulas are for a 3-4-2 network"
    print("symgrad's element formulas (x^{(1)} is the seed's y, y its z, σ its f):")
    print(f"  ∂L/∂W2_1_3 = {net.grad('W2_1_3').latex()}")
    print(f"  ∂L/∂b2_1   = {net.grad('b2_1').latex()}")

    print("\nthe seed's ∂L/∂w^{(2)}_{ij} for every i, j, e.g. (i, j) = (1, 3) read as")
    print(f"  {element(SEED_W2[1], 1, 3)}")
    all_hold = True
    for i, formula in SEED_W2.items():
        for j in range(1, HIDDEN + 1):
            v = sg.verify(net, f"W2_{i}_{j}", element(formula, i, j), names=SEED_NAMES)
            all_hold &= v.ok
            print("  " + headline(v))

    print("\nthe seed's ∂L/∂b^{(2)}_i:")
    for i in range(1, OUTPUTS + 1):
        v = sg.verify(net, f"b2_{i}", element(SEED_B2, i), names=SEED_NAMES)
        all_hold &= v.ok
        print("  " + headline(v))

    print("\nthe seed's matrix form of ∇_{b^{(2)}} L, read row by row:")
    for i in range(1, OUTPUTS + 1):
        v = sg.verify(net, f"b2_{i}", element(row_of_matrix_form(SEED_B2_MATRIX), i), names=SEED_NAMES)
        print(v if i == 1 else headline(v))  # the full verdict once; row 2 is the same slip

    print("\nthe matrix form, column convention:")
    print(net.matrix_form().latex("column"))
    return 0 if all_hold else 1


if __name__ == "__main__":
    sys.exit(main())
