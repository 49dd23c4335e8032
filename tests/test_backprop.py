"""The numeric backprop: equal to sympy.diff on every seed network, and independent of the symbolic path."""

from __future__ import annotations

import ast
import contextlib
import inspect
import math
import random

import numba
import numpy as np
import pytest
import sympy

import symgrad as sg
import symgrad.crosscheck.backprop as bp
import symgrad.derive.sweep
from conftest import SEED_SPECS, evaluate, random_point, seed_network
from symgrad.crosscheck.backprop import (
    as_arrays,
    forward,
    numeric_backprop,
    numeric_backprop_batch,
    numeric_loss,
)
from symgrad.errors import ShapeError, SymgradError
from symgrad.model import functions as fn


def _values(net, point):
    return tuple(np.array([float(point[s]) for s in group]) for group in (net.params, net.inputs, net.targets))


def _sympy_truth(net, point):
    """Loss and gradient from sympy.diff of the loss in elementary functions, evaluated in 40 digits."""
    loss = fn.to_elementary(net.loss_expr)
    return float(evaluate(loss, point)), np.array([float(evaluate(sympy.diff(loss, p), point)) for p in net.params])


def _raiser(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"numeric backprop called {what}")

    return fail


def _function_classes():
    todo, seen = [sympy.Function], set()
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo.extend(cls.__subclasses__())
    return seen


@contextlib.contextmanager
def no_symbolic_derivatives():
    """Inside: every route to a symbolic or compiled derivative raises."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sympy.core.function.Derivative, "__new__", _raiser("sympy.Derivative"))
        mp.setattr(sympy.Expr, "diff", _raiser("Expr.diff"))
        mp.setattr(sympy, "diff", _raiser("sympy.diff"))
        mp.setattr(sympy, "lambdify", _raiser("lambdify"))
        for cls in _function_classes():  # sympy's and symgrad's derivative rules, aliases included
            if "fdiff" in vars(cls):
                mp.setattr(cls, "fdiff", _raiser(f"{cls.__name__}.fdiff"))
        for name in ("njit", "jit", "vectorize"):
            mp.setattr(numba, name, _raiser(f"numba.{name}"))
        mp.setattr(symgrad.derive.sweep, "reverse_sweep", _raiser("reverse_sweep"))
        mp.setattr(symgrad.derive.sweep, "local_partials", _raiser("local_partials"))
        for name in ("grad", "gradients", "compile"):
            mp.setattr(sg.Network, name, _raiser(f"Network.{name}"))
        yield


def test_the_guard_does_block_differentiation():
    x = sympy.Symbol("x")
    g = fn.resolve("g", "sigmoid")
    with no_symbolic_derivatives():
        for attempt in (lambda: sympy.diff(x**2, x), lambda: (x**3).diff(x), lambda: g(x).fdiff(), lambda: sympy.exp(x).fdiff(), lambda: numba.njit(len)):
            with pytest.raises(AssertionError, match="numeric backprop called"):
                attempt()


@pytest.mark.parametrize("seed", SEED_SPECS)
def test_equals_sympy_diff_on_every_seed_network(seed):
    net = seed_network(seed)
    net.steps  # expand layered networks before the guard goes up
    rng = random.Random(seed)
    for _ in range(2):
        point = random_point(net, rng)
        want_loss, want = _sympy_truth(net, point)
        methods = ["auto", "graph"] + (["layers"] if net.layers else [])
        for method in methods:
            with no_symbolic_derivatives():
                loss, g = numeric_backprop(net, *_values(net, point), method=method)
            assert loss == pytest.approx(want_loss, rel=1e-13, abs=1e-15)
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15, err_msg=f"{seed} ({method})")


def test_the_engine_names_no_symbolic_or_compiled_derivative():
    tree = ast.parse(inspect.getsource(bp))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not names & {"diff", "fdiff", "lambdify", "njit", "jit", "Derivative", "reverse_sweep", "local_partials", "compile", "gradients", "grad"}
    assert not imported & {"numba", "derive", "codegen", "pipeline", "straight_line", "tape", "gradfn", "sympy.utilities.lambdify"}


def test_seed_000_quadratic_gradient_steps():
    net = seed_network("quadratic")
    assert numeric_backprop(net, [1.0, 1.0]) == (5.0, pytest.approx([-4.0, -4.0]))
    loss, g = numeric_backprop(net, [1.04, 1.04])
    assert loss == pytest.approx(4.68025856, abs=1e-12)
    np.testing.assert_allclose(g, [-3.990272, -3.990272], rtol=1e-12)


FUNCTIONS = {
    "heaviside": lambda a, b: sympy.Heaviside(a - sympy.Rational(3, 10)) * b**2,
    "sign": lambda a, b: sympy.sign(b) * a,
    "max": lambda a, b: sympy.Max(a, b, sympy.Rational(1, 10)),
    "min": lambda a, b: sympy.Min(a * b, sympy.Rational(1, 5)),
    "trig": lambda a, b: sympy.sin(a) * sympy.cos(b),
    "logsumexp": lambda a, b: fn.logsumexp(a, b, a * b),
    "variable exponent": lambda a, b: (1 + a**2) ** b,
    "sqrt, log, exp": lambda a, b: sympy.sqrt(1 + a**2) + sympy.log(2 + b) + sympy.exp(a * b),
    "abs, tanh": lambda a, b: sympy.Abs(a - b) * sympy.tanh(a),
    "relu, softplus": lambda a, b: fn.relu(a + b) + fn.softplus(a - 2 * b),
    "aliases": lambda a, b: fn.resolve("g", "sigmoid")(a) * fn.resolve("act", "tanh")(b) + fn.resolve("mag", "abs")(a),
    "quotient": lambda a, b: a / (1 + b**2) - 3 / (2 + a),
}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_rule_against_sympy_diff(name):
    a, b = sympy.symbols("a b", real=True)
    net = sg.Network.from_expr(FUNCTIONS[name](a, b), params="a b")
    loss_expr = fn.to_elementary(net.loss_expr)
    for point in ({a: 0.7, b: -0.45}, {a: -0.2, b: 0.9}):
        # Small expressions: sympy evaluates them itself, in 40 digits (DiracDelta included).
        exact = {s: sympy.Float(v, 40) for s, v in point.items()}
        want_loss = float(loss_expr.xreplace(exact).evalf(40))
        want = [float(sympy.diff(loss_expr, s).xreplace(exact).evalf(40)) for s in (a, b)]
        with no_symbolic_derivatives():
            loss, g = numeric_backprop(net, [point[a], point[b]])
        assert loss == pytest.approx(want_loss, rel=1e-13)
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)


LAYERED = [
    dict(sizes=[3, 4, 2]),
    dict(sizes=[2, 3, 2], loss="mae"),
    dict(sizes=[2, 3, 3], activation=["relu", "softmax"], loss="cross_entropy"),
    dict(sizes=[2, 2, 2], activation=["softplus", "sigmoid"], loss="cross_entropy"),
    dict(sizes=[3, 2, 4], activation=["tanh", "identity"], loss="softmax_cross_entropy"),
    dict(sizes=[2, 3, 3], activation=["tanh", "softmax"], loss="mse"),
    dict(sizes=[2, 3, 1, 2], activation=["sigmoid", "identity", "tanh"], bias=False),
    dict(sizes=[1, 1]),
]


@pytest.mark.parametrize("spec", LAYERED, ids=lambda s: str(s))
def test_delta_recursion_equals_the_graph_engine(spec):
    net = sg.mlp(**spec)
    rng = np.random.default_rng(7)
    for _ in range(3):
        theta = rng.uniform(-1, 1, len(net.params))
        x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0, 1, len(net.targets))
        loss_l, g_l = numeric_backprop(net, theta, x, y, method="layers")
        loss_g, g_g = numeric_backprop(net, theta, x, y, method="graph")
        assert loss_l == pytest.approx(loss_g, rel=1e-13)
        np.testing.assert_allclose(g_l, g_g, rtol=1e-12, atol=1e-16)


def test_delta_recursion_is_the_seeds_matrix_formula():
    # Seed 003: ∇W⁽²⁾ = ((f(u⁽²⁾) − z) ⊙ f'(u⁽²⁾)) yᵀ, ∇W⁽¹⁾ = ((W⁽²⁾ᵀδ⁽²⁾) ⊙ f'(u⁽¹⁾)) xᵀ, written out here.
    net = sg.mlp([3, 4, 2])
    rng = np.random.default_rng(3)
    theta, x, z = rng.uniform(-1, 1, 26), rng.uniform(-1, 1, 3), rng.uniform(0, 1, 2)
    W1, b1, W2, b2 = theta[:12].reshape(4, 3), theta[12:16], theta[16:24].reshape(2, 4), theta[24:]
    s = lambda u: 1 / (1 + np.exp(-u))
    h = s(W1 @ x + b1)
    o = s(W2 @ h + b2)
    d2 = (o - z) * o * (1 - o)
    d1 = (W2.T @ d2) * h * (1 - h)
    want = np.concatenate([np.outer(d1, x).ravel(), d1, np.outer(d2, h).ravel(), d2])
    np.testing.assert_allclose(numeric_backprop(net, theta, x, z)[1], want, rtol=1e-13)


@pytest.mark.parametrize("spec", [dict(sizes=[3, 4, 2]), dict(sizes=[2, 3, 3], activation=["relu", "identity"], loss="softmax_cross_entropy")], ids=str)
def test_batch_is_the_mean_of_single_samples(spec):
    net = sg.mlp(**spec)
    rng = np.random.default_rng(11)
    theta = rng.uniform(-1, 1, len(net.params))
    X, Y = rng.uniform(-1, 1, (5, len(net.inputs))), rng.uniform(0, 1, (5, len(net.targets)))
    singles = [numeric_backprop(net, theta, x, y) for x, y in zip(X, Y)]
    for method in ("layers", "graph"):
        loss, g = numeric_backprop_batch(net, theta, X, Y, method=method)
        assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-13)
        np.testing.assert_allclose(g, np.mean([s[1] for s in singles], axis=0), rtol=1e-12, atol=1e-17)


def test_batch_of_an_equation_network():
    net = seed_network("datawhale")
    rng = np.random.default_rng(2)
    theta, X, Y = rng.uniform(-1, 1, 12), rng.uniform(-1, 1, (4, 3)), rng.uniform(0, 1, (4, 2))
    loss, g = numeric_backprop_batch(net, theta, X, Y)
    assert loss == pytest.approx(np.mean([numeric_loss(net, theta, x, y) for x, y in zip(X, Y)]))
    np.testing.assert_allclose(g, np.mean([numeric_backprop(net, theta, x, y)[1] for x, y in zip(X, Y)], axis=0), rtol=1e-13)


def test_nearest_kink():
    w, v = sympy.symbols("w v", real=True)
    net = sg.Network.from_expr(fn.relu(w - 1) + sympy.Abs(v + 2) + sympy.Max(w, 2 * v), params="w v")
    where, gap = forward(net, [1.25, -1.9]).nearest_kink
    assert where == "Abs(v + 2)" and gap == pytest.approx(0.1)
    assert forward(net, [1.25, 0.6]).nearest_kink == (str(sympy.Max(w, 2 * v)), pytest.approx(0.05))
    assert forward(sg.mlp([1, 2], activation="relu"), [2.0, 1.0, -0.5, 1.0], [0.3], [0.0, 0.0]).nearest_kink == ("relu(u1_1)", pytest.approx(0.1))
    assert forward(sg.mlp([1, 1], activation="sigmoid"), [2.0, -0.5], [0.3], [0.0]).kink_distance == math.inf
    assert forward(sg.mlp([1, 1], activation="identity", loss="mae"), [2.0, -0.5], [0.3], [0.2]).nearest_kink == ("abs(x1_1 - y1)", pytest.approx(0.1))


def test_relu_derivative_is_zero_at_zero_as_seed_002s_table():
    net = sg.Network.from_expr("relu(w)", params="w")
    assert numeric_backprop(net, [0.0])[1].tolist() == [0.0]
    assert numeric_backprop(net, [1e-300])[1].tolist() == [1.0]


def test_out_of_domain_is_nan_not_an_exception():
    assert math.isnan(numeric_loss(sg.Network.from_expr("log(w)", params="w"), [-1.0]))
    assert math.isnan(numeric_loss(sg.Network.from_expr("sqrt(w)", params="w"), [-1.0]))
    assert numeric_loss(sg.Network.from_expr("exp(w)", params="w"), [1000.0]) == math.inf
    loss, g = numeric_backprop(sg.Network.from_expr("sigmoid(w)", params="w"), [-800.0])
    assert loss == 0.0 and g[0] == 0.0  # the stable sigmoid neither overflows nor warns


def test_a_function_without_a_rule_is_a_symgrad_error():
    w = sympy.Symbol("w", real=True)
    with pytest.raises(SymgradError, match="no rule for gamma"):
        numeric_backprop(sg.Network.from_expr(sympy.gamma(w + 2), params="w"), [0.5])


def test_method_errors():
    with pytest.raises(SymgradError, match="needs a layered network"):
        numeric_backprop(seed_network("quadratic"), [1.0, 1.0], method="layers")
    with pytest.raises(SymgradError, match="method must be"):
        numeric_backprop(seed_network("quadratic"), [1.0, 1.0], method="fast")


# --------------------------------------------------------------------------- shapes


@pytest.fixture
def net002():
    return seed_network("datawhale")


@pytest.mark.parametrize(
    "args, match",
    [
        (dict(params=np.zeros(11), x=np.zeros(3), y=np.zeros(2)), r"params must have shape \(12,\) \(w1, w2, w3, w4, w5, w6, \.\.\.\), got shape \(11,\)"),
        (dict(params=np.zeros((12, 1)), x=np.zeros(3), y=np.zeros(2)), r"params must have shape \(12,\).*got shape \(12, 1\)"),
        (dict(params=np.zeros(12), x=None, y=np.zeros(2)), r"x is missing: network 'datawhale' has 3 inputs \(i1, i2, i3\)"),
        (dict(params=np.zeros(12), x=np.zeros(2), y=np.zeros(2)), r"x must have shape \(3,\) \(i1, i2, i3\), got shape \(2,\)"),
        (dict(params=np.zeros(12), x=np.zeros(3), y=np.zeros(3)), r"y must have shape \(2,\) \(f1, f2\), got shape \(3,\)"),
        (dict(params=np.zeros(12), x=np.zeros(3)), r"y is missing.*2 targets \(f1, f2\)"),
    ],
)
def test_wrong_shapes_name_the_argument_and_the_shape(net002, args, match):
    with pytest.raises(ShapeError, match=match):
        numeric_backprop(net002, **args)


def test_wrong_batch_shapes(net002):
    theta = np.zeros(12)
    with pytest.raises(ShapeError, match=r"X must have shape \(n, 3\) \(i1, i2, i3\), got shape \(4, 2\)"):
        numeric_backprop_batch(net002, theta, np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"X must have shape \(n, 3\).*got shape \(3,\)"):
        numeric_backprop_batch(net002, theta, np.zeros(3), np.zeros((1, 2)))
    with pytest.raises(ShapeError, match="X has 4 rows but Y has 5"):
        numeric_backprop_batch(net002, theta, np.zeros((4, 3)), np.zeros((5, 2)))
    with pytest.raises(ShapeError, match="batch mode needs rows"):
        numeric_backprop_batch(seed_network("quadratic"), [1.0, 1.0])


def test_non_numbers_and_extra_inputs(net002):
    with pytest.raises(SymgradError, match="params must be numbers"):
        numeric_backprop(net002, ["a"] * 12, np.zeros(3), np.zeros(2))
    with pytest.raises(ShapeError, match=r"x must have shape \(0,\) \(no inputs\), got shape \(1,\)"):
        numeric_backprop(seed_network("quadratic"), [1.0, 1.0], [3.0])


def test_as_arrays_converts_lists_to_float64(net002):
    theta, x, y = as_arrays(net002, list(range(12)), [1, 2, 3], (0, 1))
    assert theta.dtype == x.dtype == y.dtype == np.float64 and x.tolist() == [1.0, 2.0, 3.0]
