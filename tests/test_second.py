"""Second derivatives (symgrad.derive.second): the Hessian against sympy.hessian."""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy

import symgrad as sg
from conftest import evaluate, random_point, seed_network
from symgrad.model.functions import to_elementary


def _assert_hessian_exact(net: sg.Network, points: int = 2):
    """Every entry equals sympy's second derivative of the flat loss, at random points, to 30 digits."""
    H = to_elementary(net.hessian().xreplace(net.substituted))
    flat = to_elementary(net.loss_expr)
    for i, p in enumerate(net.params):
        dp = sympy.diff(flat, p)
        for j, q in enumerate(net.params):
            truth = sympy.diff(dp, q)
            for k in range(points):
                values = random_point(net, random.Random(k))
                a, b = evaluate(H[i, j], values), evaluate(truth, values)
                assert abs(a - b) <= 1e-28 * max(1, abs(b)), (p, q)


def test_quadratic_hessian_is_sympys():
    net = seed_network("quadratic")
    x1, x2 = net.params
    assert str(net.hessian()) == "Matrix([[2*x2**2, 2*x1*x2 + 2*(x1*x2 - 3)], [2*x1*x2 + 2*(x1*x2 - 3), 2*x1**2]])"
    _assert_hessian_exact(net)


def test_datawhale_hessian_equals_sympys_and_is_symmetric():
    net = seed_network("datawhale")
    _assert_hessian_exact(net, points=1)
    H = to_elementary(net.hessian().xreplace(net.substituted))
    at = random_point(net, random.Random(5))
    values = np.array([[float(evaluate(H[i, j], at)) for j in range(H.cols)] for i in range(H.rows)])
    np.testing.assert_allclose(values, values.T, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("activation", ["tanh", "softplus", "sigmoid"])
def test_layered_hessian(activation):
    _assert_hessian_exact(sg.mlp([2, 2, 1], activation=activation), points=1)


def test_one_entry_with_latex():
    net = seed_network("datawhale")
    dd = net.grad("w7").grad("w7")
    assert dd.latex().startswith(r"\frac{\partial^{2} \mathrm{Loss}}{\partial w_{7}^{2}} = ")
    mixed = net.grad("w1").grad("w2")
    assert mixed.latex().startswith(r"\frac{\partial^{2} \mathrm{Loss}}{\partial w_{1} \partial w_{2}} = ")
    # in named intermediates: the sigmoid outputs appear by name, not as their whole formulas
    assert net.symbol("h1") in net.grad("w7").grad("w1").factored.free_symbols
    assert mixed.expanded.free_symbols <= set(net.params + net.inputs + net.targets)
    with pytest.raises(sg.UnknownSymbolError, match="'i1' is an input"):
        net.grad("w1").grad("i1")


def test_a_parameter_the_gradient_does_not_depend_on_gives_zero():
    net = sg.Network.from_expr("3*a + b**2", params="a b")
    assert net.hessian() == sympy.Matrix([[0, 0], [0, 2]])


@pytest.mark.parametrize("name", ["datawhale", "mlp_3_4_2", "deep_4_layer"])
def test_the_hvp_network_gives_h_times_v(name):
    from symgrad.derive.second import hvp_network

    net = seed_network(name)
    h = hvp_network(net, net.gradients().sweep)
    rng = np.random.default_rng(3)
    params = rng.uniform(-1, 1, len(net.params))
    x, y, v = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0.1, 0.9, len(net.targets)), rng.standard_normal(len(net.params))
    _, hv = sg.numeric_backprop(h, params, np.concatenate([x, v]), y)
    # against central differences of the (independent) numeric gradient along v
    step = 1e-5
    plus = sg.numeric_backprop(net, params + step * v, x, y)[1]
    minus = sg.numeric_backprop(net, params - step * v, x, y)[1]
    np.testing.assert_allclose(hv, (plus - minus) / (2 * step), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["datawhale", "quadratic", "xor"])
def test_check_order_2_agrees(name):
    rep = sg.check(seed_network(name), order=2, seed=0)
    assert rep.ok and rep.exit_code == 0, str(rep)
    assert "OK" in str(rep).splitlines()[0]


def test_check_order_2_catches_a_wrong_second_derivative(monkeypatch):
    # Break the hvp network's gradient: the symbolic column then disagrees with finite differences.
    from symgrad.derive import second

    real = second.hvp_network

    def doubled(net, sweep):
        h = real(net, sweep)
        return sg.Network([(st.target, 2 * st.expr if st.target == h.loss else st.expr) for st in h.steps],
                          params=h.params, inputs=h.inputs, targets=h.targets, loss=h.loss)

    monkeypatch.setattr("symgrad.crosscheck.second_order.hvp_network", doubled)
    rep = sg.check(seed_network("quadratic"), order=2, seed=0)
    assert not rep.ok and "FAIL" in str(rep)
