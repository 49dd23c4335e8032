"""Symbolic reverse mode: the factored forms, the chain-rule paths, and local partials."""

from __future__ import annotations

import random

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg
from conftest import SEED_SPECS, assert_close_hp, evaluate, random_point, seed_network
from symgrad.derive.sweep import local_partials
from symgrad.model.functions import resolve, sigmoid, to_elementary


def names(net, text):
    return [net.symbol(n) for n in text.split()]


# --------------------------------------------------------------------------- seed 002 by hand


def test_seed_002_w7(datawhale):
    fhat1, f1, u1, h1 = names(datawhale, "fhat1 f1 u1 h1")
    g = resolve("g", "sigmoid")
    # ∂Loss/∂w7 = ∂Loss/∂f̂1 · dg/du1 · ∂u1/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1
    expected = (fhat1 - f1) * g(u1) * (1 - g(u1)) * h1
    assert datawhale.grad("w7").factored == expected


def test_seed_002_w1_sums_both_routes_then_multiplies(datawhale):
    fhat1, fhat2, f1, f2, u1, u2, u3, w7, w9, i1 = names(datawhale, "fhat1 fhat2 f1 f2 u1 u2 u3 w7 w9 i1")
    g = resolve("g", "sigmoid")
    route1 = (fhat1 - f1) * g(u1) * (1 - g(u1)) * w7
    route2 = (fhat2 - f2) * g(u3) * (1 - g(u3)) * w9
    expected = (route1 + route2) * g(u2) * (1 - g(u2)) * i1
    d = datawhale.grad("w1")
    assert sympy.expand(d.factored - expected) == 0
    # The seed's printed last line brackets g'(u2)·i1 onto the second route only: not equal.
    seed_line = route1 + route2 * g(u2) * (1 - g(u2)) * i1
    assert sympy.expand(d.factored - seed_line) != 0


def test_seed_002_w6(datawhale):
    fhat1, fhat2, f1, f2, u1, u3, w8, w10, i3 = names(datawhale, "fhat1 fhat2 f1 f2 u1 u3 w8 w10 i3")
    g = resolve("g", "sigmoid")
    expected = ((fhat1 - f1) * g(u1) * (1 - g(u1)) * w8 + (fhat2 - f2) * g(u3) * (1 - g(u3)) * w10) * i3
    assert sympy.expand(datawhale.grad("w6").factored - expected) == 0


def test_seed_002_paths(datawhale):
    assert [str(p) for p in datawhale.grad("w1").paths] == [
        "Loss -> fhat1 -> u1 -> h1 -> u2 -> w1",
        "Loss -> fhat2 -> u3 -> h1 -> u2 -> w1",
    ]
    (path,) = datawhale.grad("w7").paths
    fhat1, f1, u1, h1 = names(datawhale, "fhat1 f1 u1 h1")
    g = resolve("g", "sigmoid")
    assert [f.value for f in path.factors] == [fhat1 - f1, g(u1) * (1 - g(u1)), h1]
    assert path.factors[1].of == fhat1 and path.factors[1].wrt == u1


@pytest.mark.parametrize("param", ["w1", "w4", "w7", "w10", "b1", "b2"])
def test_paths_multiply_out_to_the_factored_form(datawhale, param):
    d = datawhale.grad(param)
    assert sympy.expand(sympy.Add(*[p.product for p in d.paths]) - d.factored) == 0


def test_gradients_in_param_order_and_by_name(datawhale):
    grads = datawhale.gradients()
    assert [d.param for d in grads] == list(datawhale.params)
    assert grads["w7"].factored == datawhale.grad("w7").factored
    assert grads[datawhale.symbol("b1")].param.name == "b1"


def test_textbook_activation_derivatives():
    for act, expected in [
        ("sigmoid", lambda u: sigmoid(u) * (1 - sigmoid(u))),
        ("tanh", lambda u: 1 - sympy.tanh(u) ** 2),
        ("relu", lambda u: sympy.Heaviside(u, 0)),
        ("softplus", lambda u: sigmoid(u)),
    ]:
        net = sg.Network.from_equations(f"u = w*x\nL = {act}(u)", params="w", inputs="x")
        u, x = net.symbol("u"), net.symbol("x")
        assert net.grad("w").factored == expected(u) * x, act


def test_quadratic_keeps_the_textbook_form(quadratic):
    x1, x2 = quadratic.params
    assert quadratic.grad("x1").factored == 2 * x2 * (x1 * x2 - 3)  # not 2*x1*x2**2 - 6*x2
    assert str(quadratic.grad("x1").factored) == "2*x2*(x1*x2 - 3)"


def test_too_many_paths_is_refused():
    net = sg.mlp([2] + [4] * 8 + [1])  # 4**7 = 16384 routes from a first-layer weight
    with pytest.raises(sg.SymgradError, match="paths"):
        net.grad("W1_1_1").paths


# --------------------------------------------------------------------------- every seed vs sympy.diff


@pytest.mark.parametrize("seed", SEED_SPECS)
def test_expanded_equals_sympy_diff_and_factored_substitutes_to_expanded(seed):
    net = seed_network(seed)
    # sympy.diff of the loss written in exp/log/Max only, so the truth does not come
    # from symgrad's own derivative table (σ' = σ(1 − σ) and friends).
    loss = to_elementary(net.loss_expr)
    rng = random.Random(seed)
    points = [random_point(net, rng) for _ in range(3)]
    for d in net.gradients():
        truth = sympy.diff(loss, d.param)
        for point in points:
            ours = evaluate(d.expanded, point)
            assert_close_hp(ours, evaluate(truth, point))
            # .factored needs the intermediates' values: substitute them symbolically.
            assert_close_hp(evaluate(d.factored.xreplace(net.substituted), point), ours)


def test_quadratic_symbolically_equal(quadratic):
    for d in quadratic.gradients():
        assert sympy.expand(d.expanded - sympy.diff(quadratic.loss_expr, d.param)) == 0


def test_seed_002_symbolically_equal_after_rewriting(datawhale):
    # Independent of symgrad's own derivative table: rewrite g to 1/(1 + e^(−u)) first.
    d = datawhale.grad("w7")
    truth = sympy.diff(to_elementary(datawhale.loss_expr), d.param)
    assert sympy.simplify(to_elementary(d.expanded) - truth) == 0


# --------------------------------------------------------------------------- local partials


_x, _y, _z = sympy.symbols("x y z", real=True)
_leaves = st.sampled_from([_x, _y, _z, sympy.Integer(2), sympy.Rational(1, 3), sympy.Integer(-1)])


def _combine(children):
    unary = st.sampled_from([sympy.exp, sympy.tanh, sigmoid, resolve("g", "sigmoid"), lambda e: sympy.log(e**2 + 1), lambda e: e**3])
    return st.one_of(
        st.tuples(children, children).map(lambda ab: ab[0] + ab[1]),
        st.tuples(children, children).map(lambda ab: ab[0] * ab[1]),
        st.tuples(unary, children).map(lambda fe: fe[0](fe[1])),
    )


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaves, _combine, max_leaves=8))
def test_local_partials_equal_sympy_diff(expr):
    wrt = {_x, _y}
    got = local_partials(expr, wrt)
    for s in wrt:
        want = sympy.diff(expr, s)
        have = got.get(s, sympy.S.Zero)
        assert sympy.simplify(sympy.expand(have - want)) == 0, (expr, s, have, want)
