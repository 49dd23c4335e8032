"""The symbolic proof within a budget (symgrad.verification.proof)."""

import time

import sympy

import symgrad as sg
from symgrad.verification.proof import prove


def test_proves_equal_forms_and_not_different_ones():
    net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
                                    params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
    truth = net.grad("w").factored
    o, y, x, u, w, b = (net.symbol(n) for n in "o y x u w b".split())
    same = (o - y) * o * (1 - o) * x  # o = g(u): needs the activation level
    sigmoid_written_out = (o - y) * sympy.exp(-u) / (1 + sympy.exp(-u)) ** 2 * x
    wrong = (o - y) * o * x
    assert prove(net, [truth, same, sigmoid_written_out, wrong], truth, budget=5.0) == [True, True, True, False]


def test_the_budget_is_kept():
    net = sg.mlp([2, 2, 1])
    truth = net.grad("W1_1_1").expanded
    hard = sympy.expand(truth.rewrite(sympy.exp)) * (1 + sympy.sin(net.symbol("x1")) ** 2 + sympy.cos(net.symbol("x1")) ** 2) / 2
    started = time.monotonic()
    prove(net, [hard], truth, budget=0.3)
    assert time.monotonic() - started < 2.0
    assert prove(net, [hard], truth, budget=0.0) == [False]  # no time: nothing proved, nothing claimed
