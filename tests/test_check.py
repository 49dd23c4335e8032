"""The three-way check: what it accepts, what it rejects, and how it names the culprit."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
import sympy

import symgrad as sg
import symgrad.crosscheck.backprop as bp
from symgrad.model import functions as fn

check_module = importlib.import_module("symgrad.crosscheck.check")  # sg.check is the function
from conftest import EXAMPLES, SEED_SPECS, evaluate, seed_network
from symgrad.crosscheck.backprop import forward, numeric_backprop, numeric_loss
from symgrad.crosscheck.check import KINK_MARGIN, CheckReport, check, check_spec
from symgrad.errors import ShapeError, SpecError, SymgradError
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


def test_the_symbolic_column_is_the_compiled_gradient_when_codegen_is_there():
    rep = check(seed_network("datawhale"), seed=0)
    try:
        sg.Network.from_expr("w**2", params="w").compile(jit=False)
    except sg.SymgradError:
        assert rep.symbolic_method == "lambdify" and "unavailable" in rep.notes[0]
    else:
        assert rep.symbolic_method == "compiled (jit=False)"


def test_lambdify_fallback_is_the_expanded_derivative(monkeypatch):
    net = seed_network("datawhale")
    rep = check(net, seed=3, symbolic="lambdify")
    assert rep.ok and rep.symbolic_method == "lambdify"
    for row, d in zip(rep.rows, net.gradients()):
        pt = rep.points[row.point]
        values = dict(zip(net.params + net.inputs + net.targets, map(float, [*pt["params"], *pt["x"], *pt["y"]])))
        assert row.symbolic == pytest.approx(float(evaluate(d.expanded, values)), rel=1e-12, abs=1e-16)


def test_auto_falls_back_to_lambdify_when_compile_fails(monkeypatch):
    def broken(self, **options):
        raise SymgradError("no code generator today")

    monkeypatch.setattr(sg.Network, "compile", broken)
    rep = check(seed_network("quadratic"), seed=0)
    assert rep.ok and rep.symbolic_method == "lambdify"
    assert any("no code generator today" in n for n in rep.notes)
    with pytest.raises(SymgradError, match="no code generator today"):
        check(seed_network("quadratic"), seed=0, symbolic="compiled")


def test_without_the_symbolic_column():
    rep = check(seed_network("quadratic"), seed=0, symbolic=None)
    assert rep.ok and rep.legs == ("backprop", "finite_diff") and rep.rows[0].symbolic is None


# --------------------------------------------------------------------------- naming what is wrong


@pytest.mark.parametrize("wrong", ["w1", "w4", "w7", "w10", "b2"])
def test_one_component_off_by_one_percent_is_named_alone(wrong):
    net = seed_network("datawhale")
    k = [p.name for p in net.params].index(wrong)
    good = _correct_gradient(net)

    def user(p, x, y):
        loss, g = good(p, x, y)
        g = g.copy()
        g[k] *= 1.01
        return loss, g

    rep = check(net, grad=user, seed=4)
    assert not rep.ok and rep.exit_code == 1
    assert _failing(rep) == {wrong}
    row = rep.rows[k]
    assert row.leg == "user" and row.suspects == ("user",)
    assert row.rel_err == pytest.approx(0.01 / 1.01, rel=1e-6)
    assert rep.worst is row
    lines = str(rep).splitlines()
    assert f"worst {wrong}: user differs" in lines[1]
    assert lines[3].split()[:2] == ["FAIL", wrong]  # first row of the table
    assert all(line.startswith("ok") for line in lines[4:15])


@pytest.mark.parametrize("pair", [("w1", "w7"), ("w5", "b1"), ("w9", "w10")])
def test_a_swapped_pair_names_both(pair):
    net = seed_network("datawhale")
    i, j = (net.params.index(net.parameter(n)) for n in pair)
    good = _correct_gradient(net)

    def user(p, x, y):
        loss, g = good(p, x, y)
        g = g.copy()
        g[i], g[j] = g[j], g[i]
        return loss, g

    rep = check(net, grad=user, seed=5)
    assert _failing(rep) == set(pair)
    assert {r.param for r in rep.failed[:2]} == set(pair)


def test_seed_000_second_step_gradient_is_off_by_a_factor_of_two():
    # Seed 000 (3.7) steps from (1.04, 1.04) with the gradient [−1.995136, −1.995136].
    net = seed_network("quadratic")

    def seed_hand(p, x, y):
        return None, np.array([-1.995136, -1.995136])

    rep = check(net, grad=seed_hand, params=[1.04, 1.04])
    assert not rep.ok and _failing(rep) == {"x1", "x2"} and len(rep.points) == 1
    for row in rep.rows:
        assert row.user == -1.995136
        for true in (row.symbolic, row.backprop, row.finite_diff):
            assert true == pytest.approx(-3.990272, rel=1e-9)
        assert row.backprop / row.user == pytest.approx(2.0, rel=1e-12)
        assert row.suspects == ("user",)
    # The rest of the seed's arithmetic is right: x⁽³⁾ and f(x⁽³⁾) follow from the halved gradient.
    x3 = 1.04 - 0.01 * -1.995136
    assert x3 == pytest.approx(1.05995136, abs=1e-12)
    assert numeric_loss(net, [x3, x3]) == pytest.approx(4.5212639385, abs=1e-9)
    assert numeric_loss(net, [1.04 + 0.01 * 3.990272] * 2) < numeric_loss(net, [x3, x3])  # the true step goes further


def test_a_wrong_numeric_backprop_is_the_suspect(monkeypatch):
    # Break the engine's σ' (not σ): symbolic and finite differences then agree against it.
    sigmoid = fn.FUNCTIONS["sigmoid"].numeric
    monkeypatch.setitem(bp.RULES, "sigmoid", fn.Numeric(sigmoid.value, lambda a, v: v * (1.0 - v) * 1.1).rule)
    rep = check(seed_network("datawhale"), seed=0)
    assert not rep.ok
    assert all(r.suspects == ("backprop",) for r in rep.failed)
    assert "suspect: backprop" in str(rep).splitlines()[1]


def test_a_wrong_loss_from_the_user_fails_the_check():
    net = seed_network("quadratic")
    good = _correct_gradient(net)
    rep = check(net, grad=lambda p, x, y: (good(p, x, y)[0] + 1e-3, good(p, x, y)[1]), seed=0)
    assert all(r.ok for r in rep.rows) and not rep.ok
    assert rep.loss_errors and "user loss" in rep.loss_errors[0] and "user loss" in str(rep)


def test_a_user_gradient_may_return_the_gradient_alone():
    net = seed_network("quadratic")
    rep = check(net, grad=lambda p, x, y: [2 * p[1] * (p[0] * p[1] - 3), 2 * p[0] * (p[0] * p[1] - 3)], seed=2)
    assert rep.ok and rep.legs[0] == "user"


def test_a_user_gradient_of_the_wrong_shape_is_a_shape_error():
    net = seed_network("datawhale")
    with pytest.raises(ShapeError, match=r"grad= returned an array of shape \(4, 3\); expected \(12,\)"):
        check(net, grad=lambda p, x, y: (0.0, np.zeros((4, 3))), seed=0)
    with pytest.raises(ShapeError, match=r"shape \(11,\)"):
        check(net, grad=lambda p, x, y: np.zeros(11), seed=0)


# --------------------------------------------------------------------------- seed 000's XOR code


@pytest.fixture(scope="module")
def xor_example():
    return _load_example("xor_user_backprop")


def test_seed_000_xor_backprop_passes_check(xor_example):
    net = xor_example.xor_network()
    rep = check(net, grad=xor_example.xor_backprop, seed=0)
    assert rep.ok, str(rep)
    assert rep.legs == ("user", "symbolic", "backprop", "finite_diff")
    # and on the XOR table itself, at the spec's parameters
    theta = [0.5, -0.3, 0.8, -0.2, 0.6, 0.4, 0.1, -0.7, 0.9, 0.3, 0.2, -0.5, 0.1, 0.7, -0.6, 0.25, -0.4]
    for x, t in xor_example.XOR_DATA:
        assert check(net, grad=xor_example.xor_backprop, params=theta, x=x, y=[t]).ok


def test_xor_with_the_jacobian_of_f2_built_from_sigma_instead_of_its_derivative_fails(xor_example, monkeypatch):
    # The kind of slip seed 000's padded x3(1 − x3) invites: only θ⁽¹⁾ is downstream of f2's Jacobian.
    real = xor_example.NeuralNet.feed_forward

    def slipped(self, x, y):
        out = real(self, x, y)
        s = self.x3[1:]
        self.jacobian_f2_x2 = np.vstack([np.zeros((1, 4)), np.diag(s.flatten())])
        return out

    monkeypatch.setattr(xor_example.NeuralNet, "feed_forward", slipped)
    rep = check(xor_example.xor_network(), grad=xor_example.xor_backprop, seed=0)
    assert _failing(rep) == {f"theta1_{i}_{j}" for i in range(1, 5) for j in range(3)}


def test_xor_training_lowers_the_error(xor_example):
    errors = xor_example.train(epochs=400, every=200)
    assert len(errors) == 2 and errors[1] < errors[0]


# --------------------------------------------------------------------------- points, kinks, modes


def test_random_points_stay_away_from_kinks():
    net = sg.mlp([3, 4, 2], activation="relu", loss="mae")
    rep = check(net, seed=6, points=4)
    assert rep.ok, str(rep)
    for pt in rep.points:
        assert forward(net, pt["params"], pt["x"], pt["y"]).kink_distance >= KINK_MARGIN


def test_a_given_point_on_a_kink_is_reported():
    net = sg.Network.from_expr("relu(w1) + w2**2", params="w1 w2")
    rep = check(net, params=[1e-4, 0.5])
    assert any("0.0001 from the kink of relu(w1)" in n for n in rep.notes)


def test_given_values_are_kept_and_the_rest_drawn():
    net = seed_network("datawhale")
    theta = np.linspace(-0.5, 0.5, 12)
    rep = check(net, params=theta, points=3, seed=0)
    assert len(rep.points) == 3
    assert all(np.array_equal(pt["params"], theta) for pt in rep.points)
    assert len({tuple(pt["x"]) for pt in rep.points}) == 3
    assert all(np.all((0 <= pt["y"]) & (pt["y"] <= 1)) for pt in rep.points)
    full = check(net, params=theta, x=[0.1, 0.2, 0.3], y=[0.0, 1.0], points=3)
    assert len(full.points) == 1


def test_same_seed_same_points():
    net = seed_network("mlp_3_4_2")
    a, b = check(net, seed=9, symbolic=None), check(net, seed=9, symbolic=None)
    assert all(np.array_equal(p["params"], q["params"]) for p, q in zip(a.points, b.points))


def test_directional_finite_differences(monkeypatch):
    net = seed_network("deep_4_layer")
    rep = check(net, seed=0, fd="directional", directions=4)
    assert rep.ok and len(rep.directional) == 12 and rep.rows[0].finite_diff is None
    assert "finite_diff" not in rep.legs and "direction at point 0" in str(rep)
    monkeypatch.setattr(check_module, "FD_MAX_PARAMS", 10)
    assert check(net, seed=0, points=1).directional  # auto: too many parameters for one difference each


def test_directional_finite_differences_catch_a_wrong_gradient():
    net = seed_network("deep_4_layer")
    good = _correct_gradient(net)
    rep = check(net, grad=lambda p, x, y: good(p, x, y)[1] * 1.05, seed=0, fd="directional", symbolic=None)
    assert not rep.ok and not any(d.ok for d in rep.directional)


def test_richardson_tightens_the_finite_differences():
    net = seed_network("datawhale")
    plain = check(net, seed=0, symbolic=None)
    rich = check(net, seed=0, symbolic=None, richardson=True)
    assert max(r.abs_err for r in rich.rows) < max(r.abs_err for r in plain.rows) / 10


def test_html_report():
    net = seed_network("quadratic")
    page = check(net, grad=lambda p, x, y: (None, [0.0, 0.0]), seed=0)._repr_html_()
    assert page.startswith("<p><b>gradient check of quadratic</b>") and "<table>" in page
    assert page.count('style="background:#fdd"') == 2 and "<th>user</th>" in page


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(fd="sometimes"), SymgradError, "fd must be"),
        (dict(points=0), SymgradError, "points must be a positive integer"),
        (dict(symbolic="maple"), SymgradError, "symbolic must be"),
        (dict(params=[1.0]), ShapeError, r"params must have shape \(2,\)"),
        (dict(params=[0.0, 0.0], x=[1.0]), ShapeError, r"x must have shape \(0,\)"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        check(seed_network("quadratic"), **kwargs)


def test_a_non_finite_given_point_is_an_error():
    with pytest.raises(SymgradError, match="not finite at the given point"):
        check(sg.Network.from_expr("log(w)", params="w"), params=[-1.0])


def test_no_valid_point_is_an_error():
    with pytest.raises(SymgradError, match="found no point"):
        check(sg.Network.from_expr("log(w - 5)", params="w"), seed=0)


# --------------------------------------------------------------------------- spec files (what `symgrad check SPEC` runs)


def test_check_spec_reads_the_check_table(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text('[network]\nexpr = "(x1*x2 - 3)**2 + 1"\nparams = "x1 x2"\n\n[check]\npoints = 2\nseed = 4\nrichardson = true\n')
    rep = check_spec(load_spec(path))
    assert rep.ok and rep.exit_code == 0 and len(rep.points) == 2
    assert len(check_spec(load_spec(path), points=1).points) == 1  # an override wins
    seed_002 = load_spec(EXAMPLES / "datawhale.toml")
    rep = check_spec(seed_002)  # at the spec's [point]
    assert rep.ok and len(rep.points) == 1 and np.array_equal(rep.points[0]["params"], seed_002.point.params)


def test_check_spec_rejects_an_unknown_key(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text('[network]\nexpr = "x1**2"\nparams = "x1"\n\n[check]\npionts = 2\n')
    with pytest.raises(SpecError, match="unknown key 'pionts'"):
        check_spec(load_spec(path))


def test_a_tiny_disagreement_finite_differences_cannot_judge_suspects_both(monkeypatch):
    # tanh' off by 1e-7 relative in the engine: the symbolic column disagrees with it, and
    # finite differences (good to ~1e-6) cannot tell which of the two is right.
    monkeypatch.setitem(bp.RULES, "tanh", fn.Numeric(np.tanh, lambda a, v: 1.0 - v * v * (1 + 1e-7)).rule)
    rep = check(sg.Network.from_expr("tanh(w1) + w2**2", params="w1 w2"), seed=0)
    assert _failing(rep) == {"w1"}
    assert rep.rows[0].suspects == ("symbolic", "backprop")
    assert "suspect: symbolic or backprop" in str(rep)


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
        with pytest.raises(SymgradError, match=r"cannot be evaluated numerically.*Derivative\(sign\(b\), b\)"):
            check(net, seed=0, symbolic="lambdify")
    else:
        assert check(net, seed=0, symbolic="lambdify").ok


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
