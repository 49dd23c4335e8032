"""The output error term of layered networks (symgrad/present/output_terms.py): for every
loss and output activation, the term for each unit equals the reverse sweep's adjoint."""

from __future__ import annotations

import random

import pytest
import sympy

import symgrad as sg
from conftest import evaluate, random_point
from symgrad.derive.hadamard import total
from symgrad.model.names import real_symbol
from symgrad.present.output_terms import LSE, U, X, Y, output_term

CASES = [
    ("mse", "sigmoid"),
    ("mse", "tanh"),
    ("mse", "identity"),
    ("mse", "softmax"),
    ("mae", "relu"),
    ("cross_entropy", "sigmoid"),
    ("cross_entropy", "softmax"),
    ("softmax_cross_entropy", "softmax"),
]


@pytest.mark.parametrize("loss, activation", CASES)
def test_each_unit_equals_the_sweeps_adjoint(loss, activation):
    net = sg.mlp([2, 3, 3], activation=["tanh", activation], loss=loss)
    term = output_term(net)
    sweep = net.gradients().sweep
    rng = random.Random(0)
    for k in range(1, 4):
        u = real_symbol(f"u2_{k}")
        written, derived = term.unit(net, k), sweep.inline[u]
        for _ in range(3):
            point = random_point(net, rng)
            a = evaluate(written.xreplace(net.substituted), point)
            b = evaluate(derived.xreplace(net.substituted), point)
            assert abs(a - b) <= 1e-20 * max(1, abs(b)), (loss, activation, k, written, derived)


def test_the_recognised_forms():
    bce = output_term(sg.mlp([2, 2], activation="sigmoid", loss="cross_entropy"))
    assert (bce.expr, bce.derivative) == (X - Y, None)
    fused = output_term(sg.mlp([2, 2], activation="softmax", loss="softmax_cross_entropy"))
    assert fused.fused_softmax and fused.expr == sympy.exp(U - LSE) * total(Y) - Y
    mse = output_term(sg.mlp([2, 2], activation="sigmoid"))
    assert mse.gradient == X - Y and mse.derivative is not None and not mse.simplified
    identity = output_term(sg.mlp([2, 2], activation="identity"))
    assert identity.expr == U - Y and identity.unit(None, 2) == real_symbol("u1_2") - real_symbol("y2")


def test_other_networks_have_none():
    assert output_term(sg.Network.from_expr("(w - 1)**2", params="w")) is None
