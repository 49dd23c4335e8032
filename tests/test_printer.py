"""The nopython-safe sympy printer (symgrad.compile.printer)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

import symgrad as sg
from symgrad.compile.printer import Identifiers, NumbaPrinter
from symgrad.errors import SymgradError
from symgrad.model.functions import logsumexp, relu, resolve, sigmoid, softplus

a, b, c = sympy.symbols("a b c", real=True)
NAMES = {a: "a", b: "b", c: "c"}
POINT = {"a": 0.7, "b": -1.3, "c": 2.2}


def run(expr, dtype="float64", point=POINT):
    code = NumbaPrinter(NAMES, dtype).code(expr)
    scalar = np.float64 if dtype == "float64" else np.float32
    return eval(code, {"np": np}, {k: scalar(v) for k, v in point.items()}), code


@pytest.mark.parametrize(
    "expr",
    [
        a + b - 3 * c,
        -a * b / (c * (a - b)),
        a / b / c,
        (a + b) ** 2,
        a ** 3 - a**2 * b,
        1 / a**2,
        (a + c) ** -3,
        sympy.Rational(1, 3) * a - sympy.Rational(2, 7),
        sympy.sqrt(c) + 1 / sympy.sqrt(c),
        c**sympy.Rational(3, 2),
        c**a,
        2**a,
        (-a) ** 3,
        sympy.exp(-a * b) + sympy.log(c) - sympy.tanh(b),
        sympy.Abs(b) + sympy.sign(b) + sympy.Max(a, b, 0) - sympy.Min(a, c),
        sympy.sin(a) * sympy.cos(b) + sympy.atan(c),
        sympy.Piecewise((a, b > 0), (c, a > 1), (a * b, True)),
        sympy.pi * a + sympy.E,
        sympy.Float("0.1") * a,
        a + sympy.S.Half,
        sympy.S.Half * (a - 1) ** -1,
        -(a - b),
    ],
    ids=str,
)
def test_printed_code_evaluates_to_the_expression(expr):
    value, code = run(expr)
    exact = float(expr.subs({a: POINT["a"], b: POINT["b"], c: POINT["c"]}).evalf(30))
    assert math.isclose(value, exact, rel_tol=1e-14, abs_tol=1e-15), code


def test_piecewise_without_default_is_nan_not_none():
    value, code = run(sympy.Piecewise((a, b > 0)))
    assert math.isnan(value) and "None" not in code


@pytest.mark.parametrize(
    "expr",
    [a * b / 3 + 1, (a + b) ** 2 / c, sympy.exp(-a) * sympy.Rational(1, 2), 1 / a**2 - sympy.sqrt(c) * 2, a**7],
    ids=str,
)
def test_float32_code_stays_float32(expr):
    value, code = run(expr, "float32")
    assert isinstance(value, np.float32), code
    exact = float(expr.subs({a: POINT["a"], b: POINT["b"], c: POINT["c"]}))
    assert math.isclose(value, exact, rel_tol=1e-5), code


def test_numbers_are_float_literals_of_the_dtype():
    assert NumbaPrinter({}).code(sympy.Integer(3)) == "3.0"
    assert NumbaPrinter({}).code(sympy.S.Half) == "0.5"
    assert NumbaPrinter(NAMES).code(sympy.Heaviside(a)) == "_heaviside(a, 0.5)"
    assert NumbaPrinter({}).code(sympy.Rational(1, 4)) == "0.25"
    assert NumbaPrinter({}, "float32").code(sympy.Integer(-3)) == "-np.float32(3.0)"
    assert NumbaPrinter({}).code(sympy.oo) == "np.inf"


def test_integer_powers_of_symbols_are_products():
    assert NumbaPrinter(NAMES).code(a**2 * b) == "a*a*b"
    assert NumbaPrinter(NAMES).code(b / a**2) == "b/(a*a)"
    assert NumbaPrinter(NAMES).code((a + b) ** 2) == "(a + b)**2"


def test_activations_print_as_stable_helpers():
    g = resolve("g", "sigmoid")
    printer = NumbaPrinter(NAMES)
    code = printer.code(g(a) + sigmoid(b) + softplus(c) + relu(a) + sympy.Heaviside(b, 0) + logsumexp(a, b, c))
    assert "_sigmoid(a)" in code and "_sigmoid(b)" in code
    assert "_softplus(c)" in code and "_relu(a)" in code and "_heaviside(b, 0.0)" in code
    assert "_logsumexp3(a, b, c)" in code
    assert printer.helpers == {"_sigmoid", "_softplus", "_relu", "_heaviside"}
    assert printer.logsumexp_arities == {3}


def test_math_functions_are_numpy_calls():
    # np.exp gives inf where math.exp raises, in plain Python as in numba.
    code = NumbaPrinter(NAMES).code(sympy.exp(a) + sympy.log(b) + sympy.sqrt(c))
    assert "math." not in code and "np.exp(a)" in code and "np.log(b)" in code


@pytest.mark.parametrize(
    "expr, token",
    [
        (sympy.gamma(a), "gamma"),
        (sympy.Function("mystery")(a), "mystery"),
        (a + sympy.I, "I"),
        (sympy.Integral(a, b), "Integral"),
        (sympy.zoo * a, "zoo"),
    ],
    ids=["gamma", "undefined", "complex", "integral", "zoo"],
)
def test_unsupported_expressions_raise_symgrad_error(expr, token):
    with pytest.raises(SymgradError) as info:
        NumbaPrinter(NAMES).code(expr)
    assert token in str(info.value)


def test_a_symbol_without_a_name_is_an_error():
    with pytest.raises(SymgradError, match="d"):
        NumbaPrinter(NAMES).code(a + sympy.Symbol("d"))


def test_unknown_dtype_is_an_error():
    with pytest.raises(SymgradError, match="float16"):
        NumbaPrinter(NAMES, "float16")


def test_sums_read_positive_terms_first():
    assert NumbaPrinter(NAMES).code(-a + b) == "b - a"


def test_identifiers_avoid_python_and_template_names():
    ids = Identifiers()
    names = [ids.take(n) for n in ["x", "g", "np", "max", "for", "_t0", "2x", "a-b", "x"]]
    assert names == ["x_", "g_", "np_", "max_", "for_", "v_t0", "v2x", "a_b", "x__2"]
    assert len(set(names)) == len(names)
    assert ids.fresh("_t") == "_t0" and ids.fresh("_t") == "_t1"
    scope = ids.copy()
    assert scope.take("x") == "x__3" and ids.take("y") == "y_"


# --------------------------------------------------------------------------- literals beyond float range


@pytest.mark.parametrize("text, shown", [("L = 1e400*w1", "1.000e+400"), ("L = (2*w1)**1100", "1.358e+331")])
def test_a_literal_beyond_float64_is_an_error_naming_it(text, shown, tmp_path):
    net = sg.Network.from_equations(text, params="w1")
    with pytest.raises(SymgradError, match="beyond float64's range") as info:
        net.compile(jit=False, cache_dir=tmp_path)
    assert info.value.token == shown


def test_a_literal_beyond_float32_is_an_error_only_in_float32(tmp_path):
    net = sg.Network.from_equations("L = 1e39*w1", params="w1")
    assert net.compile(jit=False, cache_dir=tmp_path)([2.0])[0] == 2e39
    with pytest.raises(SymgradError, match="beyond float32's range"):
        net.compile(jit=False, cache_dir=tmp_path, dtype=np.float32)


def test_infinity_itself_is_still_printed_as_inf():
    assert NumbaPrinter({}).literal(float("inf")) == "np.inf"
    assert NumbaPrinter({}).literal(sympy.oo) == "np.inf" and NumbaPrinter({}).literal(-sympy.oo) == "-np.inf"
