"""present/formula.py: formulas keep their structure, print as before, and break where a hand derivation would."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from test_properties import equation_networks, layered_networks

from conftest import SEED_SPECS, seed_network
from symgrad.present import formula
from symgrad.present.latex import derivation, derivative_layout, expr_latex, expr_layout


def _formulas(net):
    """Every formula a report prints for ``net``: (flat LaTeX expected, node)."""
    out = [(expr_latex(st.expr), expr_layout(st.expr)) for st in net.steps]
    for d in net.gradients():
        out.append((d.latex("factored"), derivative_layout(d, "factored")))
        if d.sweep.path_count(d.param) <= 8:
            out += [(None, row) for row in derivation(d).rows]
    return out


def _balanced(text: str) -> bool:
    return text.count(r"\left") == text.count(r"\right") and text.count("{") == text.count("}")


def _assert_breaks_well(node, limit):
    lines = formula.break_lines(node, limit)
    for line in lines:
        assert _balanced(line.latex), line.latex  # no \left on one line and \right on another
        assert line.width <= limit or len(lines) == 1 or not re.search(r" [+-] | \\cdot ", line.latex.lstrip("+-\\cdot ")), line
    # The lines, joined, are the formula: only the brackets cut across lines change.
    joined = " ".join(line.latex for line in lines)
    plain = re.sub(r"\\(left|right|Bigl|Bigr)\.?", "", formula.latex(node))
    assert re.sub(r"\\(left|right|Bigl|Bigr)\.?|\s", "", joined) == re.sub(r"\s", "", plain)


@pytest.mark.parametrize("name", SEED_SPECS)
def test_every_formula_of_the_examples_prints_as_before_and_breaks(name):
    for expected, node in _formulas(seed_network(name)):
        if expected is not None:
            assert formula.latex(node) == expected
        _assert_breaks_well(node, 30.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(equation_networks())
def test_random_networks_print_as_before(net):
    for expected, node in _formulas(net):
        if expected is not None:
            assert formula.latex(node) == expected
        _assert_breaks_well(node, 12.0)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(layered_networks())
def test_random_layered_networks_print_as_before(net):
    for expected, node in _formulas(net)[:40]:
        if expected is not None:
            assert formula.latex(node) == expected


def test_breaks_at_the_outermost_operator_first():
    a, b, c = formula.Atom("a_{1} a_{2} a_{3}"), formula.Atom("b"), formula.Atom("c")
    inner = formula.Group(formula.join("+", [a, b]))
    node = formula.join(r"\cdot", [inner, c])
    assert [line.latex for line in formula.break_lines(node, 6.0)] == [r"\left(a_{1} a_{2} a_{3} + b\right)", r"\cdot c"]
    # only when an item is too wide alone does a bracket split, with plain brackets on each side
    lines = formula.break_lines(node, 3.5)
    assert [line.latex for line in lines] == ["(a_{1} a_{2} a_{3}", "+ b)", r"\cdot c"]
    assert [line.continued for line in lines] == [False, True, True]


def test_seed_002_w1_factored_breaks_before_its_shared_tail():
    d = seed_network("datawhale").grad("w1")
    lines = formula.break_lines(derivative_layout(d), 36.0)
    assert len(lines) == 2 and lines[1].latex.startswith(r"\cdot g(u_{2})")


def test_widths_grow_with_the_printed_formula():
    assert formula.width("x") < formula.width("x_{1}") < formula.width(r"x_{1} + y") < formula.width(r"\left(x_{1} + y\right)^{2}")
    assert formula.width(r"\frac{a}{b}") < formula.width("ab")  # stacked, not side by side
    assert formula.width(r"\mathrm{Loss}") == pytest.approx(formula.width("Loss"))
