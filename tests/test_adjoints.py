"""Named adjoints (symgrad/present/adjoints.py): which adjoints get a name, that each
definition is the sweep's adjoint, the layer-by-layer form, and where reports use it."""

from __future__ import annotations

import random

import pytest
import sympy
from worked_examples import engine_network, tutorial_network

import symgrad as sg
from conftest import evaluate, random_point, seed_network
from symgrad.model.names import real_symbol
from symgrad.present.adjoints import DELTA_DEPTH, _concrete, _delta_name, delta_form, derivative_delta, prefers_delta
from symgrad.present.normalise import to_expr
from symgrad.present.report import render_report


def test_seed_002_names_the_pre_activations_and_the_shared_linear_step(datawhale):
    assert datawhale.grad("w1").text("delta").splitlines() == [
        "∂Loss/∂w1 = δ_u2 · i1",
        "δ_u1 = (f̂1 − f1) · g(u1)(1 − g(u1))",
        "δ_u3 = (f̂2 − f2) · g(u3)(1 − g(u3))",
        "δ_u2 = [δ_u1 · w7 + δ_u3 · w9] · g(u2)(1 − g(u2))",
    ]
    # h2 is no activation but two steps use it: its adjoint gets a name of its own
    assert datawhale.grad("w4").text("delta").splitlines()[0] == "∂Loss/∂w4 = δ_h2 · i1"


def test_a_network_without_pre_activations_names_where_routes_meet():
    form = engine_network().grad("a").text("delta").splitlines()
    assert form == ["∂g/∂a = δ_f · 2 e · [4 − 12 b − 1 − 4 step(a + b) + step(b − a)]", "δ_f = 1/2 − 10/f²"]


def test_a_step_used_once_gets_no_name():
    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    assert net.grad("x1").text("delta") == "∂f/∂x1 = 2 x2 (x1 x2 − 3)"
    assert net.grad("x1").latex("delta") == "\\begin{aligned}\n\\frac{\\partial f}{\\partial x_{1}} &= 2 x_{2} \\left(x_{1} x_{2} - 3\\right)\n\\end{aligned}"


@pytest.mark.parametrize("build", [tutorial_network, engine_network, lambda: seed_network("datawhale")])
def test_every_definition_is_the_sweeps_adjoint(build):
    net = build()
    sweep = net.gradients().sweep
    rng = random.Random(1)
    for d in net.gradients():
        form = _concrete(d)
        names = {shown: t for t in sweep.bar for shown in [_delta_name(t)]}
        values = {}
        for shown, tree in form.definitions:  # each uses only the ones above it
            values[shown] = to_expr(tree).xreplace(values)
            point = random_point(net, rng)
            derived = sweep.inline[names[shown]]
            assert abs(evaluate(values[shown].xreplace(net.substituted), point) - evaluate(derived.xreplace(net.substituted), point)) < 1e-20
        point = random_point(net, rng)
        product = to_expr(form.product).xreplace(values).xreplace(net.substituted)
        assert abs(evaluate(product, point) - evaluate(d.expanded, point)) < 1e-20


def test_layered_networks_get_one_line_per_layer():
    net = seed_network("deep_4_layer")
    assert net.grad("W1_1_1").text("delta").splitlines() == [
        "∂L/∂W1_1_1 = δ1_1 · x1",
        "δ3_i = (x3_i − y_i) · σ(u3_i)(1 − σ(u3_i))",
        "δ2_j = (Σ_i W3_i_j δ3_i) · (1 − tanh(u2_j)²)",
        "δ1_j = (Σ_i W2_i_j δ2_i) · (1 − tanh(u1_j)²)",
    ]
    # only the layers the parameter needs
    assert net.grad("b2_3").text("delta").splitlines()[0] == "∂L/∂b2_3 = δ2_3"
    assert len(net.grad("b2_3").text("delta").splitlines()) == 3
    latex = net.grad("W1_1_1").latex("delta")
    assert r"\delta^{(2)}_{j} &= \left(\sum_{i} w^{(3)}_{i,j} \delta^{(3)}_{i}\right) \cdot \left(1 - \tanh^{2}(u^{(2)}_{j})\right)" in latex


def test_an_identity_hidden_layer_has_no_derivative_factor():
    net = sg.mlp([2, 2, 2], activation=["identity", "sigmoid"])
    assert net.grad("W1_1_1").text("delta").splitlines()[-1] == "δ1_j = Σ_i W2_i_j δ2_i"


def test_reports_name_the_adjoints_once_brackets_nest_deeper_than_two(datawhale):
    deep = sg.mlp([2, 3, 3, 3, 2], activation=["tanh", "tanh", "tanh", "sigmoid"])
    assert DELTA_DEPTH == 2
    assert prefers_delta(deep.grad("W1_1_1")) and not prefers_delta(deep.grad("W2_1_1"))
    assert not any(prefers_delta(d) for d in datawhale.gradients())
    text = render_report(deep, fmt="md")
    assert "\\frac{\\partial L}{\\partial w^{(1)}_{1,1}} &= \\delta^{(1)}_{1} \\cdot x_{1}\n" in text
    assert "\\delta^{(4)}_{i} &= \\left(x^{(4)}_{i} - y_{i}\\right)" in text


def test_delta_form_pieces_and_errors(datawhale):
    form = delta_form(datawhale.grad("w7"))
    assert form.product_latex() == r"\delta_{u_{1}} \cdot h_{1}"
    assert form.definition_block().latex().startswith("\\begin{aligned}\n\\delta_{u_{1}} &= ")
    assert form.definition_block().pairs()[0][0] == r"\delta_{u_{1}}"
    assert delta_form(sg.Network.from_expr("w**2", params="w").grad("w")).definition_block() is None
    with pytest.raises(sg.SymgradError, match="'mathml'"):
        derivative_delta(datawhale.grad("w7"), "mathml")
    with pytest.raises(sg.SymgradError, match="'delta'"):
        datawhale.grad("w7").text("tree")
    assert datawhale.grad("w7").to_dict("delta")["latex"] == datawhale.grad("w7").latex("delta")


def test_delta_names():
    assert _delta_name(real_symbol("u2_13"))._latex() == r"\delta^{(2)}_{13}"
    assert _delta_name(real_symbol("net_h1"))._sympystr() == "δ_net_h1"
    assert _delta_name(sympy.Symbol("fhat1"))._latex() == r"\delta_{\hat{f}_{1}}"


def test_a_parameter_the_loss_does_not_use_has_zero_in_every_form():
    with pytest.warns(sg.UnusedParameterWarning):
        net = sg.Network.from_equations("L = a*x", params="a b", inputs="x")
    assert net.grad("b").text("delta") == "∂L/∂b = 0"
    assert net.grad("b").latex("delta") == "\\begin{aligned}\n\\frac{\\partial L}{\\partial b} &= 0\n\\end{aligned}"
