"""Two worked examples from elsewhere (tests/worked_examples.py), the seed 004 network and
softmax + cross-entropy: the published numbers, and golden LaTeX and text of every form.

Regenerate the golden files with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_worked_examples.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from worked_examples import (
    ENGINE_POINT,
    ENGINE_RESULTS,
    TUTORIAL_GRADIENTS,
    TUTORIAL_INPUTS,
    TUTORIAL_PARAMS,
    TUTORIAL_TARGETS,
    engine_network,
    softmax_network,
    tutorial_network,
)

import symgrad as sg
from conftest import check_golden, seed_network

NETWORKS = {
    "tutorial": tutorial_network,
    "engine": engine_network,
    "deep_4_layer": lambda: seed_network("deep_4_layer"),
    "softmax_ce": softmax_network,
}
GOLDEN = [
    ("tutorial", "w5", ("factored", "chain", "delta")),
    ("tutorial", "w1", ("factored", "chain", "delta")),
    ("tutorial", "b1", ("factored", "delta")),
    ("engine", "a", ("factored", "chain", "delta")),
    ("engine", "b", ("factored", "chain", "delta")),
    ("deep_4_layer", "W1_1_1", ("factored", "delta")),
    ("deep_4_layer", "W3_2_1", ("factored", "chain", "delta")),
    ("softmax_ce", "W2_2_1", ("factored", "chain", "delta")),
    ("softmax_ce", "W1_1_1", ("factored", "delta")),
]
TEXT_FORMS = ("factored", "delta")


@pytest.fixture(scope="module")
def networks():
    return {name: build() for name, build in NETWORKS.items()}


def test_the_tutorial_numbers(networks):
    net = networks["tutorial"]
    f = net.compile(jit=False)
    loss, g = f(np.array(TUTORIAL_PARAMS), np.array(TUTORIAL_INPUTS), np.array(TUTORIAL_TARGETS))
    assert loss == pytest.approx(0.298371109, abs=1e-9)
    for name, value in TUTORIAL_GRADIENTS.items():
        assert g[net.params.index(net.symbol(name))] == pytest.approx(value, abs=1e-9)


def test_the_engine_numbers(networks):
    net = networks["engine"]
    loss, g = sg.numeric_backprop(net, np.array([ENGINE_POINT["a"], ENGINE_POINT["b"]]))
    assert loss == pytest.approx(ENGINE_RESULTS["g"], abs=1e-4)
    assert g == pytest.approx([ENGINE_RESULTS["a"], ENGINE_RESULTS["b"]], abs=1e-4)


@pytest.mark.parametrize("net_name, param, forms", GOLDEN, ids=[f"{n}-{p}" for n, p, _ in GOLDEN])
def test_golden_latex(networks, net_name, param, forms):
    d = networks[net_name].grad(param)
    for form in forms:
        check_golden(f"latex/{net_name}_{param}_{form}.tex", d.latex(form) + "\n")


@pytest.mark.parametrize("net_name, param, forms", GOLDEN, ids=[f"{n}-{p}" for n, p, _ in GOLDEN])
def test_golden_text(networks, net_name, param, forms):
    d = networks[net_name].grad(param)
    for form in TEXT_FORMS:
        check_golden(f"text/{net_name}_{param}_{form}.txt", d.text(form) + "\n")


def test_the_tutorial_reads_as_the_tutorial_writes_it(networks):
    d = networks["tutorial"].grad("w1")
    # No unit factors or doubled signs; the error term reads (out − target), the shared
    # tail g(u)(1 − g(u))·i1 is written once behind the bracket of the two routes.
    assert d.text() == (
        "∂E/∂w1 = [(out_o1 − target_o1) · σ(net_o1)(1 − σ(net_o1)) · w5 + (out_o2 − target_o2) · σ(net_o2)(1 − σ(net_o2)) · w7]"
        " · σ(net_h1)(1 − σ(net_h1)) · i1"
    )
    assert d.text("delta").splitlines() == [
        "∂E/∂w1 = δ_net_h1 · i1",
        "δ_net_o1 = (out_o1 − target_o1) · σ(net_o1)(1 − σ(net_o1))",
        "δ_net_o2 = (out_o2 − target_o2) · σ(net_o2)(1 − σ(net_o2))",
        "δ_net_h1 = [δ_net_o1 · w5 + δ_net_o2 · w7] · σ(net_h1)(1 − σ(net_h1))",
    ]


def test_the_engine_folds_numbers_and_writes_the_shared_bracket_once(networks):
    d = networks["engine"].grad("a")
    assert d.text() == "∂g/∂a = [1/2 − 10/f²] · 2 e · [4 − 12 b − 1 − 4 step(a + b) + step(b − a)]"
    assert d.latex().startswith(r"\left[\frac{1}{2} - \frac{10}{f^{2}}\right] \cdot 2 e \cdot \left[4 - 12 b - 1")


def test_softmax_cross_entropy_is_written_as_a_reader_expects(networks):
    lines = networks["softmax_ce"].grad("W2_2_1").text("delta").splitlines()
    assert lines[:3] == ["∂L/∂W2_2_1 = δ2_2 · x1_1", "ŷ_i = exp(u2_i − lse2)", "δ2_i = ŷ_i Σ_k y_k − y_i"]
    assert lines[-1] == "(one-hot targets (Σ_k y_k = 1): δ2_i = ŷ_i − y_i)"


def test_binary_cross_entropy_with_a_sigmoid_is_prediction_minus_target():
    net = sg.mlp([2, 2, 1], activation=["tanh", "sigmoid"], loss="cross_entropy")
    assert net.grad("W2_1_1").text() == "∂L/∂W2_1_1 = (x2_1 − y1) · x1_1"
    assert "δ2_i = x2_i − y_i" in net.grad("W1_1_1").text("delta").splitlines()


def test_no_chain_line_counts_a_route_twice(networks):
    # L reaches u⁽²⁾₂ directly and through lse: the direct route is written by its value
    # (−y₂), so the first line holds read as ordinary mathematics.
    line = networks["softmax_ce"].grad("W2_2_1").latex("chain").splitlines()[1]
    assert r"\frac{\partial L}{\partial u^{(2)}_{2}}" not in line and r"- y_{2} \cdot \frac{\partial u^{(2)}_{2}}" in line
    # g reaches f directly and through g0: same.
    line = networks["engine"].grad("a").latex("chain").splitlines()[1]
    assert r"\frac{\partial g}{\partial f}" not in line and r"- \frac{10}{f^{2}} \cdot \frac{\partial f}{\partial e}" in line


READ_BACK = {
    "tutorial": ["w1", "w5", "b1", "b2"],
    "engine": ["a", "b"],
    "deep_4_layer": ["W1_1_1", "b2_3", "W3_2_1"],
    "softmax_ce": ["W1_1_1", "W2_2_1", "b2_1"],
}


@pytest.mark.parametrize("net_name", sorted(READ_BACK))
def test_every_form_reads_back(networks, net_name):
    net = networks[net_name]
    for param in READ_BACK[net_name]:
        d = net.grad(param)
        for form in ("factored", "chain", "delta") + (("expanded",) if net.layers is None else ()):
            v = sg.verify(net, param, d.latex(form))
            assert v.ok, f"{param} {form}: {v.diagnosis}"
