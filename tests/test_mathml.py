"""present/mathml.py: every formula symgrad prints converts to MathML with no TeX left in it."""

from __future__ import annotations

import re

import pytest
from test_formula import _formulas

from conftest import SEED_SPECS, seed_network
from symgrad.errors import SymgradError
from symgrad.present import formula
from symgrad.present.mathml import formula_html, math_html
from symgrad.present.report import _matrix_rows


@pytest.mark.parametrize("name", SEED_SPECS)
def test_every_formula_of_the_examples_is_mathml(name):
    net = seed_network(name)
    nodes = [node for _, node in _formulas(net)] + [node for _, node in (_matrix_rows(net, "column") or [])]
    for node in nodes:
        html = formula_html(node)
        assert html.count("<math") == html.count("</math>") > 0
        text = re.sub(r"<[^>]+>", "", html)
        assert "\\" not in text and "$" not in text, text


def test_symgrads_notation_converts():
    assert "<mi>Loss</mi>" in math_html(r"\frac{\partial \mathrm{Loss}}{\partial w_{7}}")  # one upright name
    hat = math_html(r"\hat{f}_{1}")
    assert "<mover" in hat and "<msub>" in hat
    theta = math_html(r"\theta^{(1)}_{1,0}")
    assert "<msubsup>" in theta and "<mo>&#x0002C;</mo>" in theta  # row 1, column 0
    for latex in (r"\left[a\right] \cdot b", r"\mathbf{x}^{(1)} \odot f'(\mathbf{u}^{(1)})", r"\left\| x \right\|^{2}",
                  r"\operatorname{softmax}(\mathbf{u})", r"\nabla_{W^{(1)}} L", r"\mathbf{1} \oslash x", r"\bar{u}_{1}"):
        assert "\\" not in re.sub(r"<[^>]+>", "", math_html(latex)), latex


def test_wide_formulas_become_pieces_the_browser_can_wrap():
    d = seed_network("xor").grad("theta1_1_0")
    from symgrad.present.latex import derivative_layout

    html = formula_html(derivative_layout(d))
    assert html.startswith('<span class="sg-chain">') and html.count("<math") > 5
    assert formula_html(formula.Atom("x")).startswith("<math")


def test_unconvertible_latex_is_a_symgrad_error():
    with pytest.raises(SymgradError, match="MathML"):
        math_html(r"\left( x")
