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
from symgrad.crosscheck.check import CheckReport, check, check_spec
from symgrad.errors import SpecError, SymgradError
from symgrad.model.spec import load_spec


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


@pytest.mark.slow  # compiles the quadratic with numba
def test_the_jit_column_runs_the_compiled_kernel_from_the_first_point(monkeypatch):
    monkeypatch.delenv("SYMGRAD_JIT_AFTER", raising=False)  # the default: a small network's first calls are plain Python
    net = seed_network("quadratic")
    rep = check(net, seed=0, symbolic="jit")
    assert rep.ok and rep.symbolic_method == "compiled (jit=True)"
    kernel = net.compile()._module.call_grad  # the same module, loaded once in the process
    assert len(kernel.signatures) == 1


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


# --------------------------------------------------------------------------- saturation and bad options


@pytest.mark.parametrize("activations", [["sigmoid", "sigmoid", "sigmoid"], ["tanh", "tanh", "sigmoid"]])
def test_no_false_fail_at_moderately_saturated_points(activations):
    """Weights × 15 in a 4-3-3-2 cross-entropy network: the numeric loss lost eight digits in
    1 − σ(u), finite differences of it disagreed, and check reported a FAIL where the compiled
    gradient was right (24 and 38 of 60 such points)."""
    net = sg.mlp([4, 3, 3, 2], activation=activations, loss="cross_entropy")
    for seed in range(8):
        rng = np.random.default_rng(seed)
        theta, x, y = rng.uniform(-15, 15, len(net.params)), rng.uniform(-1, 1, 4), rng.uniform(0, 1, 2)
        rep = check(net, params=theta, x=x, y=y, symbolic="compiled")
        assert rep.ok, rep


@pytest.mark.parametrize(
    "net, theta, x, y",
    [
        (sg.mlp([1, 1], activation="sigmoid", loss="cross_entropy"), [-800.0, 0.0], [1.0], [0.3]),
        (sg.mlp([2, 3], activation="softmax", loss="cross_entropy"), [800.0, 0, 0, -800.0, 0, 0, 0, 0, 0], [1.0, 0.5], [0.2, 0.3, 0.5]),
        (sg.Network.from_equations("o = sigmoid(w*x); L = -y*log(o) - (1 - y)*log(1 - o)", params="w", inputs="x", targets="y"), [50.0], [1.0], [0.3]),
    ],
)
def test_a_point_with_a_finite_loss_is_checked_not_refused(net, theta, x, y):
    rep = check(net, params=theta, x=x, y=y, symbolic="compiled")
    assert rep.ok and np.isfinite(rep.points[0]["loss"]), rep


@pytest.mark.parametrize(
    "options, key",
    [
        (dict(seed=-1), "seed"), (dict(seed="abc"), "seed"), (dict(rtol="x"), "rtol"), (dict(atol=-1.0), "atol"),
        (dict(points=0), "points"), (dict(points=2.5), "points"), (dict(directions=True), "directions"),
        (dict(richardson="yes"), "richardson"), (dict(kink_margin=float("nan")), "kink_margin"),
    ],
)
def test_bad_options_name_the_option(quadratic, options, key):
    with pytest.raises(SymgradError, match=rf"^{key} must be") as info:
        check(quadratic, **options)
    assert info.value.token == key


@pytest.mark.parametrize("line, key", [("seed = -1", "seed"), ('seed = "abc"', "seed"), ('rtol = "x"', "rtol"), ("points = 2.5", "points")])
def test_bad_check_table_is_a_spec_error_naming_the_key(tmp_path, line, key):
    path = tmp_path / "s.toml"
    path.write_text(f'[network]\nexpr = "x1**2"\nparams = "x1"\n\n[check]\n{line}\n')
    with pytest.raises(SpecError, match=rf"\[check\] {key} must be") as info:
        check_spec(load_spec(path))
    assert info.value.token == key


# A point of the agreement sweep (tests/test_sweep.py) where central differences missed their
# tolerance by 4e-5 relative: a 1-6-6-2-2 network with weights × 60, softmax cross-entropy.
_SHARP = [-14.735650174509548, -36.44872107467173, -42.75252652139637, 32.74236250305265, 30.520856317407258, 37.43835005091188,
          -55.736367055948094, -32.86762701121232, -57.23903677128033, -53.72861078975111, 8.674501898231632, 48.145486265734405,
          -58.009530196103874, -7.321634514821631, 43.25375336521891, -43.785339193684266, -42.71762098756518, -6.118672352140528,
          45.07278862489753, -38.95075924870062, 34.33322235802195, -10.803852295976611, 27.60555156915382, 32.736426044730116,
          44.08268746282321, -23.034784994177254, -4.213848366247728, 12.10076628447149, 13.202316413651811, -9.297189987491414,
          -48.025983737172304, 3.659521579455456, -27.78481605187894, 39.437962311786066, 11.967874458992252, -9.150667686531854,
          -50.975538001353804, 30.841747284323908, 5.112665927639335, -36.07180537800104, 14.950842784749367, -29.6908038078942,
          50.26863019034494, 7.52341563981521, -1.9595055839930087, 34.09353895190086, -52.32893432585201, -46.10085527396655,
          16.997294127336048, -30.545343108117397, -30.320629956648943, 47.022276389609566, -7.524067963495189, -15.803017747796911,
          43.14622933278357, -53.59774202481982, -3.0896039646950557, 35.268696571504506]


def test_central_differences_that_miss_at_a_sharp_point_are_refined_not_failed():
    net = sg.mlp([1, 6, 6, 2, 2], activation=["sigmoid", "sigmoid", "identity", "softmax"], loss="softmax_cross_entropy", bias=False)
    point = dict(params=_SHARP, x=[-0.6459689842021321], y=[0.7252611339041056, 0.5717527852107406])
    rep = check(net, **point)
    assert rep.ok, rep
    # A 0.1% mistake in the very component central differences missed is still caught there.
    k = net.params.index(net.parameter("W3_2_4"))
    wrong = check(net, **point, grad=lambda p, x, y: numeric_backprop(net, p, x, y)[1] * np.where(np.arange(len(p)) == k, 1.001, 1.0))
    assert not wrong.ok and wrong.failed[0].param == "W3_2_4" and wrong.failed[0].suspects == ("user",)
