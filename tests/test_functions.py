"""The activation table: textbook derivatives, aliases, elementary forms."""

from __future__ import annotations

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


def test_values_and_numpy_forms_agree():
    for kind, info in fn.ACTIVATIONS.items():
        if kind == "identity":
            continue
        x = 0.3
        assert abs(float(fn.resolve("h", kind)(sympy.Float(x)).evalf()) - float(info.numpy(np.array(x)))) < 1e-12, kind
    assert fn.sigmoid(0) == sympy.S.Half and fn.relu(-2) == 0


def test_sigmoid_numpy_form_does_not_overflow():
    with np.errstate(all="raise"):
        assert fn.ACTIVATIONS["sigmoid"].numpy(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]


def test_logsumexp_derivative_is_softmax():
    a, b = sympy.symbols("a b", real=True)
    lse = fn.logsumexp(a, b)
    assert lse.diff(a) == sympy.exp(a - lse)
    assert fn.logsumexp(a) == a
    assert abs(float(lse.subs({a: 1, b: 2}).evalf()) - float(np.logaddexp(1, 2))) < 1e-12


def test_unknown_kind():
    with pytest.raises(UnknownSymbolError, match="'swish'"):
        fn.resolve("s", "swish")
