"""The Unicode text of derivatives (symgrad/present/text.py): d.text(), str(d), derive --form text."""

from __future__ import annotations

import re

import pytest
import sympy

import symgrad as sg
from symgrad.model.names import real_symbol
from symgrad.present.text import derivative_text, expr_text, name_text, partial_text


def test_the_readme_headline_is_what_symgrad_prints(datawhale):
    assert datawhale.grad("w7").text() == "∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1"
    assert str(datawhale.grad("w7")) == datawhale.grad("w7").text()


def test_text_follows_the_structure_of_the_latex(datawhale):
    # The same factors, in the same order, with the same brackets: strip the LaTeX markup
    # from d.latex() and the names from both, and the two must read the same.
    def skeleton(text: str) -> str:
        text = text.replace(r"\left", "").replace(r"\right", "").replace(r"\cdot", "·").replace("−", "-")
        text = re.sub(r"\\hat\{(\w)\}_\{(\d+)\}", r"\1\2", text)  # \hat{f}_{1} → f1
        text = re.sub(r"_\{(\d+)\}", r"\1", text)  # w_{7} → w7
        text = text.replace("\u0302", "")  # f̂1 → f1
        return re.sub(r"\s+", "", text)

    for d in datawhale.gradients():
        assert skeleton(d.text().split(" = ", 1)[1]) == skeleton(d.latex()), d.param


def test_gradients_print_one_line_per_parameter(datawhale):
    lines = str(datawhale.gradients()).splitlines()
    assert len(lines) == len(datawhale.params)
    assert lines[0] == "∂Loss/∂w1 = [(f̂1 − f1) · g(u1)(1 − g(u1)) · w7 + (f̂2 − f2) · g(u3)(1 − g(u3)) · w9] · g(u2)(1 − g(u2)) · i1"
    assert lines[-1] == "∂Loss/∂b2 = (f̂2 − f2) · g(u3)(1 − g(u3))"


def test_expanded_text_is_in_parameters_inputs_and_targets_only(datawhale):
    text = datawhale.grad("w7").text("expanded")
    assert text.startswith("∂Loss/∂w7 = ") and "h1" not in text.split(" = ", 1)[1] and "u1" not in text
    with pytest.raises(sg.SymgradError, match="unknown text form 'chain'"):
        derivative_text(datawhale.grad("w7"), "chain")


def test_names():
    assert name_text("fhat1") == "f\u03021" and name_text("yhat") == "y\u0302"
    assert name_text("W1_2_3") == "W1_2_3" and name_text("bar_u1") == "u\u03041"
    assert partial_text(real_symbol("L"), real_symbol("W1_2_3")) == "∂L/∂W1_2_3"


@pytest.mark.parametrize("expr,text", [
    ("2*x2*(x1*x2 - 3)", "2 x2 (x1 x2 − 3)"),
    ("(x1 - x2)**2/2", "(x1 − x2)²/2"),
    ("-x1*x2", "−x1 x2"),
    ("x1 - 2*x2", "x1 − 2 x2"),
    ("x1**3 + x2**(-1)", "x1³ + 1/x2"),
    ("x1/(x2*x1 + 1)", "x1/(x1 x2 + 1)"),
    ("2*x1/x2", "(2 x1)/x2"),
    ("sqrt(x1)", "√x1"),
    ("x1**x2", "x1^x2"),
    ("Abs(x1 - x2)", "|x1 − x2|"),
    ("exp(x1) + log(x2)", "exp(x1) + log(x2)"),
])
def test_expressions(expr, text):
    x1, x2 = real_symbol("x1"), real_symbol("x2")
    assert expr_text(sympy.sympify(expr, locals={"x1": x1, "x2": x2})) == text


def test_activations_print_by_their_usual_names():
    net = sg.mlp([2, 1], activation="sigmoid")
    assert net.grad("b1_1").text() == "∂L/∂b1_1 = (x1_1 − y1) · σ(u1_1)(1 − σ(u1_1))"
    relu = sg.mlp([2, 1], activation="relu", loss="mae")
    assert relu.grad("b1_1").text() == "∂L/∂b1_1 = sign(x1_1 − y1) · step(u1_1)"
