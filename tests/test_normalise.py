"""The display normalisation (symgrad/present/normalise.py): its rules one by one, and a
property test over random networks that every printed form of a derivative is clean,
equal to sympy.diff of the fully substituted loss, and read back by the verifier.

The property test's examples follow the hypothesis profile of tests/test_properties.py
(``SYMGRAD_HYPOTHESIS_PROFILE``), scaled down: reading a form back costs a verdict.
"""

from __future__ import annotations

import random
import re
import warnings

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import implicit_multiplication, parse_expr, standard_transformations
from test_properties import PROFILE, equation_networks, layered_networks

import symgrad as sg
from conftest import evaluate, random_point
from symgrad.model import functions as fn
from symgrad.present import formula
from symgrad.present.latex import LATEX, chain_rows, derivation, derivative_layout
from symgrad.present.normalise import Notation, Product, Shown, Sum, bracket_depth, render, tidy, to_expr
from symgrad.present.text import TEXT

x, y, t, o, e, b = sympy.symbols("x y t o e b", real=True)
PLAIN = Notation(str)


def shown(node) -> str:
    return render(tidy(node), PLAIN)


# --------------------------------------------------------------------------- the rules


def test_numbers_of_a_product_fold_into_one_coefficient():
    assert shown(Product((2, 2, e))) == "4*e"
    assert shown(Product((-1, 4, 3, b))) == "-12*b"
    assert shown(Product((sympy.Rational(1, 2), 2 * e, 2))) == "2*e"


def test_unit_factors_go_and_an_empty_product_is_one():
    assert shown(Product((1, x, 1))) == "x"
    assert shown(Product((1,))) == "1"
    assert shown(Sum(())) == "0"


def test_a_plus_minus_b_is_a_minus_b_and_the_sign_goes_in_front():
    assert shown(Sum((Product((x,)), Product((-1, y))))) == "x - y"
    assert shown(Product((x, -2, y))) == "-2*x * y"
    assert render(tidy(Sum((Product((x,)), Product((-1, y))))), LATEX) == "x - y"


def test_a_difference_turns_round_to_absorb_a_minus():
    assert shown(Product((-1, t - o, x))) == "(o - t) * x"
    assert shown(Product((-(t - o), x))) == "(o - t) * x"
    # (1 − σ) is a derivative's factor and stays as written; the product keeps its minus.
    s = fn.sigmoid(x)
    assert shown(Product((-1, s * (1 - s)))) == "-(1 - sigmoid(x))*sigmoid(x)"
    # Turning (a + b − t) round would add a minus: it stays.
    assert shown(Product((-1, x + y - t))) == "-(-t + x + y)"


def test_a_bracket_every_term_shares_is_written_once():
    shared = Sum((Product((sympy.Rational(1, 2),)), Product((-10 / x**2,))))
    tree = Sum((Product((shared, 2 * e, 2, 2)), Product((shared, 2 * e, -1, 4, 3, b)), Product((shared, 2 * e, -1))))
    assert render(tidy(tree), TEXT) == "[1/2 − 10/x²] · 2 e · [4 − 12 b − 1]"
    # behind the bracket as well: [A + B]·g(u)(1 − g(u))·i1
    tail = Sum((Product((x, 3, y)), Product((t, y))))
    assert shown(tail) == "[3*x + t] * y"


def test_a_sum_of_numbers_is_a_number_and_a_sum_of_negatives_is_negated():
    assert shown(Sum((Product((x, 2)), Product((x, 3))))) == "5*x"
    assert shown(Sum((Product((-1, x)), Product((-1, y))))) == "-[x + y]"


def test_tidying_keeps_the_value():
    shared = Sum((Product((sympy.Rational(1, 2),)), Product((-10 / x**2,))))
    tree = Sum((Product((shared, 2 * e, 2, 2)), Product((shared, 2 * e, -1, 4, 3, b)), Product((-(t - o), x))))
    assert sympy.expand(to_expr(tidy(tree)) - to_expr(tree)) == 0


def test_bracket_depth_counts_nested_route_brackets():
    inner = Sum((Product((x,)), Product((y,))))
    assert bracket_depth(tidy(Product((x,)))) == 0
    assert bracket_depth(Product((Sum((Product((inner, t)), Product((o,)))), x))) == 2


def test_shown_leaves_print_as_given_in_each_notation():
    delta = Shown(r"\delta_{u}", "δ_u")
    assert render(tidy(Product((2, delta, x))), LATEX) == r"\delta_{u} \cdot 2 x"
    assert render(tidy(Product((2, delta, x))), TEXT) == "δ_u · 2 x"


def test_the_text_printer_keeps_a_negated_sum_in_brackets():
    from symgrad.present.text import expr_text

    assert expr_text(sympy.Mul(-1, t - o, evaluate=False)) == "−(t − o)"


# --------------------------------------------------------------------------- every printed form, on random networks

_NUMBER = r"(?:\d+(?:\.\d+)?|\\frac\{\d+\}\{\d+\})"
_LATEX_ADJACENT = re.compile(rf"(?<![\w}}^_]){_NUMBER} (?:\\cdot )?-? ?{_NUMBER}(?![\w{{])")
_TEXT_ADJACENT = re.compile(r"(?<![\w/^])\d+(?:/\d+)? (?:· )?−? ?\d+(?![\w/])")


def _clean_latex(text: str) -> None:
    for bad in (r"1 \cdot", "+ -", r"\cdot -"):
        assert bad not in text, f"{bad!r} in {text}"
    assert not _LATEX_ADJACENT.search(text), text


def _clean_text(text: str) -> None:
    for bad in ("+ −", "· −"):
        assert bad not in text, f"{bad!r} in {text}"
    assert not re.search(r"(?<![\w.])1 ·", text), text  # a unit factor (names such as W2_1_1 end in digits)
    assert not _TEXT_ADJACENT.search(text), text


_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def read_text(net: sg.Network, text: str, defined: dict) -> sympy.Expr:
    """A test's reading of one printed line of text (the right side) into sympy."""
    body = text.replace("−", "-").replace("·", "*").replace("[", "(").replace("]", ")").replace("√", "sqrt").replace("^", "**")
    body = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", lambda m: "**" + m.group(1).translate(_SUPERSCRIPT), body)
    body = re.sub(r"\|([^|]*)\|", r"Abs(\1)", body)
    names = {s.name: s for s in net.params + net.inputs + net.targets + tuple(st.target for st in net.steps)}
    functions = {type(f).__name__: type(f) for st in net.steps for f in st.expr.atoms(sympy.Function)}
    functions.update({"σ": fn.sigmoid, "step": sympy.Heaviside, "sign": sympy.sign, "Max": sympy.Max, "logsumexp": fn.logsumexp})
    for name, value in sorted(defined.items(), key=lambda kv: -len(kv[0])):  # δ_u1 before δ_u
        body = body.replace(name, f"({value})")
    body = body.replace("σ(", "sigmoid(")
    functions["sigmoid"] = fn.sigmoid
    return parse_expr(body, local_dict={**names, **functions}, transformations=standard_transformations + (implicit_multiplication,))


def _rhs(line: str) -> tuple[str, str]:
    lhs, _, rhs = line.partition(" = ")
    return lhs, rhs


def _text_value(net, d, form) -> sympy.Expr:
    """The value of ``d.text(form)``: δ lines substituted into the first line."""
    lines = [line for line in d.text(form).splitlines() if not line.startswith("(")]
    defined: dict[str, str] = {}
    for line in reversed(lines[1:]):  # a δ is defined from the ones below the loss end: read upwards
        lhs, rhs = _rhs(line)
        defined[lhs] = str(read_text(net, rhs, defined))
    return read_text(net, _rhs(lines[0])[1], defined)


def _forms(d) -> list[str]:
    return ["factored", "delta"] + (["chain"] if d.sweep.path_count(d.param) <= 8 else [])


def _check_printed_forms(net: sg.Network, seed: int) -> None:
    """Every printed form of one random parameter's derivative is clean, and the text forms equal sympy.diff."""
    rng = random.Random(seed)
    p = rng.choice(net.params)
    d = net.grad(p)
    for form in _forms(d):
        _clean_latex(d.latex(form))
    # the breakable formula a report lays out prints exactly as the LaTeX
    assert formula.latex(derivative_layout(d, "factored")) == d.latex("factored")
    assert [formula.latex(r) for r in derivation(d).rows] == chain_rows(d)
    truth = sympy.diff(net.substituted[net.loss], p)
    point = random_point(net, rng)
    expected = evaluate(truth, point)
    for form in ("factored",) + (("delta",) if net.layers is None else ()):
        text = d.text(form)
        _clean_text(text)
        value = evaluate(_text_value(net, d, form).xreplace(net.substituted), point)
        assert abs(value - expected) <= 1e-20 * max(1, abs(expected)), f"{form}: {text}"


def _check_read_back(net: sg.Network, seed: int) -> None:
    """Every printed LaTeX form of one random parameter's derivative reads back through verify and holds."""
    p = random.Random(seed).choice(net.params)
    d = net.grad(p)
    for form in _forms(d):
        text = d.latex(form)
        v = sg.verify(net, p.name, text)
        assert v.ok, f"{form} of {p.name} does not read back:\n{text}\n{v.diagnosis}"


# Cheap checks on many networks; reading back costs a verdict per form, so on fewer.
MANY = settings(PROFILE, max_examples=max(5, PROFILE.max_examples // 4))
FEW = settings(PROFILE, max_examples=max(3, PROFILE.max_examples // 25))


@MANY
@given(st.one_of(equation_networks(), layered_networks()), st.integers(0, 2**32 - 1))
def test_printed_forms_of_random_networks_are_clean_and_equal_sympy_diff(net, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _check_printed_forms(net, seed)


@FEW
@given(st.one_of(equation_networks(), layered_networks()), st.integers(0, 2**32 - 1))
def test_printed_forms_of_random_networks_read_back(net, seed):
    _check_read_back(net, seed)


@pytest.mark.parametrize("sizes", [[2, 2, 2], [3, 4, 3, 2]])
def test_printed_forms_of_layered_examples(sizes):
    net = sg.mlp(sizes, activation="tanh")
    for seed in range(3):
        _check_printed_forms(net, seed)
        _check_read_back(net, seed)
