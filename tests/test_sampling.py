"""Random points of a network and 30-digit evaluation (symgrad.verification.sampling)."""

import mpmath
import pytest
import sympy

import symgrad as sg
from symgrad.errors import SymgradError
from symgrad.model import functions as fn
from symgrad.verification.sampling import DPS, KINK, Sample, close, evaluate, kink_arguments


def test_points_carry_every_step_and_the_same_seed_gives_the_same_points():
    net = sg.mlp([2, 2, 1])
    truth = net.grad("W1_1_1").factored
    with mpmath.workdps(DPS):  # the verifier's working precision (sampling runs inside it)
        a = Sample.random(net, [truth], n=4, seed=3)
        b = Sample.random(net, [truth], n=4, seed=3)
        assert len(a.points) == 4
        assert a.leaf_point(0) == b.leaf_point(0)
        assert all(st.target in a.points[0] for st in net.steps)
        # a step's value is its definition evaluated at the leaves
        u = net.symbol("u1_1")
        assert close(a.points[0][u], evaluate(net.step_map[u], a.points[0], {}))


def test_evaluate_knows_symgrads_functions_and_refuses_to_guess():
    x = sympy.Symbol("x", real=True)
    with mpmath.workdps(DPS):
        values = {x: mpmath.mpf("0.3")}
        assert close(evaluate(fn.sigmoid(x), values, {}), 1 / (1 + mpmath.exp(-mpmath.mpf("0.3"))))
        assert close(evaluate(fn.relu(-x), values, {}), mpmath.mpf(0))
        assert evaluate(sympy.Function("k")(x), values, {}) is None  # unknown: undefined, not a guess
        assert evaluate(sympy.log(-x), values, {}) is not None  # complex; vec() turns it into None


def test_points_stay_away_from_kinks():
    net = sg.mlp([2, 2, 1], activation="relu")
    truth = net.grad("W1_1_1").factored
    kinks = kink_arguments([st.expr for st in net.steps] + [truth])
    assert kinks
    with mpmath.workdps(DPS):
        sample = Sample.random(net, [truth], n=5, seed=0)
    for values, memo in zip(sample.points, sample.memos):
        assert all(abs(evaluate(k, values, memo)) >= KINK for k in kinks)


def test_a_derivative_undefined_everywhere_is_an_error():
    net = sg.Network.from_expr("log(-w**2 - 1)", params="w")
    with pytest.raises(SymgradError):
        Sample.random(net, [net.grad("w").factored], n=3, seed=0)


def test_a_kink_at_every_point_is_an_error_that_names_it():
    """max(p, s) with a step s = p is on its kink wherever it is drawn: which side's formula
    the derivative takes there is a convention no sample can decide, and the error says so."""
    from symgrad.model.names import real_symbol
    from symgrad.model.step import Step

    p, s, m, loss = (real_symbol(name) for name in ("p", "s", "m", "L"))
    net = sg.Network([Step(s, p), Step(m, sympy.Max(p, s)), Step(loss, m**2)], params=[p], loss="L")
    with mpmath.workdps(DPS), pytest.raises(SymgradError, match="at every point drawn") as caught:
        Sample.random(net, [net.grad("p").factored], n=3, seed=0)
    assert caught.value.token in ("p - s", "s - p")
    # verify reports it the same way, without a traceback of its own
    with pytest.raises(SymgradError, match="kink"):
        sg.verify(net, "p", r"\frac{\partial L}{\partial p} = 2 m", timeout=0)
