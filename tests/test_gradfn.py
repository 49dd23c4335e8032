"""GradFn: calls, batches, argument checking, export (symgrad.compile.gradfn).

Everything here runs the generated module as plain Python (``jit=False``); the
numba-compiled path is tested in test_straight_line.py.
"""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import symgrad as sg
from conftest import seed_network
from symgrad.compile import gradfn
from symgrad.compile.gradfn import GradFn
from symgrad.errors import ShapeError, SymgradError, UnusedParameterWarning

P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])
X = np.array([1.0, 0.5, -0.3])
Y = np.array([0.2, 0.9])


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def f(tmp_path_factory) -> GradFn:
    return seed_network("datawhale").compile(jit=False, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def quadratic_f(tmp_path_factory) -> GradFn:
    return seed_network("quadratic").compile(jit=False, cache_dir=tmp_path_factory.mktemp("cache"))


def test_call_returns_float_loss_and_gradient_in_param_order(f):
    loss, g = f(P, X, Y)
    assert isinstance(loss, float) and g.shape == (12,) and g.dtype == np.float64
    assert f.param_names == tuple(f"w{i}" for i in range(1, 11)) + ("b1", "b2")
    assert f.value(P, X, Y) == loss


def test_network_without_inputs_is_called_with_params_alone(quadratic_f):
    loss, g = quadratic_f([1.0, 1.0])
    assert loss == 5.0 and g.tolist() == [-4.0, -4.0]  # seed 000, eq. 3.3 and 3.4
    assert quadratic_f.value(np.array([1.04, 1.04])) == pytest.approx(4.68025856, abs=1e-8)  # eq. 3.6


def test_lists_integers_and_booleans_are_converted(f):
    loss, g = f(P.tolist(), [1, 0, 0], np.array([False, True]))
    ref_loss, ref_g = f(P, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0]))
    assert loss == ref_loss and np.array_equal(g, ref_g)


def test_strided_and_read_only_arrays_are_accepted(f):
    strided = np.repeat(P, 2)[::2]
    frozen = P.copy()
    frozen.setflags(write=False)
    assert f(strided, X, Y)[0] == f(frozen, X, Y)[0] == f(P, X, Y)[0]


def test_gradient_is_a_fresh_array_each_call(f):
    _, g1 = f(P, X, Y)
    _, g2 = f(P, X, Y)
    assert g1 is not g2 and np.array_equal(g1, g2)


def test_batch_mean_and_sum_equal_single_calls(f):
    rng = np.random.default_rng(0)
    Xs, Ys = rng.normal(size=(7, 3)), rng.uniform(size=(7, 2))
    singles = [f(P, x, y) for x, y in zip(Xs, Ys)]
    loss, g = f.batch(P, Xs, Ys)
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-14)
    np.testing.assert_allclose(g, np.mean([s[1] for s in singles], axis=0), rtol=1e-13)
    total, g_sum = f.batch(P, Xs, Ys, reduce="sum")
    assert total == pytest.approx(7 * loss, rel=1e-14)
    np.testing.assert_allclose(g_sum, 7 * g, rtol=1e-13)


def test_a_batch_gradient_kept_or_viewed_is_never_written_again(f):
    rng = np.random.default_rng(1)
    Xs, Ys = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    _, kept = f.batch(P, Xs, Ys)
    view = f.batch(P * 0.5, Xs, Ys)[1][:4]  # the gradient itself dropped, a view of it kept
    expected_kept, expected_view = kept.copy(), view.copy()
    for scale in (2.0, -1.0, 3.0):
        _, g = f.batch(P * scale, Xs, Ys)
        assert not np.shares_memory(g, kept) and not np.shares_memory(g, view)
    assert np.array_equal(kept, expected_kept) and np.array_equal(view, expected_view)


def test_a_dropped_batch_gradient_is_handed_out_again(f):
    # a wide network's gradient is megabytes: fresh memory for each batch costs page faults
    rng = np.random.default_rng(2)
    Xs, Ys = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    _, g = f.batch(P, Xs, Ys)
    first, expected = weakref.ref(g), f.batch(P * 2.0, Xs, Ys)[1].copy()
    del g
    _, again = f.batch(P * 2.0, Xs, Ys)
    assert again is first() and np.array_equal(again, expected)


def test_batches_from_threads_get_gradients_of_their_own(f):
    rng = np.random.default_rng(3)
    Xs, Ys = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    scales = [0.5 + 0.25 * i for i in range(8)]
    expected = [f.batch(P * c, Xs, Ys)[1].copy() for c in scales]

    def run(c):
        return [f.batch(P * c, Xs, Ys)[1].copy() for _ in range(20)]

    with ThreadPoolExecutor(4) as pool:
        for results, want in zip(pool.map(run, scales), expected):
            assert all(np.array_equal(g, want) for g in results)


def test_a_batch_run_in_waves_adds_up_to_the_same_bits(monkeypatch, tmp_path):
    # A wide network's blocks run in waves, so that their gradients never take more than
    # _WAVE_BYTES at once; the waves change nothing in the sum (blocks in block order).
    f = seed_network("datawhale").compile(jit=False, cache_dir=tmp_path)
    f._block_rows = 3
    rng = np.random.default_rng(4)
    Xs, Ys = rng.normal(size=(40, 3)), rng.uniform(size=(40, 2))  # 14 blocks
    monkeypatch.setenv("SYMGRAD_NUM_THREADS", "1")
    in_one = [f.batch(P, Xs, Ys, reduce=reduce) for reduce in ("mean", "sum")]
    monkeypatch.setattr(gradfn, "_WAVE_BYTES", 3 * 8 * 12)  # three blocks' gradients
    waves = []
    run_wave = GradFn._run_wave
    monkeypatch.setattr(GradFn, "_run_wave", lambda self, *args: waves.append((len(args[4]), args[5].shape)) or run_wave(self, *args))
    in_waves = [f.batch(P, Xs, Ys, reduce=reduce) for reduce in ("mean", "sum")]
    assert waves[:5] == [(3, (3, 12))] * 4 + [(2, (3, 12))]
    for (loss, g), (wave_loss, wave_g) in zip(in_one, in_waves):
        assert wave_loss == loss and np.array_equal(wave_g, g)


def test_batch_of_a_single_input_network_takes_1d_columns(tmp_path):
    net = sg.Network.from_equations("u = w*x + b; L = (u - y)**2/2", params="w b", inputs="x", targets="y")
    f = net.compile(jit=False)
    loss, g = f.batch([2.0, 1.0], [3.0, 0.0], [5.0, 1.0], reduce="sum")
    assert loss == 2.0 and g.tolist() == [6.0, 2.0]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, argument, expected",
    [
        (lambda f: f(P[:11], X, Y), "params", "(12,)"),
        (lambda f: f(P.reshape(3, 4), X, Y), "params", "(12,)"),
        (lambda f: f(P, X[:2], Y), "x", "(3,)"),
        (lambda f: f(P, X, np.ones(3)), "y", "(2,)"),
        (lambda f: f(P, None, Y), "x", "3 inputs"),
        (lambda f: f(P, X), "y", "2 targets"),
        (lambda f: f.value(P, X, [[0.2, 0.9]]), "y", "(2,)"),
        (lambda f: f.batch(P, np.ones((4, 2)), np.ones((4, 2))), "X", "(n, 3)"),
        (lambda f: f.batch(P, np.ones((4, 3)), np.ones((5, 2))), "Y", "5 rows"),
        (lambda f: f.batch(P, np.ones((4, 3)), np.ones(4)), "Y", "(n, 2)"),
        (lambda f: f.batch(P, np.ones((0, 3)), np.ones((0, 2))), "X", "no rows"),
        (lambda f: f.batch(P[:3], np.ones((4, 3)), np.ones((4, 2))), "params", "(12,)"),
        (lambda f: f([[1, 2], [3]], X, Y), "params", "rectangular"),
    ],
)
def test_wrong_shapes_raise_shape_error_naming_the_argument(f, call, argument, expected):
    with pytest.raises(ShapeError) as info:
        call(f)
    assert info.value.token == argument
    assert str(info.value).startswith(argument) and expected in str(info.value)


def test_inputs_given_to_a_network_without_inputs(quadratic_f):
    with pytest.raises(ShapeError, match="^x: .* has no inputs"):
        quadratic_f([1.0, 1.0], [0.5])
    with pytest.raises(SymgradError, match="no inputs or targets"):
        quadratic_f.batch([1.0, 1.0], np.ones((3, 1)))


@pytest.mark.parametrize("bad", [["a"] * 12, ["1.5"] * 12, [1j] * 12, [object()] * 12], ids=["text", "numeric text", "complex", "object"])
def test_non_numbers_raise_symgrad_error_naming_params(f, bad):
    with pytest.raises(SymgradError) as info:
        f(bad, X, Y)
    assert info.value.token == "params" and "params" in str(info.value)


def test_nan_parameter_is_named(f):
    bad = P.copy()
    bad[3] = np.nan
    for call in (lambda: f(bad, X, Y), lambda: f.value(bad, X, Y), lambda: f.batch(bad, X[None, :], Y[None, :])):
        with pytest.raises(SymgradError, match=r"params contains NaN: w4 \(index 3\)"):
            call()


def test_batch_names_a_nan_parameter_the_loss_does_not_read(tmp_path):
    # A batch looks for NaN parameters after its blocks ran: v here leaves the loss and
    # the gradient finite, and is named all the same.
    with pytest.warns(UnusedParameterWarning):
        f = sg.Network.from_expr("(w - x)**2", params="w v", inputs="x").compile(jit=False, cache_dir=tmp_path)
    with pytest.raises(SymgradError, match=r"params contains NaN: v \(index 1\)"):
        f.batch([1.0, np.nan], np.ones((3, 1)))


def test_batch_whose_gradient_sum_overflows_is_not_an_error(tmp_path):
    # The loss w x + v y is 0 here and its gradient (x, y) finite, while the gradient's
    # sum, the quick check, overflows: the slow path finds every entry finite.
    f = sg.Network.from_expr("w*x + v*y", params="w v", inputs="x y").compile(jit=False, cache_dir=tmp_path)
    loss, grad = f.batch([1.0, -1.0], [[1e308, 1e308]])
    assert loss == 0.0 and grad.tolist() == [1e308, 1e308]
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(grad))


#: A loss that is finite, with a finite gradient, at u = +inf and v = -inf (exp(-u) and
#: exp(v) are 0 there, and so are their derivatives): the sum of such parameters is NaN.
_INFINITE_PARAMS = ("(w - x)**2/2 + exp(-u) + exp(v)", "w u v", [0.5, np.inf, -np.inf])


@pytest.mark.parametrize("backend", ["straight-line", "tape"])
def test_infinite_parameters_and_huge_inputs_are_not_refused(backend, tmp_path):
    # The kernels refuse a NaN parameter and an input or target that is not finite, and
    # nothing else: not +inf and -inf parameters (whose sum is NaN), nor finite inputs
    # whose sum overflows.
    expr, params, p = _INFINITE_PARAMS
    f = sg.Network.from_expr(expr, params=params, inputs="x").compile(jit=False, cache_dir=tmp_path, backend=backend)
    loss, grad = f(p, [1.5])
    assert loss == 0.5 and grad.tolist() == [-1.0, 0.0, 0.0]
    assert f.value(p, [1.5]) == 0.5
    with pytest.raises(SymgradError, match=r"params contains NaN: v \(index 2\)"):
        f([0.5, np.inf, np.nan], [1.5])
    g = sg.Network.from_expr("w*x + v*y", params="w v", inputs="x y").compile(jit=False, cache_dir=tmp_path, backend=backend)
    loss, grad = g([1.0, -1.0], [1e308, 1e308])
    assert loss == 0.0 and grad.tolist() == [1e308, 1e308]
    with pytest.raises(SymgradError, match=r"x contains inf \(at index 1, y\)"):
        g([1.0, -1.0], [1e308, np.inf])


def test_nan_input_is_named(f):
    with pytest.raises(SymgradError, match=r"x contains NaN \(at index 1, i2\)"):
        f(P, [1.0, np.nan, 0.0], Y)
    Xs = np.ones((3, 3))
    Xs[2, 0] = np.nan
    with pytest.raises(SymgradError, match=r"X contains NaN \(row 2, column 0\)"):
        f.batch(P, Xs, np.ones((3, 2)))


def test_bad_reduce_is_named(f):
    with pytest.raises(SymgradError, match="reduce must be 'mean' or 'sum'") as info:
        f.batch(P, X[None, :], Y[None, :], reduce="max")
    assert info.value.token == "reduce"


# --------------------------------------------------------------------------- source and export


def test_source_and_save(f, tmp_path):
    path = f.save(tmp_path / "grad_datawhale.py")
    text = path.read_text()
    assert text == f.source
    assert 'network "datawhale"' in text
    assert "Parameters (12): w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, b1, b2" in text
    assert "import symgrad" not in text and "from symgrad" not in text


def test_save_to_a_directory_is_an_error(f, tmp_path):
    with pytest.raises(SymgradError, match="directory"):
        f.save(tmp_path)


def test_repr(f):
    assert repr(f) == "<GradFn 'datawhale': 12 params, float64, python>"


def test_cache_info_is_empty_without_numba(f):
    assert f.cache_info() == {}


def test_a_missing_package_at_first_compile_becomes_a_symgrad_error(quadratic_f):
    # numba imports SciPy (BLAS for np.dot) only when it first compiles a call that needs
    # it; a missing package must come out as one line naming the network and module.
    class Dispatcher:  # stands in for a numba dispatcher that has never compiled
        overloads: dict = {}
        signatures: list = []
        symgrad_signature = "float64(float64[::1], none, none, float64[::1])"

        def compile(self, signature):
            raise ImportError("scipy 0.16+ is required for linear algebra")

        __call__ = compile

    module = quadratic_f.module
    fake = type(module)("fake")
    fake.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    fake.grad_kernel = fake.value_kernel = fake.call_grad = fake.call_value = Dispatcher()
    with pytest.raises(SymgradError, match=r"numba could not compile network 'quadratic' \(generated module .*\.py\): numba needs a package that is missing \(scipy"):
        GradFn(fake, path=quadratic_f.path)([1.0, 1.0])


# --------------------------------------------------------------------------- non-finite inputs, warnings


@pytest.mark.parametrize("which, value, pattern", [
    ("x", np.inf, r"x contains inf \(at index 0, i1\)"),
    ("x", -np.inf, r"x contains -inf \(at index 0, i1\)"),
    ("y", np.inf, r"y contains inf \(at index 0, f1\)"),
])
def test_an_infinite_input_or_target_is_named_like_nan(f, which, value, pattern):
    x, y = X.copy(), Y.copy()
    (x if which == "x" else y)[0] = value
    with pytest.raises(SymgradError, match=pattern):
        f(P, x, y)
    with pytest.raises(SymgradError, match=pattern):
        f.value(P, x, y)


@pytest.mark.parametrize("which", ["X", "Y"])
def test_an_infinite_entry_of_a_batch_is_named(f, which):
    rows = {"X": np.tile(X, (4, 1)), "Y": np.tile(Y, (4, 1))}
    rows[which][2, 1] = np.inf
    with pytest.raises(SymgradError, match=rf"{which} contains inf \(row 2, column 1\)"):
        f.batch(P, rows["X"], rows["Y"])


def test_an_infinite_parameter_is_computed_not_refused(quadratic_f):
    loss, g = quadratic_f([np.inf, 1.0])
    assert loss == np.inf


def test_plain_python_kernels_leak_no_runtime_warnings(f, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the test
        loss, g = f(P * 1e3, X * 1e3, Y)  # exp overflows inside the stable forms' reach
        assert np.isfinite(loss)
        f.batch(P * 1e3, np.tile(X * 1e3, (3, 1)), np.tile(Y, (3, 1)))
        net = sg.Network.from_equations("h = 0\nL = w1 + 1/h", params="w1")
        assert net.compile(jit=False, cache_dir=tmp_path)([1.0]) == (np.inf, pytest.approx([1.0]))


def test_a_constant_zero_step_divides_to_inf_as_numba_does(tmp_path):
    # Plain Python would raise ZeroDivisionError on 1.0/0.0; the generated code makes a
    # constant step a NumPy scalar, which divides as numba's error_model="numpy" does.
    net = sg.Network.from_equations("h = 0\nu = 1/h\nL = w1*u", params="w1")
    loss, g = net.compile(jit=False, cache_dir=tmp_path)([2.0])
    assert loss == np.inf and g[0] == np.inf


def test_out_receives_the_gradient(f):
    out = np.empty(12)
    loss, g = f(P, X, Y, out=out)
    assert g is out and np.array_equal(out, f(P, X, Y)[1]) and loss == f(P, X, Y)[0]
    for bad in (np.empty(11), np.empty(12, np.float32), np.empty(24)[::2], [0.0] * 12):
        with pytest.raises(ShapeError, match="out must be"):
            f(P, X, Y, out=bad)


def test_hvp_one_sample_and_batch_against_finite_differences(f):
    rng = np.random.default_rng(4)
    v = rng.standard_normal(len(P))
    hv = f.hvp(P, v, X, Y)
    h = 1e-5
    fd = (f(P + h * v, X, Y)[1] - f(P - h * v, X, Y)[1]) / (2 * h)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-9)
    Xb, Yb = rng.uniform(-1, 1, (6, 3)), rng.uniform(0, 1, (6, 2))
    hvb = f.hvp(P, v, Xb, Yb)
    fdb = (f.batch(P + h * v, Xb, Yb)[1] - f.batch(P - h * v, Xb, Yb)[1]) / (2 * h)
    np.testing.assert_allclose(hvb, fdb, rtol=1e-6, atol=1e-9)
    with pytest.raises(ShapeError, match="v must have shape"):
        f.hvp(P, v[:3], X, Y)


def test_hvp_is_compiled_with_the_jit_after_asked_not_the_gradients_default(monkeypatch):
    """A layered network's first calls are plain NumPy, which f.hvp's function (straight-line
    or tape code) does not inherit: it takes its own default, or the jit_after asked."""
    monkeypatch.delenv("SYMGRAD_JIT_AFTER", raising=False)
    from symgrad.compile.pipeline import JIT_AFTER

    net = sg.mlp([3, 4, 2])
    rng = np.random.default_rng(1)
    p, v, x, y = rng.normal(size=26), rng.normal(size=26), rng.normal(size=3), rng.uniform(size=2)
    asked = net.compile(layered=True, jit_after=7)
    default = net.compile(layered=True)
    assert asked._plain_calls_left == 7 and default._plain_calls_left == JIT_AFTER
    plain = net.compile(jit=False, layered=True)
    expected = plain.hvp(p, v, x, y)
    compile_options = []
    compile_network = sg.Network.compile
    monkeypatch.setattr(sg.Network, "compile", lambda self, **options: compile_options.append(options) or compile_network(self, **options))
    for f, calls in ((asked, 7), (default, JIT_AFTER)):  # both small enough for plain straight-line calls
        np.testing.assert_allclose(f.hvp(p, v, x, y), expected, rtol=1e-13)
        assert f._hvp.backend.name == "straight-line" and f._hvp._plain_calls_left == calls - 1
    # a larger one's would be the tape's, whose default is to compile at once
    assert [options["jit_after"] for options in compile_options] == [7, None]


def test_save_c_writes_source_and_header(f, tmp_path):
    path = f.save(tmp_path / "grad.c")
    assert path.name == "grad.c" and (tmp_path / "grad.h").exists()
    assert "symgrad_datawhale_grad" in path.read_text()
