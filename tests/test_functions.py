"""The activation table: textbook derivatives, aliases, elementary forms."""

from __future__ import annotations

import mpmath
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


ROWS = sorted(fn.FUNCTIONS)


@pytest.mark.parametrize("name", ROWS)
def test_every_row_computes_the_same_function_in_every_stage(name):
    """sympy (the derivation), mpmath (the verifier), plain floats and arrays (the numeric
    backprop): one value, and the hand-written slopes equal sympy's derivative."""
    row = fn.FUNCTIONS[name]
    checked = 0
    for x in (0.3, -0.45, 0.8, 1.7, 2.2):
        symbolic = fn.resolve("h", name)(sympy.Float(x)) if row.alias_base is not None else row.builtin(sympy.Float(x))
        if not sympy.N(symbolic, 30).is_real:
            continue  # outside the domain (log of a negative, acosh below 1)
        checked += 1
        truth = float(sympy.N(symbolic, 30))
        constants = fn.parameters_of(fn.resolve("h", name) if row.alias_base is not None else row.builtin)
        floats = {k: float(v) for k, v in constants.items()}
        assert float(row.mpmath(mpmath.mpf(x), **constants)) == pytest.approx(truth, rel=1e-13, abs=1e-15)
        value, (slope, *_) = row.numeric.rule(x, **floats)
        assert value == pytest.approx(truth, rel=1e-13, abs=1e-15)
        xs = sympy.Symbol("xs", real=True)
        f = fn.resolve("h", name)(xs) if row.alias_base is not None else row.builtin(xs)
        derivative = float(sympy.N(f.diff(xs).subs(xs, sympy.Float(x)), 30))
        assert slope == pytest.approx(derivative, rel=1e-12, abs=1e-15), name
        if row.numeric.array_value is not None:
            U = np.array([x])
            A = row.numeric.array_value(U, **floats)
            assert A[0] == pytest.approx(truth, rel=1e-13, abs=1e-15)
            assert row.numeric.array_slope(U, A, **floats)[0] == pytest.approx(derivative, rel=1e-12, abs=1e-15)
    assert checked >= 2
    assert fn.sigmoid(0) == sympy.S.Half and fn.relu(-2) == 0


def test_every_activation_has_array_code_and_a_row_is_one_place():
    for name in fn.ACTIVATION_NAMES:
        if name == "softmax" or fn.FUNCTIONS[name].definition is not None:  # the vector activation; a user's function
            continue
        code = fn.FUNCTIONS[name].code
        assert code.array and code.array_slope, name
        assert set(code.helpers) | set(code.array_helpers) <= set(fn.HELPERS)
    built_in = tuple(name for name in fn.FUNCTION_NAMES if fn.FUNCTIONS[name].definition is None)  # not a test's own
    assert built_in == (
        "sigmoid", "tanh", "relu", "softplus", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "softsign",
        "exp", "log", "abs", "sqrt", "sin", "cos",
    )


def test_sigmoid_numeric_forms_do_not_overflow():
    with np.errstate(all="raise"):
        assert fn.FUNCTIONS["sigmoid"].numeric.array_value(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]
    assert fn.FUNCTIONS["sigmoid"].numeric.value(-800.0) == 0.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_compiled_array_sigmoid_is_exact_to_three_units_in_the_last_place(dtype):
    # The layered kernels' sigmoid computes e^-|u| itself (vectorised loops, not the C
    # library's exp): against mpmath over the whole range, the subnormal tail, the
    # infinities and NaN, in blocks that do not divide the array. Its e^-|u| is within one
    # unit of exact; the quotient e/(1 + e) adds up to two more, as in NumPy's own form.
    numba = pytest.importorskip("numba")
    from symgrad.compile.printer import NumbaPrinter, helper_sources

    namespace = {"np": np, "_JIT": True, "_jit": numba.njit(nogil=True, error_model="numpy")}
    exec("\n\n".join(helper_sources({"_sigmoid_array"}, NumbaPrinter({}, dtype).literal)), namespace)
    sigmoid_array = namespace["_sigmoid_array"]
    rng = np.random.default_rng(7)
    U = np.concatenate([
        rng.normal(0.0, scale, 700) for scale in (1e-3, 1.0, 10.0, 300.0)
    ] + [np.linspace(-760.0, 760.0, 1000), [0.0, -0.0, 5e-324, -5e-324, -708.4, -745.1, -745.2, -746.0, -3e38, 3e38]])
    U = U.astype(dtype)
    got = sigmoid_array(U.reshape(-1, 3)[:, :2].copy()).ravel()  # 2-D, 2,540 entries: not whole blocks of 256
    U = U.reshape(-1, 3)[:, :2].ravel()
    assert got.dtype == np.dtype(dtype) and got.shape == U.shape
    exact = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(float(u))))) for u in U]).astype(dtype)
    units = np.abs(got.view(f"int{got.itemsize * 8}").astype(np.int64) - exact.view(f"int{got.itemsize * 8}"))
    assert units.max() <= 3
    special = np.array([np.inf, -np.inf, np.nan, -np.nan], dtype)
    assert sigmoid_array(special)[:2].tolist() == [1.0, 0.0] and np.isnan(sigmoid_array(special)[2:]).all()
    assert sigmoid_array(np.empty((0, 4), dtype)).shape == (0, 4)


def test_logsumexp_derivative_is_softmax():
    a, b = sympy.symbols("a b", real=True)
    lse = fn.logsumexp(a, b)
    assert lse.diff(a) == sympy.exp(a - lse)
    assert fn.logsumexp(a) == a
    assert abs(float(lse.subs({a: 1, b: 2}).evalf()) - float(np.logaddexp(1, 2))) < 1e-12


def test_unknown_kind():
    with pytest.raises(UnknownSymbolError, match="'swish'"):
        fn.resolve("s", "swish")


def test_to_elementary_leaves_none_of_ours_when_a_rewrite_rebuilds_an_outer_call():
    """relu(relu(w²)): the inner Max(0, w²) is w², which rebuilt the outer relu after the pass had
    gone by, and check(symbolic="lambdify") then failed with NameError: relu."""
    w = sympy.Symbol("w1", real=True)
    assert fn.to_elementary(fn.relu(fn.relu(w**2))) == w**2
    import symgrad as sg

    assert sg.check(sg.Network.from_expr("relu(relu(w1*w1))", params="w1"), seed=0).ok


@pytest.mark.parametrize("kind, at, value", [("leaky_relu(0.2)", -2, sympy.Rational(-2, 5)), ("elu(0.5)", 0, 0), ("leaky_relu", -100, -1)])
def test_a_kind_may_give_the_constants(kind, at, value):
    f = fn.resolve("act", kind)
    assert f(sympy.Integer(at)) == value
    assert fn.resolve("act", kind) is f and fn.kind_text(f) == (kind.replace("0.2", "1/5").replace("0.5", "1/2") if "(" in kind else kind)
    x = sympy.Symbol("x", real=True)
    alpha = fn.parameters_of(f)["alpha"]
    assert f(x).diff(x).subs(x, -1) == (alpha if kind.startswith("leaky") else f(-1) + alpha)


@pytest.mark.parametrize("kind, message", [
    ("leaky_relu(0.2, 3)", "takes 1 constant"),
    ("leaky_relu(x)", "'x' is not a number"),
    ("sigmoid(2)", "takes no constants"),
    ("swish", "unknown function kind 'swish'"),
])
def test_bad_kinds_are_errors_naming_the_kind(kind, message):
    with pytest.raises(UnknownSymbolError, match=message):
        fn.resolve("g", kind)


def test_textbook_derivatives_of_the_new_functions():
    x = sympy.Symbol("x", real=True)
    assert fn.resolve("silu")(x).diff(x) == fn.sigmoid(x) * (1 + x * (1 - fn.sigmoid(x)))
    assert fn.resolve("gelu")(x).diff(x) == fn.FUNCTIONS["normal_cdf"].builtin(x) + x * fn.FUNCTIONS["normal_pdf"].builtin(x)
    assert fn.resolve("softsign")(x).diff(x) == 1 / (1 + sympy.Abs(x)) ** 2


# --------------------------------------------------------------------------- every stage, end to end

NEW = ["leaky_relu", "leaky_relu(0.2)", "elu", "elu(0.5)", "gelu", "gelu_tanh", "silu", "softsign", "sin", "cos"]


def _network(kind: str):
    import symgrad as sg

    return sg.Network.from_equations(
        "u = w*x + b; h = act(u); o = v*h; L = (o - y)**2/2",
        params="w b v", inputs="x", targets="y", functions={"act": kind},
    )


@pytest.mark.parametrize("kind", NEW)
def test_a_new_function_flows_through_every_stage(kind, tmp_path):
    import symgrad as sg

    net = _network(kind)
    # derivation: equal to sympy.diff of the loss written in elementary functions
    flat = fn.to_elementary(net.loss_expr)
    for p in net.params:
        d = net.grad(p.name)
        truth = sympy.diff(flat, p)
        at = {p_: sympy.Rational(v) for p_, v in zip(net.params + net.inputs + net.targets, ("0.7", "-0.3", "1.1", "-0.9", "0.4"))}
        assert abs(float(fn.to_elementary(d.expanded).xreplace(at).evalf(30) - truth.xreplace(at).evalf(30))) < 1e-20, (kind, p)
    # compiled code (plain Python here) against the numeric backprop and finite differences, at
    # ordinary and at saturated points (|u| large on both sides)
    f = net.compile(jit=False, cache_dir=tmp_path)
    for params, x in (([0.7, -0.3, 1.1], [-0.9]), ([40.0, 1.0, 0.5], [1.0]), ([40.0, -1.0, 0.5], [-1.0])):
        loss, g = f(params, x, [0.4])
        ref_loss, ref = sg.numeric_backprop(net, params, x, [0.4])
        assert np.isfinite(loss) and loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-12)
    assert sg.check(net, seed=0).ok
    # the verifier reads the printed derivative back, and it holds
    for p in ("w", "b"):
        assert sg.verify(net, p, net.grad(p).latex()).ok, (kind, p)


@pytest.mark.parametrize("kind", ["leaky_relu(0.2)", "elu", "gelu", "gelu_tanh", "silu", "softsign"])
def test_a_new_activation_in_a_layered_network_on_both_kernels(kind, tmp_path):
    import symgrad as sg

    net = sg.mlp([3, 4, 2], activation=[kind, "sigmoid"])
    rng = np.random.default_rng(1)
    params, X, Y = rng.uniform(-1, 1, len(net.params)), rng.uniform(-2, 2, (5, 3)), rng.uniform(0, 1, (5, 2))
    ref_loss, ref = sg.numeric_backprop_batch(net, params, X, Y)
    graph_loss, graph = sg.numeric_backprop_batch(net, params, X, Y, method="graph")
    np.testing.assert_allclose(ref, graph, rtol=1e-10, atol=1e-13)
    for layered in (False, True):
        f = net.compile(jit=False, layered=layered, cache_dir=tmp_path)
        loss, g = f.batch(params, X, Y)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-12)


def test_constants_change_the_cache_key_and_print_as_a_subscript():
    import symgrad as sg
    from symgrad.compile.pipeline import module_path

    a, b = _network("leaky_relu(0.2)"), _network("leaky_relu(0.3)")
    assert a.fingerprint != b.fingerprint and module_path(a, cache_dir="/c") != module_path(b, cache_dir="/c")
    layered = sg.mlp([2, 1], activation="leaky_relu(0.2)")
    assert r"\operatorname{LeakyReLU}_{\frac{1}{5}}" in layered.grad("W1_1_1").latex("expanded")


# --------------------------------------------------------------------------- user-defined functions


def test_a_function_defined_in_functions_flows_through_every_stage(tmp_path):
    import symgrad as sg

    net = sg.Network.from_equations(
        "u = w*x + b; h = swish(u); L = (h - y)**2/2", params="w b", inputs="x", targets="y", functions={"swish": "x*sigmoid(x)"}
    )
    u = net.symbol("u")
    # the derivative comes from the definition, with the sigmoid's textbook rule inside it
    assert net.grad("b").factored == (net.symbol("h") - net.symbol("y")) * (u * fn.sigmoid(u) * (1 - fn.sigmoid(u)) + fn.sigmoid(u))
    flat = fn.to_elementary(net.loss_expr)
    at = {s: sympy.Rational(v) for s, v in zip(net.params + net.inputs + net.targets, ("0.8", "-0.2", "1.3", "0.1"))}
    for p in net.params:
        assert abs(float((fn.to_elementary(net.grad(p.name).expanded) - sympy.diff(flat, p)).xreplace(at).evalf(30))) < 1e-25
    f = net.compile(jit=False, cache_dir=tmp_path)
    for params in ([0.8, -0.2], [30.0, 5.0], [-30.0, -5.0]):
        loss, g = f(params, [1.3], [0.1])
        ref_loss, ref = sg.numeric_backprop(net, params, [1.3], [0.1])
        assert loss == pytest.approx(ref_loss, rel=1e-12) and np.allclose(g, ref, rtol=1e-9, atol=1e-13)
    assert sg.check(net, seed=0).ok
    assert r"\operatorname{swish}" in net.grad("w").latex("expanded")
    assert sg.verify(net, "b", net.grad("b").latex()).ok


def test_symgrad_function_registers_a_name_and_checks_the_derivative_given(tmp_path):
    import symgrad as sg

    mysoft = sg.function("mysoft_t", forward="log(1 + exp(x))", derivative="sigmoid(x)")
    net = sg.mlp([2, 3, 1], activation=["mysoft_t", "sigmoid"])
    rng = np.random.default_rng(0)
    params, X, Y = rng.uniform(-1, 1, len(net.params)), rng.uniform(-1, 1, (4, 2)), rng.uniform(0, 1, (4, 1))
    ref_loss, ref = sg.numeric_backprop_batch(net, params, X, Y)  # the tape expands the definition
    loss, g = net.compile(jit=False, cache_dir=tmp_path).batch(params, X, Y)  # straight-line: no array code
    assert loss == pytest.approx(ref_loss, rel=1e-12) and np.allclose(g, ref, rtol=1e-9, atol=1e-13)
    with pytest.raises(sg.SymgradError, match="array code"):
        net.compile(jit=False, layered=True, cache_dir=tmp_path)
    x = sympy.Symbol("x", real=True)
    assert mysoft(x).diff(x) == fn.sigmoid(x)
    with pytest.raises(sg.SymgradError, match=r"'wrong'.*not the derivative of its definition: at x = -2.7"):
        sg.function("wrong", forward="log(1 + exp(x))", derivative="sigmoid(2*x)")
    with pytest.raises(sg.SymgradError, match="built-in"):
        sg.function("tanh", forward="x")
    with pytest.raises(sg.UnknownSymbolError, match="'z'"):
        sg.function("bad", forward="z*x")
