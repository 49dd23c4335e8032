"""Stable code forms of a network's program (symgrad.compile.stable)."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy

import symgrad as sg
from conftest import evaluate, random_point
from symgrad.compile.stable import stabilize
from symgrad.model.functions import kind_of, softplus


def functions_in(net: sg.Network) -> set[str]:
    return {kind_of(type(f)) for st in net.steps for f in st.expr.atoms(sympy.Function)}


def test_log_sigmoid_becomes_minus_softplus():
    net = sg.Network.from_expr("log(sigmoid(w*x))", params="w", inputs="x")
    w, x = net.params[0], net.inputs[0]
    assert stabilize(net).steps[-1].expr == -softplus(-w * x)


def test_log_of_one_minus_a_sigmoid_step_becomes_minus_softplus():
    net = sg.Network.from_equations("o = sigmoid(u); u = w*x; L = -log(1 - o)", params="w", inputs="x")
    w, x = net.params[0], net.inputs[0]
    stable = stabilize(net)
    assert stable.steps[-1].expr == softplus(w * x).subs(w * x, stable.symbol("u"))
    # o is used only inside the log, so its step is gone
    assert "o" not in [st.target.name for st in stable.steps]


def test_log_of_a_softmax_output_is_its_exponent():
    net = sg.mlp([2, 3], activation="softmax", loss="cross_entropy")
    stable = stabilize(net)
    assert "log" not in functions_in(stable) and "exp" not in functions_in(stable)


def test_binary_cross_entropy_keeps_no_log():
    stable = stabilize(sg.mlp([2, 3, 2], loss="cross_entropy"))
    assert functions_in(stable) == {"sigmoid", "softplus"}


def test_an_alias_of_sigmoid_and_of_log_is_recognised():
    net = sg.Network.from_equations(
        "o = g(w*x); L = -ln(o)", params="w", inputs="x", functions={"g": "sigmoid", "ln": "log"}
    )
    assert functions_in(stabilize(net)) == {"softplus"}


@pytest.mark.parametrize(
    "text",
    ["log(w*w + 1)", "log(1 + sigmoid(w))", "log(2 - sigmoid(w))", "(w - 1)**2"],
)
def test_other_forms_are_left_alone(text):
    net = sg.Network.from_expr(text, params="w")
    assert stabilize(net) is net


@pytest.mark.parametrize(
    "build",
    [
        lambda: sg.mlp([2, 3, 2], loss="cross_entropy"),
        lambda: sg.mlp([2, 3, 3], activation=["tanh", "softmax"], loss="cross_entropy"),
        lambda: sg.Network.from_equations("o = sigmoid(w*x + b); L = -y*log(o) - (1 - y)*log(1 - o)",
                                          params="w b", inputs="x", targets="y"),
    ],
)
def test_rewritten_loss_has_the_same_value(build):
    net = build()
    stable = stabilize(net)
    assert stable is not net
    for seed in range(3):
        values = random_point(net, random.Random(seed))
        a, b = evaluate(net.loss_expr, values), evaluate(stable.loss_expr, values)
        assert abs(a - b) <= mpmath.mpf(10) ** -30 * max(1, abs(a))


def test_stable_network_keeps_the_declarations():
    net = sg.mlp([2, 3, 2], loss="cross_entropy")
    stable = stabilize(net)
    assert (stable.params, stable.inputs, stable.targets, stable.name) == (net.params, net.inputs, net.targets, net.name)
    assert stable.loss == net.loss
