"""LaTeX in the seeds' notation; golden files for the seed 002 derivatives.

Regenerate the golden files with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_latex.py``.
"""

from __future__ import annotations

import pytest

import symgrad as sg
from conftest import check_golden
from symgrad.model.names import real_symbol
from symgrad.present.latex import expr_latex, name_latex


@pytest.mark.parametrize(
    "name, latex",
    [
        ("w7", "w_{7}"),
        ("w10", "w_{10}"),
        ("fhat1", r"\hat{f}_{1}"),
        ("yhat", r"\hat{y}"),
        ("W1_2_3", "w^{(1)}_{2,3}"),
        ("W2_12_3", "w^{(2)}_{12,3}"),
        ("b2_1", "b^{(2)}_{1}"),
        ("u1_4", "u^{(1)}_{4}"),
        ("theta1_1_0", r"\theta^{(1)}_{1,0}"),
        ("lse2", r"\operatorname{lse}^{(2)}"),
        ("Loss", r"\mathrm{Loss}"),
            ("xy", r"\mathrm{xy}"),
            ("alpha", r"\alpha"),
        ("bar_u1", r"\bar{u}_{1}"),
    ],
)
def test_names(name, latex):
    assert name_latex(name) == latex


def test_error_term_reads_prediction_minus_target_and_sums_are_bracketed():
    fhat1, f1, x1, x2 = map(real_symbol, ["fhat1", "f1", "x1", "x2"])
    assert expr_latex(fhat1 - f1) == r"\hat{f}_{1} - f_{1}"
    assert expr_latex(2 * x2 * (x1 * x2 - 3)) == r"2 x_{2} \left(x_{1} x_{2} - 3\right)"
    g = sg.model.functions.resolve("g", "sigmoid")
    assert expr_latex(g(x1) * (1 - g(x1))) == r"g(x_{1}) \left(1 - g(x_{1})\right)"
    assert expr_latex(sg.model.functions.sigmoid(x1 + x2)) == r"\sigma\left(x_{1} + x_{2}\right)"


def test_fractions_and_negative_products_fall_back_to_sympy_forms():
    x, y = map(real_symbol, ["x", "y"])
    assert expr_latex(x / y) == r"\frac{x}{y}"
    assert expr_latex(-x * (x + y)) == r"- x \left(x + y\right)"


def test_unknown_form_is_an_error(datawhale):
    with pytest.raises(sg.SymgradError, match="'tree'"):
        datawhale.grad("w7").latex("tree")


def test_repr_latex_for_notebooks(datawhale):
    text = datawhale.grad("w7")._repr_latex_()
    assert text.startswith(r"$$\frac{\partial \mathrm{Loss}}{\partial w_{7}} = ") and text.endswith("$$")


def test_zero_gradient_prints_zero():
    with pytest.warns(sg.UnusedParameterWarning):
        net = sg.Network.from_equations("L = a*x", params="a b", inputs="x")
    assert net.grad("b").latex() == "0"
    assert net.grad("b").latex("chain").count("0") == 1


@pytest.mark.parametrize("param", ["w7", "w1", "w6"])
@pytest.mark.parametrize("form", ["factored", "chain", "expanded"])
def test_seed_002_golden(datawhale, param, form):
    check_golden(f"latex/datawhale_{param}_{form}.tex", datawhale.grad(param).latex(form) + "\n")


def test_seed_002_chain_lines_follow_the_seed(datawhale):
    lines = datawhale.grad("w7").latex("chain").splitlines()
    assert lines[1] == r"\frac{\partial \mathrm{Loss}}{\partial w_{7}} &= \frac{\partial \mathrm{Loss}}{\partial \hat{f}_{1}} \cdot \frac{\partial \hat{f}_{1}}{\partial w_{7}} \\"
    assert lines[2] == r"&= \frac{\partial \mathrm{Loss}}{\partial \hat{f}_{1}} \cdot \frac{d g}{d u_{1}} \cdot \frac{\partial u_{1}}{\partial w_{7}} \\"
    assert lines[3] == r"&= \left(\hat{f}_{1} - f_{1}\right) \cdot g(u_{1}) \left(1 - g(u_{1})\right) \cdot h_{1}"
    w1 = datawhale.grad("w1").latex("chain").splitlines()
    # the last line shares g'(u2)·i1 across both routes: the bracketing the seed's last line lost
    assert w1[-2].startswith(r"&= \left[\left(\hat{f}_{1} - f_{1}\right)") and w1[-2].endswith(r"\right] \cdot g(u_{2}) \left(1 - g(u_{2})\right) \cdot i_{1}")


def test_layered_names_in_chain(datawhale):
    net = sg.mlp([2, 2, 1])
    text = net.grad("W1_1_2").latex("chain")
    assert r"\frac{\partial L}{\partial w^{(1)}_{1,2}}" in text and r"\frac{d \sigma}{d u^{(1)}_{1}}" in text
