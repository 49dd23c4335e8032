"""The three-way check: what it accepts, what it rejects, and how it names the culprit."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
import sympy

import symgrad as sg

check_module = importlib.import_module("symgrad.crosscheck.check")  # sg.check is the function
from conftest import EXAMPLES, SEED_SPECS, evaluate, seed_network
from symgrad.crosscheck.backprop import numeric_backprop
from symgrad.crosscheck.check import CheckReport, check
from symgrad.errors import SymgradError


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    # Generated gradient modules of these tests go to a scratch directory, not the user's cache.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("symgrad-cache")))
        yield


def _load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _failing(rep: CheckReport) -> set[str]:
    return {r.param for r in rep.rows if not r.ok}


def _correct_gradient(net):
    """A correct user gradient (the compiled one, else the numeric backprop)."""
    try:
        f = net.compile(jit=False)
    except sg.SymgradError:
        return lambda p, x, y: numeric_backprop(net, p, x, y)
    return lambda p, x, y: f(p, x, y)


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("seed", SEED_SPECS)
def test_every_seed_network_passes(seed):
    rep = check(seed_network(seed), seed=1)
    assert rep.ok, str(rep)
    assert rep.exit_code == 0
    assert len(rep.points) == 3 and rep.legs == ("symbolic", "backprop", "finite_diff")
    assert [r.param for r in rep.rows] == [p.name for p in seed_network(seed).params]


def test_the_symbolic_column_is_the_generated_module_without_numba():
    rep = check(seed_network("datawhale"), seed=0)
    assert rep.symbolic_method == "compiled (jit=False)"


def test_the_symbolic_column_is_the_expanded_derivative():
    net = seed_network("datawhale")
    rep = check(net, seed=3, symbolic="lambdify")  # the earlier evaluator's name: the same column
    assert rep.ok and rep.symbolic_method == "compiled (jit=False)"
    for row, d in zip(rep.rows, net.gradients()):
        pt = rep.points[row.point]
        values = dict(zip(net.params + net.inputs + net.targets, map(float, [*pt["params"], *pt["x"], *pt["y"]])))
        assert row.symbolic == pytest.approx(float(evaluate(d.expanded, values)), rel=1e-12, abs=1e-16)


def test_a_compile_failure_is_the_checks_error(monkeypatch):
    def broken(self, **options):
        raise SymgradError("no code generator today")

    monkeypatch.setattr(sg.Network, "compile", broken)
    with pytest.raises(SymgradError, match="no code generator today"):
        check(seed_network("quadratic"), seed=0)
    assert check(seed_network("quadratic"), seed=0, symbolic=None).ok


def test_zero_tolerance_and_nan_columns():
    net = seed_network("quadratic")
    exact = check(net, grad=lambda p, x, y: numeric_backprop(net, p), seed=0, rtol=0.0, atol=0.0, fd=None, symbolic=None)
    assert exact.ok  # identical numbers pass even with no tolerance at all
    nan = check(net, grad=lambda p, x, y: (None, [np.nan, 0.0]), seed=0, fd=None, symbolic=None)
    assert _failing(nan) == {"x1", "x2"} and nan.worst.param == "x1" and nan.worst.score == float("inf")


def test_an_unevaluable_symbolic_gradient_is_a_symgrad_error():
    # sympy's sign has no fdiff, so today the derivation leaves d sign(b)/db unevaluated
    # (reported on the issue); once it is 2·DiracDelta(b), the check simply passes.
    b = sympy.Symbol("b", real=True)
    net = sg.Network.from_expr(sympy.sign(b) * b**2, params="b")
    if net.grad("b").factored.has(sympy.Derivative):
        with pytest.raises(SymgradError, match=r"cannot generate code for Derivative"):
            check(net, seed=0)
    else:
        assert check(net, seed=0).ok
