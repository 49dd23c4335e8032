"""The activation table: textbook derivatives, aliases, elementary forms."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from symgrad.errors import UnknownSymbolError
from symgrad.model import functions as fn

u = sympy.Symbol("u", real=True)


def test_alias_is_cached_and_keeps_its_name():
    g = fn.resolve("g", "sigmoid")
    assert g is fn.resolve("g", "sigmoid")
    assert g(u) == fn.resolve("g", "sigmoid")(u)
    assert str(g(u).diff(u)) == "(1 - g(u))*g(u)"
    assert fn.kind_of(g) == "sigmoid" and fn.kind_of(fn.resolve("act", "tanh")) == "tanh"


def test_builtin_names_are_sympy_functions():
    assert fn.resolve("tanh") is sympy.tanh and fn.resolve("abs") is sympy.Abs
    assert fn.resolve("sigmoid") is fn.sigmoid


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "relu", "softplus", "exp", "log", "abs", "sqrt"])
def test_derivative_of_every_kind_matches_its_definition(kind):
    f = fn.resolve("h", kind)  # an alias: uses symgrad's own rule for every kind
    x0 = sympy.Rational(7, 10)
    ours = f(u).diff(u).subs(u, x0)
    truth = sympy.diff(fn.to_elementary(f(u)), u).subs(u, x0)
    assert abs(float(ours.evalf(30) - truth.evalf(30))) < 1e-25


def test_identity_alias_disappears():
    assert fn.resolve("id", "identity")(u) == u


ROWS = sorted(fn.FUNCTIONS)


@pytest.mark.parametrize("name", ROWS)
def test_every_row_computes_the_same_function_in_every_stage(name):
    """sympy (the derivation), mpmath (the verifier), plain floats and arrays (the numeric
    backprop): one value, and the hand-written slopes equal sympy's derivative."""
    row = fn.FUNCTIONS[name]
    checked = 0
    for x in (0.3, -0.45, 0.8, 1.7, 2.2):
        symbolic = fn.resolve("h", name)(sympy.Float(x)) if row.alias_base is not None else row.builtin(sympy.Float(x))
        if not sympy.N(symbolic, 30).is_real:
            continue  # outside the domain (log of a negative, acosh below 1)
        checked += 1
        truth = float(sympy.N(symbolic, 30))
        assert float(row.mpmath(mpmath.mpf(x))) == pytest.approx(truth, rel=1e-13, abs=1e-15)
        value, (slope, *_) = row.numeric.rule(x)
        assert value == pytest.approx(truth, rel=1e-13, abs=1e-15)
        xs = sympy.Symbol("xs", real=True)
        f = fn.resolve("h", name)(xs) if row.alias_base is not None else row.builtin(xs)
        derivative = float(sympy.N(f.diff(xs).subs(xs, sympy.Float(x)), 30))
        assert slope == pytest.approx(derivative, rel=1e-12, abs=1e-15), name
        if row.numeric.array_value is not None:
            U = np.array([x])
            A = row.numeric.array_value(U)
            assert A[0] == pytest.approx(truth, rel=1e-13, abs=1e-15)
            assert row.numeric.array_slope(U, A)[0] == pytest.approx(derivative, rel=1e-12, abs=1e-15)
    assert checked >= 2
    assert fn.sigmoid(0) == sympy.S.Half and fn.relu(-2) == 0


def test_every_activation_has_array_code_and_a_row_is_one_place():
    for name in fn.ACTIVATION_NAMES:
        if name == "softmax":  # the one vector activation
            continue
        code = fn.FUNCTIONS[name].code
        assert code.array and code.array_slope, name
        assert set(code.helpers) | set(code.array_helpers) <= set(fn.HELPERS)
    assert fn.FUNCTION_NAMES == ("sigmoid", "tanh", "relu", "softplus", "exp", "log", "abs", "sqrt")


def test_sigmoid_numeric_forms_do_not_overflow():
    with np.errstate(all="raise"):
        assert fn.FUNCTIONS["sigmoid"].numeric.array_value(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]
    assert fn.FUNCTIONS["sigmoid"].numeric.value(-800.0) == 0.0


def test_logsumexp_derivative_is_softmax():
    a, b = sympy.symbols("a b", real=True)
    lse = fn.logsumexp(a, b)
    assert lse.diff(a) == sympy.exp(a - lse)
    assert fn.logsumexp(a) == a
    assert abs(float(lse.subs({a: 1, b: 2}).evalf()) - float(np.logaddexp(1, 2))) < 1e-12


def test_unknown_kind():
    with pytest.raises(UnknownSymbolError, match="'swish'"):
        fn.resolve("s", "swish")


def test_to_elementary_leaves_none_of_ours_when_a_rewrite_rebuilds_an_outer_call():
    """relu(relu(w²)): the inner Max(0, w²) is w², which rebuilt the outer relu after the pass had
    gone by, and check(symbolic="lambdify") then failed with NameError: relu."""
    w = sympy.Symbol("w1", real=True)
    assert fn.to_elementary(fn.relu(fn.relu(w**2))) == w**2
    import symgrad as sg

    assert sg.check(sg.Network.from_expr("relu(relu(w1*w1))", params="w1"), symbolic="lambdify", seed=0).ok
