"""Gradient descent: seed 000's numbers, seed 002's toy functions, XOR per sample."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from conftest import EXAMPLES
from symgrad.errors import ShapeError, SymgradError
from symgrad.model.spec import load_spec
from symgrad.train import gradient_descent


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def test_seed_000_two_steps_with_the_true_gradient():
    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    hist = gradient_descent(net, [1.0, 1.0], None, lr=0.01, epochs=2, grad=net.compile(jit=False))
    assert hist.loss[0] == 5.0                                   # (3.3)
    assert tuple(hist.params[1]) == (1.04, 1.04)                 # (3.5)
    assert hist.loss[1] == pytest.approx(4.68025856, rel=1e-14)  # (3.6)
    # (3.7) with the true gradient -3.990272, not the seed's hand value -1.995136
    assert np.allclose(hist.params[2], 1.04 + 0.01 * 3.990272, rtol=0, atol=1e-15)
    assert hist.loss[2] == pytest.approx((1.07990272**2 - 3) ** 2 + 1, rel=1e-13)
    assert hist.params.shape == (3, 2) and hist.loss.shape == (3,)


@pytest.mark.parametrize(
    "expr, params, start, lr, end",
    [
        ("x**2", "x", [1.0], 0.5, [0.0]),             # seed 002: one step reaches the minimum
        ("x**2 + y**2", "x y", [-5.0, -5.0], 0.5, [0.0, 0.0]),  # seed 002: (−5, −5) → (0, 0)
    ],
)
def test_seed_002_toy_functions(expr, params, start, lr, end):
    net = sg.Network.from_expr(expr, params=params)
    hist = gradient_descent(net, start, None, lr=lr, epochs=1, grad=net.compile(jit=False))
    assert hist.params[1].tolist() == end and hist.loss[1] == 0.0


def test_batch_mode_uses_the_mean_gradient():
    net = sg.Network.from_equations("L = (w*x - y)**2/2", params="w", inputs="x", targets="y")
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0], [0.0]])
    hist = gradient_descent(net, [1.0], (X, Y), lr=0.1, epochs=1, mode="batch", grad=net.compile(jit=False))
    mean_grad = ((1 - 1) * 1 + (2 - 0) * 2) / 2
    assert hist.params[1][0] == pytest.approx(1.0 - 0.1 * mean_grad)
    assert hist.loss[0] == pytest.approx((0 + 4 / 2) / 2)


def test_sgd_python_loop_visits_samples_in_order():
    net = sg.Network.from_equations("L = (w*x - y)**2/2", params="w", inputs="x", targets="y")
    X, Y = [[1.0], [2.0]], [[1.0], [0.0]]
    hist = gradient_descent(net, [1.0], {"X": X, "Y": Y}, lr=0.1, epochs=1, mode="sgd", grad=net.compile(jit=False))
    w1 = 1.0 - 0.1 * (1.0 - 1.0) * 1.0
    w2 = w1 - 0.1 * (w1 * 2.0 - 0.0) * 2.0
    assert hist.params[:, 0].tolist() == pytest.approx([1.0, w1, w2])
    assert len(hist.loss) == 3


@pytest.mark.slow
def test_xor_per_sample_reaches_a_small_error(tmp_path):
    spec = load_spec(EXAMPLES / "xor.toml")
    net = spec.network
    p0 = np.random.default_rng(0).uniform(-1, 1, len(net.params))
    hist = gradient_descent(net, p0, (spec.data["X"], spec.data["Y"]), lr=0.02, epochs=100_000, mode="sgd")
    assert len(hist.loss) == 4 * 100_000 + 1
    summed_error = 4 * hist.final_loss  # the seed prints e1 + e2 + e3 + e4
    assert summed_error < 0.01 < 4 * hist.loss[0]
    f = net.compile()
    predictions = [f.value(hist.final_params, x, y) for x, y in zip(spec.data["X"], spec.data["Y"])]
    assert max(predictions) < 0.005  # each sample's ½(x⁽⁴⁾ − t)²
    path = tmp_path / "loss.png"
    hist.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments():
    net = sg.Network.from_equations("L = (w*x - y)**2", params="w", inputs="x", targets="y")
    f = net.compile(jit=False)
    with pytest.raises(ShapeError, match="data=\\(X, Y\\)"):
        gradient_descent(net, [1.0], None, lr=0.1, epochs=1, grad=f)
    with pytest.raises(ShapeError, match="params0 has shape \\(2,\\)"):
        gradient_descent(net, [1.0, 2.0], ([[1.0]], [[1.0]]), lr=0.1, epochs=1, grad=f)
    with pytest.raises(ShapeError, match="X has shape \\(1, 2\\)"):
        gradient_descent(net, [1.0], ([[1.0, 2.0]], [[1.0]]), lr=0.1, epochs=1, grad=f)
    with pytest.raises(ShapeError, match="Y has shape"):
        gradient_descent(net, [1.0], ([[1.0]], [[1.0], [2.0]]), lr=0.1, epochs=1, grad=f)
    with pytest.raises(SymgradError, match="'newton'"):
        gradient_descent(net, [1.0], ([[1.0]], [[1.0]]), lr=0.1, epochs=1, mode="newton", grad=f)
    with pytest.raises(SymgradError, match="lr must be"):
        gradient_descent(net, [1.0], ([[1.0]], [[1.0]]), lr=-1, epochs=1, grad=f)
    with pytest.raises(SymgradError, match="epochs"):
        gradient_descent(net, [1.0], ([[1.0]], [[1.0]]), lr=0.1, epochs=1.5, grad=f)


@pytest.mark.parametrize("jit", [False, True])
def test_record_every_keeps_every_kth_point(jit):
    net = sg.Network.from_equations("L = (w*x - y)**2/2", params="w", inputs="x", targets="y")
    data = ([[1.0], [2.0], [0.5]], [[1.0], [0.0], [2.0]])
    f = net.compile(jit=jit)
    full = gradient_descent(net, [1.0], data, lr=0.1, epochs=4, mode="sgd", grad=f)
    thin = gradient_descent(net, [1.0], data, lr=0.1, epochs=4, mode="sgd", grad=f, record_every=3)
    assert len(full.params) == 13 and len(thin.params) == 5
    assert np.allclose(thin.params, full.params[::3]) and np.allclose(thin.loss, full.loss[::3])
    for bad in (0, -1, 1.5):
        with pytest.raises(SymgradError, match="record_every must be a positive integer"):
            gradient_descent(net, [1.0], data, lr=0.1, epochs=1, mode="sgd", grad=f, record_every=bad)


def test_record_every_in_batch_mode():
    net = sg.Network.from_equations("L = (w*x - y)**2/2", params="w", inputs="x", targets="y")
    data = ([[1.0], [2.0]], [[1.0], [0.0]])
    f = net.compile(jit=False)
    full = gradient_descent(net, [1.0], data, lr=0.1, epochs=6, mode="batch", grad=f)
    thin = gradient_descent(net, [1.0], data, lr=0.1, epochs=6, mode="batch", grad=f, record_every=2)
    assert len(thin.params) == 4 and np.allclose(thin.params, full.params[::2]) and np.allclose(thin.loss, full.loss[::2])


def test_grad_norm_is_the_norm_of_the_mean_gradient_at_each_point(tmp_path):
    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    hist = sg.gradient_descent(net, [1.0, 1.0], None, lr=0.01, epochs=3, grad=net.compile(jit=False))
    # (3.4) of seed 000: J = [-4, -4] at the start, so |J| = 4√2
    assert hist.grad_norm.shape == (4,) and hist.grad_norm[0] == pytest.approx(4 * 2**0.5)
    assert hist.grad_norm_at([1]).tolist() == pytest.approx([3.990272 * 2**0.5])
    fig = hist.plot_grad_norm(tmp_path / "g.svg")
    assert fig.axes[0].get_ylabel() == "gradient norm" and (tmp_path / "g.svg").read_bytes().startswith(b"<?xml")


def test_batch_grad_norm_over_data():
    net = sg.Network.from_equations("h = w*x; L = (h - y)**2/2", params="w", inputs="x", targets="y")
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0], [4.0]])
    hist = sg.gradient_descent(net, [0.0], (X, Y), lr=0.1, epochs=2, mode="batch", grad=lambda p, x, y: sg.numeric_backprop(net, p, x, y))
    # mean of (w x − y) x over the data at w = 0: (−1 − 8)/2
    assert hist.grad_norm[0] == pytest.approx(4.5)


def test_plots_leave_matplotlib_global_state_alone(tmp_path):
    import matplotlib

    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    hist = sg.gradient_descent(net, [1.0, 1.0], None, lr=0.01, epochs=3, grad=net.compile(jit=False))
    backend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)
    hist.plot(tmp_path / "loss.png")
    hist.plot_grad_norm()
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == params
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
