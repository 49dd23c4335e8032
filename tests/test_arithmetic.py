"""The arithmetic reader: the same expressions Python's evaluation (sympy's parse_expr) built,
in linear time, without recursion, and with bounded numbers."""

from __future__ import annotations

import warnings

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

import symgrad as sg
from conftest import time_limit
from symgrad.errors import LossError, ParseError
from symgrad.model.arithmetic import MAX_DIGITS, MAX_NESTING, _Product
from symgrad.model.equations import function_table, parse_expression
from symgrad.model.names import real_symbol

NAMES = {n: real_symbol(n) for n in ("x", "y", "z", "w")}
FUNCTIONS = function_table({"g": "sigmoid"})
_SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))


def python_reading(text: str):
    """What the text meant before: Python's evaluation through sympy's parse_expr, decimals exact."""
    namespace = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "__builtins__": {}}
    return parse_expr(text, local_dict={**NAMES, **FUNCTIONS}, global_dict=namespace, transformations=(auto_number, rationalize, convert_xor))


def read(text: str):
    return parse_expression(text, NAMES, FUNCTIONS, where="t")


# --------------------------------------------------------------------------- the same expressions

_ATOMS = st.sampled_from(["x", "y", "z", "w", "0", "1", "2", "3", "0.5", "1.25", "10", "1e3", "2.5e-2", "0x1f"])


def _grow(children):
    chain = st.builds(
        lambda parts, ops: parts[0] + "".join(o + p for o, p in zip(ops, parts[1:])),
        st.lists(children, min_size=2, max_size=12),
        st.lists(st.sampled_from(["*", "/", "+", "-", " * ", " - "]), min_size=11, max_size=11),
    )
    return st.one_of(
        st.builds(lambda a, o, b: f"{a}{o}{b}", children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children),
        st.builds(lambda a: f"({a})", children),
        st.builds(lambda s, a: f"{s}{a}", st.sampled_from(["-", "+", "--"]), children),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["sigmoid", "tanh", "exp", "log", "sqrt", "abs", "relu", "g", "softplus"]), children),
        chain,
    )


_TEXTS = st.recursive(_ATOMS, _grow, max_leaves=20)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@settings(max_examples=300, **_SETTINGS)
@given(_TEXTS)
def test_reads_what_python_read(text):
    """Equal expressions, structurally (srepr): printing, hashing and code generation see no change."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with time_limit(2):
                before = python_reading(text)
        except TimeoutError:  # a number sympy never finishes computing: the new reader refuses it
            with time_limit(2):
                with pytest.raises(ParseError, match="too large"):
                    read(text)
            return
        except Exception:  # noqa: BLE001 - a text Python could not evaluate (1/0 is zoo, not an error)
            before = None
        if before is None or (isinstance(before, sympy.Basic) and before.has(sympy.zoo, sympy.nan, sympy.oo)):
            with pytest.raises(sg.SymgradError):
                read(text)
            return
        try:
            after = read(text)
        except ParseError as exc:
            # Refused where Python went on: a number over MAX_DIGITS digits that sympy could
            # still compute, an infinity on the way (x/log(0) was x/zoo = 0), or a constant
            # that makes no real function (0**x, log(-1)).
            reasons = ("too large", "not a finite", "divides by zero", "variable power", "not real", "nested")
            assert any(reason in str(exc) for reason in reasons), exc
            return
    assert sympy.srepr(after) == sympy.srepr(before)


_FACTORS = [
    "x", "y", "z", "w", "x**2", "1/x", "x**y", "x**(2*y)", "exp(x)", "exp(2*x)", "exp(y)", "2", "3", "1/2", "-1",
    "(x + 1)", "(x + 1)**2", "sqrt(x)", "sqrt(2)", "tanh(y)", "abs(z)", "(y - x)", "2*x", "-y", "x*y",
    "exp(1)", "exp(1)*exp(x)", "2**x", "3**x", "(1 - tanh(x)**2)", "1/(x + 1)",
]


@settings(max_examples=400, **_SETTINGS)
@given(st.lists(st.tuples(st.sampled_from(["*", "/"]), st.sampled_from(_FACTORS)), min_size=1, max_size=40), st.sampled_from(_FACTORS))
def test_a_gathered_product_is_pythons_left_fold(chain, first):
    """The linear-time product equals ``f1 * f2 / f3 …`` evaluated pair by pair, factor repeats,
    cancellations, numbers and all."""
    value = {f: read(f) for f in _FACTORS}
    expected = value[first]
    product = _Product(value[first])
    for op, f in chain:
        expected = expected * value[f] if op == "*" else expected / value[f]
        product.times(value[f] if op == "*" else sympy.Pow(value[f], -1))
    assert sympy.srepr(product.result()) == sympy.srepr(expected)


@pytest.mark.parametrize(
    "text",
    ["-x**2", "2**-1", "2**-x**2", "x**y**z", "-2**2", "x^2^y", "--x", "+-+x", "(x)", "((x + y))*z", "x/y/z", "x - (y - z)",
     "sigmoid(x)**2", "1_000*x", "0.1 + 0.2", "1e-3*x", "2*(x + y)", "(x + y)*2*z", "sigmoid(x,)", "0o17 + 0b11"],
)
def test_precedence_and_literals_as_python(text):
    assert sympy.srepr(read(text)) == sympy.srepr(python_reading(text))


# --------------------------------------------------------------------------- linear, no recursion


def _add_work(text: str, names) -> int:
    flatten = sympy.Add.flatten.__func__
    work = [0]

    def counted(cls, seq):
        work[0] += len(seq)
        return flatten(cls, seq)

    sympy.core.cache.clear_cache()
    sympy.Add.flatten = classmethod(counted)
    try:
        parse_expression(text, names, FUNCTIONS, where="t")
    finally:
        sympy.Add.flatten = classmethod(flatten)
    return work[0]


def test_long_sums_and_deep_brackets_parse_in_linear_time():
    names = {f"w{i}": real_symbol(f"w{i}") for i in range(3000)} | {"x": real_symbol("x")}
    text = " + ".join(f"w{i}*x" for i in range(3000))
    expr = parse_expression(text, names, FUNCTIONS, where="t")
    assert len(expr.args) == 3000
    # Work counted, not timed: the terms sympy's Add flattens, summed over every Add built.
    # One Add of all the terms is linear; folding them in one at a time (a + b, then + c, …)
    # flattens 1 + 2 + … + n terms, quadratic, as parse_expr's recursion did.
    assert _add_work(" + ".join(f"w{i}*x" for i in range(750)), names) == 750
    assert _add_work(text, names) == 3000
    assert read("-" * 5000 + "x") == NAMES["x"]
    assert read("(" * 5000 + "x" + ")" * 5000) == NAMES["x"]
    assert read("*".join(["x"] * 3000)) == NAMES["x"] ** 3000


def test_a_long_product_is_one_sorted_mul():
    names = {f"w{i}": real_symbol(f"w{i}") for i in range(3000)}
    expr = parse_expression("*".join(f"w{i}" for i in range(3000)), names, FUNCTIONS, where="t")
    assert expr == sympy.Mul(*names.values())


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text, token",
    [
        ("10**10**10*x", "10**10**10"),
        ("(2*x)**10**9", "(2*x)**10**9"),
        ("sqrt(2)**(10**9)", "sqrt(2)**(10**9)"),
        ("1e10000000000*x", "1e10000000000"),
        ("1" * 5000, "1" * 5000),
        ("0." + "0" * 5000 + "1", "0." + "0" * 5000 + "1"),
        ("((2**64)**64)**64", "((2**64)**64)**64"),
    ],
)
def test_numbers_too_large_are_refused_before_sympy_computes_them(text, token):
    with time_limit(5):
        with pytest.raises(ParseError, match="too large") as info:
            read(text)
    assert info.value.token == token and str(MAX_DIGITS) in str(info.value)


def test_a_large_but_printable_number_is_kept():
    assert read("1e400*x") == sympy.Integer(10) ** 400 * NAMES["x"]
    assert read("(2*x)**1100") == sympy.Integer(2) ** 1100 * NAMES["x"] ** 1100


@pytest.mark.parametrize(
    "text, error, token, message",
    [
        ("sqrt(x, y)", ParseError, "sqrt", r"sqrt\(\) takes one argument, got 2 in 'sqrt\(x, y\)'"),
        ("log(x, y)", ParseError, "log", r"log\(x\)/log\(b\)"),
        ("sigmoid()", ParseError, "sigmoid", "got none"),
        ("x/0", ParseError, "x/0", "divides by zero"),
        ("x*log(0)", ParseError, "log(0)", "not a finite number"),
        ("x*(y - y)**-1", ParseError, "(y - y)**-1", "divides by zero"),
        ("x, y", LossError, "x, y", "not a scalar"),
        ("(x, y)", LossError, "(x, y)", "not a scalar"),
        ("x y", ParseError, "x y", "'y' follows 'x' with no operator between"),
        ("x +* 2", ParseError, "x +* 2", r"syntax error in 'x \+\* 2': '\*' where a number"),
        ("x +", ParseError, "x +", "ends where"),
        ("()", ParseError, "()", "syntax error"),
    ],
)
def test_bad_arithmetic_names_the_call_or_token(text, error, token, message):
    with pytest.raises(error, match=message) as info:
        read(text)
    assert info.value.token == token


@pytest.mark.parametrize("text", ["tanh(" * 120 + "x" + ")" * 120, "(" * 60 + "x" + "*x+1)" * 60, "exp(-" * 60 + "x" + ")" * 60])
def test_an_expression_nested_too_deep_asks_for_a_step(text):
    """Such a text parses, but sympy's recursive walks (derivation, printing, code) fail on it."""
    with pytest.raises(ParseError, match=rf"nested \d+ deep, more than the {MAX_NESTING} levels.*as a step of its own") as info:
        read(text)
    assert info.value.token == text


def test_depth_counts_the_expression_not_the_brackets():
    assert read("-" * 5001 + "(" * 3000 + "x" + ")" * 3000) == -NAMES["x"]
    assert read("(" * 40 + "x" + "*x+1)" * 40).count_ops() > 0  # 80 deep: allowed


@pytest.mark.parametrize("text, token, message", [
    ("0**x", "0**x", "raises 0 to a variable power"),
    ("(-2)**x", "(-2)**x", "raises -2 to a variable power"),
    ("x*log(-1)", "x*log(-1)", "is not real"),
    ("sqrt(-4)*x", "sqrt(-4)*x", "is not real"),
])
def test_constants_that_make_no_real_function(text, token, message):
    """0**sigmoid(w) derived to NaN (log 0), (-2)**w and log(-1) to complex numbers."""
    with pytest.raises(ParseError, match=message) as info:
        read(text)
    assert info.value.token == token


@pytest.mark.slow
def test_a_sum_of_100000_terms():
    names = {f"w{i}": real_symbol(f"w{i}") for i in range(100_000)} | {"x": real_symbol("x")}
    expr = parse_expression(" + ".join(f"w{i}*x" for i in range(100_000)), names, FUNCTIONS, where="t")
    assert len(expr.args) == 100_000
