"""The layered backend: the matrix (loop) code path for layered networks (symgrad.compile.layered)."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from symgrad.compile import gradfn
from symgrad.compile.layered import LAYERED, is_layered
from symgrad.compile.pipeline import JIT_AFTER, generate_source, module_path
from symgrad.crosscheck.backprop import LayerPass, numeric_backprop
from symgrad.errors import ShapeError, SymgradError

# (activations, loss) covering every activation and every loss convention of LayerSpec.expand.
CASES = [
    (["sigmoid", "sigmoid"], "mse"),
    (["tanh", "tanh"], "mse"),
    (["relu", "relu"], "mse"),
    (["softplus", "softplus"], "mse"),
    (["identity", "identity"], "mse"),
    (["sigmoid", "tanh"], "mae"),
    (["relu", "identity"], "mae"),
    (["tanh", "sigmoid"], "cross_entropy"),  # binary, through softplus
    (["sigmoid", "softmax"], "cross_entropy"),  # categorical, fused
    (["tanh", "softmax"], "mse"),  # softmax Jacobian applied to the loss gradient
    (["relu", "identity"], "softmax_cross_entropy"),
    (["tanh", "relu", "sigmoid"], "mse"),  # three layers
]
SIZES = {2: [3, 4, 3], 3: [3, 4, 3, 3]}


def _point(net, seed, scale=0.6):
    rng = np.random.default_rng(seed)
    p = rng.uniform(-scale, scale, len(net.params))
    x = rng.uniform(-1, 1, len(net.inputs))
    y = rng.uniform(0.05, 0.3, len(net.targets))  # small: keeps a softplus output's 1 − o positive
    return p, x, y


def _close(a, b, rel=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(1.0, float(np.max(np.abs(b))))
    assert np.max(np.abs(a - b)) <= rel * scale, (a, b)


@pytest.mark.parametrize("acts,loss", CASES, ids=lambda c: c if isinstance(c, str) else "-".join(c))
def test_layered_equals_straight_line_and_backprop(acts, loss, tmp_path):
    net = sg.mlp(SIZES[len(acts)], activation=acts, loss=loss)
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    assert "symgrad_layered_" in f.path.name
    straight = net.compile(jit=False, cache_dir=tmp_path, layered=False)
    assert "symgrad_layered_" not in straight.path.name
    scale = 0.6
    for seed in range(3):
        p, x, y = _point(net, seed, scale)
        loss_l, g_l = f(p, x, y)
        loss_s, g_s = straight(p, x, y)
        loss_b, g_b = numeric_backprop(net, p, x, y)
        assert np.isfinite(loss_l)
        _close(loss_l, loss_s)
        _close(g_l, g_s)
        _close(loss_l, loss_b)
        _close(g_l, g_b)
        assert f.value(p, x, y) == pytest.approx(loss_l, rel=1e-14)


@pytest.mark.parametrize("acts,loss", CASES[::3], ids=lambda c: c if isinstance(c, str) else "-".join(c))
def test_batch_is_mean_or_sum_of_single_calls(acts, loss, tmp_path):
    net = sg.mlp(SIZES[len(acts)], activation=acts, loss=loss)
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    rng = np.random.default_rng(5)
    p, _, _ = _point(net, 5)
    X = rng.uniform(-1, 1, (7, len(net.inputs)))
    Y = rng.uniform(0.05, 0.3, (7, len(net.targets)))
    singles = [f(p, x, y) for x, y in zip(X, Y)]
    loss_m, g_m = f.batch(p, X, Y)
    _close(loss_m, np.mean([s[0] for s in singles]))
    _close(g_m, np.mean([s[1] for s in singles], axis=0))
    loss_s, g_s = f.batch(p, X, Y, reduce="sum")
    _close(loss_s, np.sum([s[0] for s in singles]))
    _close(g_s, np.sum([s[1] for s in singles], axis=0))


def test_wide_network_is_never_expanded(tmp_path):
    net = sg.mlp([784, 256, 10], activation="sigmoid", loss="mse")
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    assert net._steps is None
    rng = np.random.default_rng(0)
    p = rng.normal(0, 0.05, len(net.params))
    X, Y = rng.uniform(0, 1, (16, 784)), rng.uniform(0, 1, (16, 10))
    loss, g = f.batch(p, X, Y)
    ref = LayerPass(net.layers, p, X, Y)
    _close(loss, ref.loss)
    _close(g, ref.backward())
    assert net._steps is None
    # Widths are data: a tiny network of the same kinds runs the very same module, and the
    # standalone text (module plus the network's block) has as many lines.
    small = sg.mlp([2, 2, 2]).compile(jit=False, cache_dir=tmp_path, layered=True)
    assert small.path == f.path and small.source.count("\n") == f.source.count("\n")
    assert generate_source(sg.mlp([2, 2, 2]), backend=LAYERED) == generate_source(net, backend=LAYERED)
    assert f.param_names[0] == "W1_1_1" and f.param_names[-1] == "b2_10" and len(f.param_names) == len(net.params)


def test_stable_at_extreme_parameters(tmp_path):
    for acts, loss in [(["sigmoid", "sigmoid"], "cross_entropy"), (["softplus", "softmax"], "cross_entropy"),
                       (["sigmoid", "sigmoid"], "mse"), (["tanh", "identity"], "softmax_cross_entropy")]:
        net = sg.mlp([9, 4, 3], activation=acts, loss=loss)
        f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
        for sign in (1.0, -1.0):
            loss_v, g = f(params=np.full(len(net.params), 40.0 * sign), x=np.full(9, 9.0), y=np.full(3, 0.5))
            assert np.isfinite(loss_v) and np.all(np.isfinite(g)), (acts, loss, sign)


def test_float32_within_tolerance(tmp_path):
    net = sg.mlp([5, 6, 3], activation=["tanh", "softmax"], loss="cross_entropy")
    f64 = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    f32 = net.compile(jit=False, cache_dir=tmp_path, dtype=np.float32, layered=True)
    assert f32.path != f64.path and f32.dtype == np.float32
    p, x, y = _point(net, 3)
    loss32, g32 = f32(p, x, y)
    loss64, g64 = f64(p, x, y)
    assert g32.dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


def test_bad_shapes_name_the_argument(tmp_path):
    net = sg.mlp([3, 2], activation="sigmoid")
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    p, x, y = _point(net, 0)
    with pytest.raises(ShapeError, match="params must have shape"):
        f(p[:-1], x, y)
    with pytest.raises(ShapeError, match=r"x must have shape \(3,\)"):
        f(p, x[:2], y)
    with pytest.raises(ShapeError, match=r"Y must have shape \(n, 2\)"):
        f.batch(p, np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(SymgradError, match="params contains NaN"):
        f(np.where(np.arange(p.size) == 2, np.nan, p), x, y)


@pytest.mark.parametrize("bias", [True, False])
def test_batch_names_a_bad_parameter_input_or_target(bias, tmp_path):
    # The layered block kernel looks at its arguments only where a layer's sums are not
    # finite (f.batch then reads neither p nor the gradient again): every bad value is
    # still named, in whichever block it is.
    net = sg.mlp([3, 4, 2], activation=["relu", "sigmoid"], loss="mse", bias=bias)
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    f._block_rows = 2  # blocks of two rows: the bad row is in the third block
    assert f._blocks_check_arguments
    rng = np.random.default_rng(5)
    p, X, Y = rng.uniform(-0.6, 0.6, len(net.params)), rng.normal(size=(7, 3)), rng.uniform(0, 1, (7, 2))
    for name in ("W1_1_1", "W1_4_3", "W2_2_4") + (("b1_2", "b2_1") if bias else ()):
        bad = p.copy()
        bad[f.param_names.index(name)] = np.nan
        with pytest.raises(SymgradError, match=rf"params contains NaN: {name} \(index"):
            f.batch(bad, X, Y)
        assert np.isnan(f.module.block_kernel(bad, X, Y, 0, 7, np.empty(len(p))))
    # With positive weights an infinite input saturates the sigmoid output: the loss is
    # finite, the gradient NaN (0 · inf), and only the kernel's look finds the input.
    positive = np.abs(p) + 0.1
    for column, value in ((0, np.inf), (2, np.nan)):
        bad = X.copy()
        bad[5, column] = value
        with pytest.raises(SymgradError, match=rf"X contains {'inf' if value > 0 else 'NaN'} \(row 5, column {column}\)"):
            f.batch(positive, bad, Y)
    bad = Y.copy()
    bad[4, 1] = -np.inf
    with pytest.raises(SymgradError, match=r"Y contains -inf \(row 4, column 1\)"):
        f.batch(p, X, bad)
    # Sums that overflow from good arguments are the formula's own: no error, and the
    # values the straight-line code gives.
    huge = np.full(len(p), 1e300)
    with pytest.warns(RuntimeWarning, match="overflow"):  # a layer's sums are infinite
        block_loss = f.module.block_kernel(huge, X, Y, 0, 7, np.empty(len(p)))
    straight = net.compile(jit=False, cache_dir=tmp_path, layered=False)
    with np.errstate(all="ignore"):
        got, expected = f.batch(huge, X, Y, reduce="sum"), straight.batch(huge, X, Y, reduce="sum")
    assert np.isfinite(block_loss) and block_loss == pytest.approx(expected[0], rel=1e-12)
    assert got[0] == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)


def test_no_bias_and_options(tmp_path):
    net = sg.mlp([3, 4, 2], activation="tanh", loss="mse", bias=False)
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    p, x, y = _point(net, 2)
    _close(f(p, x, y)[1], numeric_backprop(net, p, x, y)[1])
    assert is_layered(net) and not is_layered(sg.Network.from_expr("(w - 1)**2", params="w"))
    with pytest.raises(SymgradError, match="layered"):
        sg.Network.from_expr("(w - 1)**2", params="w").compile(jit=False, cache_dir=tmp_path, layered=True)
    # part_ops is an option of the straight-line code: giving it selects that code.
    assert "symgrad_layered_" not in net.compile(jit=False, cache_dir=tmp_path, part_ops=0).path.name
    # The cache key follows the layer description and the dtype.
    a = module_path(net, backend=LAYERED, cache_dir=tmp_path)
    assert a == module_path(sg.mlp([3, 4, 2], activation="tanh", loss="mse", bias=False), backend=LAYERED, cache_dir=tmp_path)
    assert a != module_path(sg.mlp([3, 4, 2], activation="tanh", loss="mse"), backend=LAYERED, cache_dir=tmp_path)
    assert a != module_path(net, backend=LAYERED, cache_dir=tmp_path, dtype=np.float32)


def test_saved_module_is_standalone(tmp_path):
    import importlib.util

    net = sg.mlp([3, 4, 2], activation="sigmoid", loss="cross_entropy")
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    path = f.save(tmp_path / "saved_grad.py")
    text = path.read_text()
    assert "import symgrad" not in text and "from symgrad" not in text
    spec = importlib.util.spec_from_file_location("saved_grad_layered", path)
    module = importlib.util.module_from_spec(spec)
    module._SYMGRAD_JIT = False  # plain Python: the same file numba would compile
    spec.loader.exec_module(module)
    p, x, y = _point(net, 4)
    loss, g = module.loss_and_grad(p, x, y)
    _close(loss, f(p, x, y)[0])
    _close(g, f(p, x, y)[1])
    X, Y = np.stack([x, x + 0.1]), np.stack([y, y])
    _close(module.batch_loss_and_grad(p, X, Y)[1], f.batch(p, X, Y)[1])


#: The one layered kind compiled with numba here (~20 s cold; the widths are data, so the
#: small and the 784-256-10 network share its module): a sigmoid hidden layer and the
#: fused softmax cross-entropy. Every activation and loss is checked through the same
#: generated code with jit=False above.
NUMBA_KIND = (["sigmoid", "softmax"], "cross_entropy")


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("layered-numba")


@pytest.mark.slow
def test_numba_kernel_equals_straight_line(numba_cache, tmp_path, monkeypatch):
    acts, loss = NUMBA_KIND
    net = sg.mlp([3, 4, 3], activation=acts, loss=loss)
    f = net.compile(cache_dir=numba_cache, layered=True)
    straight = net.compile(jit=False, cache_dir=tmp_path, layered=False)
    p, x, y = _point(net, 7)
    _close(f(p, x, y)[0], straight(p, x, y)[0])
    _close(f(p, x, y)[1], straight(p, x, y)[1])
    X, Y = np.stack([x, -x, 0.5 * x]), np.stack([y, y, y])
    loss_m, g_m = f.batch(p, X, Y)
    _close(g_m, np.mean([straight(p, a, b)[1] for a, b in zip(X, Y)], axis=0))
    # Three blocks of rows: the mean's 1/n scales each block's gradient inside the kernel;
    # a sum is not scaled.
    rng = np.random.default_rng(11)
    XL, YL = rng.normal(size=(2500, 3)), rng.uniform(0, 1, (2500, 3))
    mean_loss, mean_g = f.batch(p, XL, YL)
    expected_loss, expected_g = straight.batch(p, XL, YL)
    _close(mean_loss, expected_loss)
    _close(mean_g, expected_g)
    sum_loss, sum_g = f.batch(p, XL, YL, reduce="sum")
    _close(sum_loss, 2500 * expected_loss)
    _close(sum_g, 2500 * expected_g)
    # Five blocks in waves of two (one thread) and of four (two threads, two kept
    # gradients at a time each): the same bits as all five at once.
    XW, YW = np.concatenate([XL, XL]), np.concatenate([YL, YL])
    in_one = f.batch(p, XW, YW)
    monkeypatch.setattr(gradfn, "_WAVE_BYTES", 1)
    for threads in ("1", "2"):
        monkeypatch.setenv("SYMGRAD_NUM_THREADS", threads)
        in_waves = f.batch(p, XW, YW)
        assert in_waves[0] == in_one[0] and np.array_equal(in_waves[1], in_one[1])
    # Compiled, the kernel's look at its arguments names them too (see
    # test_batch_names_a_bad_parameter_input_or_target), and sums that overflow from good
    # arguments are returned as the straight-line code gives them.
    bad_p = np.where(np.arange(p.size) == 5, np.nan, p)
    with pytest.raises(SymgradError, match=rf"params contains NaN: {f.param_names[5]} \(index 5\)"):
        f.batch(bad_p, XL, YL)
    bad_X = XL.copy()
    bad_X[2100, 1] = np.inf
    with pytest.raises(SymgradError, match=r"X contains inf \(row 2100, column 1\)"):
        f.batch(np.abs(p) + 0.1, bad_X, YL)
    huge = p.copy()
    huge[:16] = 1e308  # the first layer's weights and biases: its sums overflow, its sigmoids saturate
    with np.errstate(all="ignore"):
        expected_loss, expected_g = straight.batch(huge, XL[:50], YL[:50])
    huge_loss, huge_g = f.batch(huge, XL[:50], YL[:50])
    assert np.isfinite(huge_loss) and huge_loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(huge_g, expected_g, rtol=1e-12)
    f32 = net.compile(cache_dir=numba_cache, dtype=np.float32, layered=True)
    np.testing.assert_allclose(f32(p, x, y)[1], f(p, x, y)[1], rtol=1e-4, atol=1e-6)
    loss32, g32 = f32.batch(p, X, Y)
    assert g32.dtype == np.float32 and loss32 == pytest.approx(loss_m, rel=1e-5)
    np.testing.assert_allclose(g32, g_m, rtol=1e-4, atol=1e-6)
    with pytest.raises(SymgradError, match=rf"params contains NaN: {f.param_names[5]} \(index 5\)"):
        f32.batch(bad_p, XL, YL)
    with pytest.raises(SymgradError, match=r"X contains inf \(row 2100, column 1\)"):
        f32.batch(np.abs(p) + 0.1, bad_X, YL)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_first_calls_run_plain_numpy_then_the_compiled_kernel(dtype, numba_cache, tmp_path, monkeypatch):
    """A layered network's first calls run its module as plain Python, NumPy's matrix
    products, while numba's start waits; the call after them is the compiled kernel's."""
    monkeypatch.delenv("SYMGRAD_JIT_AFTER", raising=False)  # the default, as users meet it
    acts, loss = NUMBA_KIND
    net = sg.mlp([30, 20, 3], activation=acts, loss=loss)
    assert net.compile(cache_dir=numba_cache, dtype=dtype)._plain_calls_left == JIT_AFTER > 0
    f = net.compile(cache_dir=numba_cache, dtype=dtype, jit_after=4)
    plain = net.compile(jit=False, cache_dir=tmp_path, dtype=dtype)
    compiled = net.compile(cache_dir=numba_cache, dtype=dtype, jit_after=0)
    assert f.backend is LAYERED and "its next 4 calls plain Python" in f.summary()
    p, x, y = _point(net, 5)
    nan_p = np.where(np.arange(p.size) == 650, np.nan, p)
    # plain: the very numbers and errors of the jit=False module; a refused call is not counted
    loss_0, g_0 = f(p, x, y)
    assert loss_0 == plain(p, x, y)[0] and np.array_equal(g_0, plain(p, x, y)[1]) and g_0.dtype == dtype
    assert f.value(p, x, y) == plain.value(p, x, y)
    with pytest.raises(SymgradError, match=rf"params contains NaN: {f.param_names[650]} \(index 650\)"):
        f(nan_p, x, y)
    with pytest.raises(ShapeError, match="x"):
        f(p, x[:2], y)
    assert f._plain_calls_left == 1  # the NaN call ran (and said what is wrong); the short x was refused before
    f(p, -x, y)
    assert "plain Python" not in f.summary()
    # compiled from here on: the compiled kernel's numbers, the same to rounding
    loss_1, g_1 = f(p, x, y)
    assert loss_1 == compiled(p, x, y)[0] and np.array_equal(g_1, compiled(p, x, y)[1])
    rel = 1e-12 if dtype == np.float64 else 1e-5
    _close(loss_1, loss_0, rel)
    _close(g_1, g_0, rel)
    with pytest.raises(SymgradError, match=rf"params contains NaN: {f.param_names[650]} \(index 650\)"):
        f(nan_p, x, y)


@pytest.mark.slow
def test_784_256_10_numba_equals_numpy_backprop(numba_cache):
    acts, loss = NUMBA_KIND
    net = sg.mlp([784, 256, 10], activation=acts, loss=loss)
    f = net.compile(cache_dir=numba_cache, layered=True)
    rng = np.random.default_rng(3)
    p = rng.normal(0, 0.05, len(net.params))
    X, Y = rng.uniform(0, 1, (32, 784)), rng.uniform(0, 1, (32, 10))
    loss, g = f.batch(p, X, Y)
    ref = LayerPass(net.layers, p, X, Y)
    _close(loss, ref.loss)
    _close(g, ref.backward())
    loss1, g1 = f(p, X[0], Y[0])
    loss_b, g_b = numeric_backprop(net, p, X[0], Y[0])
    _close(loss1, loss_b)
    _close(g1, g_b)
    assert net._steps is None


def test_sgd_kernel_matches_single_updates(tmp_path):
    # train.gradient_descent runs the module's sgd_kernel when jitted; the same code runs here as Python.
    net = sg.mlp([3, 4, 2], activation="tanh", loss="mse")
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    rng = np.random.default_rng(8)
    p, _, _ = _point(net, 8)
    X, Y = rng.uniform(-1, 1, (5, 3)), rng.uniform(0, 1, (5, 2))
    order = np.array([3, 0, 4, 4, 1, 2], dtype=np.int64)
    params_out, losses_out = np.empty((4, p.size)), np.empty(4)
    recorded = f.module.sgd_kernel(p.copy(), X, Y, 0.1, order, 2, params_out, losses_out)
    assert recorded == 4
    q = p.copy()
    expected = [q.copy()]
    for step, i in enumerate(order, start=1):
        q = q - 0.1 * f(q, X[i], Y[i])[1]
        if step % 2 == 0:
            expected.append(q.copy())
    _close(params_out, np.array(expected))
    _close(losses_out, [f.batch(e, X, Y)[0] for e in expected])


def test_the_loop_kernel_is_chosen_by_size(tmp_path):
    from symgrad.compile.pipeline import LAYERED_MIN_PARAMS

    small, wide = sg.mlp([3, 4, 2]), sg.mlp([30, 20, 2])
    assert len(small.params) <= LAYERED_MIN_PARAMS < len(wide.params)
    assert small.compile(jit=False, cache_dir=tmp_path).backend.name == "straight-line"
    assert wide.compile(jit=False, cache_dir=tmp_path).backend is LAYERED
    assert wide._steps is None  # chosen and compiled without expanding the steps


def test_check_says_when_its_symbolic_column_is_the_loop_kernel():
    rep = sg.check(sg.mlp([30, 20, 2]), points=1, seed=0)
    assert rep.ok
    assert rep.symbolic_method.startswith("compiled layered kernel")
    assert any("loop-based" in note for note in rep.notes)


@pytest.mark.parametrize("bias", [True, False])
def test_generated_parameter_order_is_the_layer_specs(bias, tmp_path):
    # The standalone module spells the order out for itself; it must be LayerSpec's.
    net = sg.mlp([3, 4, 2, 2], bias=bias)
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    # The names are made when first asked for (200k strings for a wide network), the count at once.
    assert "PARAMS" not in vars(f.module) and f.module.N_PARAMS == len(net.params)
    assert f.param_names == net.layers.param_names() == tuple(p.name for p in net.params)
    assert f.module.PARAMS == f.param_names
