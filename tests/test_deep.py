"""Depth is no limit: a chain thousands of steps long derives, prints, checks and reports,
and a walk that meets Python's recursion limit is finished on a worker with a big stack."""

from __future__ import annotations

import sys
import threading

import pytest
import sympy

import symgrad as sg
from symgrad.cli import main
from symgrad.deep import call_deep, deep
from symgrad.model.substitution import substitute
from symgrad.present.report import render_report


def tanh_chain(n: int) -> str:
    return "\n".join(["h1 = tanh(w*x)"] + [f"h{i} = tanh(h{i - 1})" for i in range(2, n + 1)] + [f"L = (h{n} - y)**2"])


def chain_network(n: int) -> sg.Network:
    return sg.Network.from_equations(tanh_chain(n), params="w", inputs="x", targets="y")


def _every_form(net, n):
    d = net.grad("w")
    assert d.latex().count(r"\tanh") == n and d.text().count("tanh") == n
    (path,) = d.paths
    assert len(path.factors) == n + 1
    chain = d.latex("chain")
    assert chain.startswith(r"\begin{aligned}") and chain.count(r"\tanh") >= n
    expanded = d.expanded
    x, y, w = (net.symbol(s) for s in "xyw")
    # The expanded form's value, at a point, is the chain rule's: 2(t_n − y)·Π(1 − t_k²)·x.
    values, t = {x: sympy.Float(0.3), y: sympy.Float(0.1), w: sympy.Float(0.7)}, 0.21
    product = 1.0
    for _ in range(n):
        t = float(sympy.tanh(t))
        product *= 1 - t * t
    assert float(substitute(expanded, values)) == pytest.approx(2 * (t - 0.1) * product * 0.3, rel=1e-9)
    assert d.to_dict()["routes"] == 1
    return d


def test_a_500_step_chain_prints_in_every_form():
    """300 steps worked; from about 500, latex(), latex("chain"), .paths, .expanded and the
    report raised RecursionError."""
    net = chain_network(500)
    _every_form(net, 500)
    report = render_report(net, fmt="md", check_report=sg.check(net, seed=0))
    assert "OK" in report and report.count(r"\tanh") > 500


def test_symgrad_derive_of_a_500_step_chain(tmp_path, capsys):
    spec = tmp_path / "chain.toml"
    spec.write_text(f'[network]\nequations = """\n{tanh_chain(500)}\n"""\nparams = "w"\ninputs = "x"\ntargets = "y"\n')
    for form in ("chain", "expanded"):
        assert main(["derive", str(spec), "--form", form]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.count("tanh") >= 500


@pytest.mark.slow
def test_a_5000_step_chain_end_to_end():
    net = chain_network(5000)
    d = _every_form(net, 5000)
    assert d.text().startswith("∂L/∂w = ")


# --------------------------------------------------------------------------- the worker


def _nest(n):
    return 0 if n == 0 else 1 + _nest(n - 1)


def test_deep_finishes_a_walk_beyond_the_recursion_limit_and_restores_it():
    limit = sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        _nest(limit + 100)
    assert deep(_nest)(50_000) == 50_000
    assert sys.getrecursionlimit() == limit and threading.stack_size() == 0


def test_an_error_in_the_worker_reaches_the_caller_as_itself():
    def fail(n):
        if n == 0:
            raise sg.ShapeError("bottom", token="x")
        return fail(n - 1)

    with pytest.raises(sg.ShapeError, match="bottom"):
        deep(fail)(5000)


def test_running_out_of_even_the_big_stack_is_a_symgrad_error():
    with pytest.raises(sg.SymgradError, match="nested too deeply"):
        call_deep(_nest, 10**7)
