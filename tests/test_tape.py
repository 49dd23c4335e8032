"""The tape backend (symgrad.compile.tape): the gradient program run from arrays by one
interpreter; the same numbers as the straight-line code, single sample and batch,
float64 and float32, and the automatic choice of backend."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symgrad as sg
from conftest import SEED_SPECS, seed_network
from symgrad.compile.pipeline import STRAIGHT_LINE_MAX_PARAMS, choose_backend
from symgrad.compile.tape import TAPE
from symgrad.errors import SymgradError

MORE = {
    "relu_mae": lambda: sg.mlp([3, 4, 2], activation="relu", loss="mae"),
    "softmax_ce": lambda: sg.mlp([3, 4, 3], loss="softmax_cross_entropy"),
    "binary_ce": lambda: sg.mlp([2, 3, 2], loss="cross_entropy"),
    "softplus_tanh": lambda: sg.mlp([2, 3, 3, 2], activation=["softplus", "tanh", "identity"]),
    "leaky_gelu": lambda: sg.mlp([2, 3, 2], activation=["leaky_relu(0.2)", "gelu"]),
    "user_function": lambda: sg.Network.from_equations(
        "u = w1*x1 + w2*x2; L = (swish(u) - y1)**2", params="w1 w2", inputs="x1 x2", targets="y1", functions={"swish": "x*sigmoid(x)"}
    ),
    "powers": lambda: sg.Network.from_expr("w1**-2 + sqrt(w2**2 + 1) + abs(w1)**2.5 + w2**7", params="w1 w2"),
}


def _network(name):
    return MORE[name]() if name in MORE else seed_network(name)


def _args(net, seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.2, 0.9, len(net.params))
    x = rng.uniform(-1, 1, len(net.inputs)) if net.inputs else None
    y = rng.uniform(0.05, 0.95, len(net.targets)) if net.targets else None
    return p, x, y


@pytest.mark.parametrize("name", SEED_SPECS + list(MORE))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_tape_gives_the_straight_line_numbers(name, dtype, tmp_path):
    net = _network(name)
    tape = net.compile(jit=False, cache_dir=tmp_path, backend="tape", dtype=dtype)
    line = net.compile(jit=False, cache_dir=tmp_path, backend="straight-line", dtype=dtype)
    assert tape.backend is TAPE and tape.dtype == np.dtype(dtype)
    rel = 1e-13 if dtype == np.float64 else 1e-5
    for seed in range(2):
        p, x, y = _args(net, seed)
        (a, ga), (b, gb) = tape(p, x, y), line(p, x, y)
        assert a == pytest.approx(b, rel=rel) and np.allclose(ga, gb, rtol=rel, atol=rel * max(1.0, np.abs(gb).max()))
        assert tape.value(p, x, y) == pytest.approx(b, rel=rel)
    if net.inputs or net.targets:
        rng = np.random.default_rng(5)
        X = rng.uniform(-1, 1, (7, len(net.inputs))) if net.inputs else None
        Y = rng.uniform(0.05, 0.95, (7, len(net.targets))) if net.targets else None
        (a, ga), (b, gb) = tape.batch(p, X, Y), line.batch(p, X, Y)
        assert a == pytest.approx(b, rel=rel) and np.allclose(ga, gb, rtol=rel, atol=rel * max(1.0, np.abs(gb).max()))


def test_one_interpreter_serves_every_network(tmp_path):
    a = seed_network("datawhale").compile(jit=False, cache_dir=tmp_path, backend="tape")
    b = sg.mlp([4, 5, 2]).compile(jit=False, cache_dir=tmp_path, backend="tape")
    assert a.path == b.path and a.param_names != b.param_names


def test_a_saved_tape_module_is_standalone(tmp_path):
    import importlib.util

    net = seed_network("datawhale")
    f = net.compile(jit=False, cache_dir=tmp_path, backend="tape")
    path = f.save(tmp_path / "tape_grad.py")
    spec = importlib.util.spec_from_file_location("tape_grad", path)
    module = importlib.util.module_from_spec(spec)
    module._SYMGRAD_JIT = False
    spec.loader.exec_module(module)
    p, x, y = _args(net, 0)
    loss, g = module.loss_and_grad(p, x, y)
    assert loss == pytest.approx(f(p, x, y)[0], rel=1e-14) and np.allclose(g, f(p, x, y)[1], rtol=1e-14)


def test_a_long_chain_runs_on_the_tape_and_unknown_functions_are_named(tmp_path):
    w = sympy.Symbol("w", real=True)
    h = [sympy.Symbol(f"h{k}", real=True) for k in range(300)]
    steps = [(h[0], w)] + [(h[k], sympy.tanh(h[k - 1]) * w) for k in range(1, 300)]
    net = sg.Network(steps, params=[w], loss=h[-1], name="chain")
    f = net.compile(jit=False, cache_dir=tmp_path, backend="tape")
    loss, g = f([0.9])
    assert loss == pytest.approx(sg.numeric_backprop(net, [0.9])[0], rel=1e-12)
    assert g[0] == pytest.approx(sg.numeric_backprop(net, [0.9])[1][0], rel=1e-10)
    with pytest.raises(SymgradError, match="gamma"):
        sg.Network.from_expr(sympy.gamma(w), params="w").compile(jit=False, cache_dir=tmp_path, backend="tape")


def test_the_backend_is_chosen_by_size_and_cache(tmp_path):
    small, wide = seed_network("datawhale"), sg.mlp([10, 5, 2])
    assert len(small.params) <= STRAIGHT_LINE_MAX_PARAMS < len(wide.params)
    assert choose_backend(small, cache_dir=tmp_path).name == "straight-line"
    assert choose_backend(wide, cache_dir=tmp_path).name == "tape"
    assert choose_backend(wide, cache_dir=tmp_path, jit=False).name == "straight-line"  # plain Python: the readable code
    assert choose_backend(wide, cache_dir=tmp_path, part_ops=0).name == "straight-line"
    with pytest.raises(SymgradError, match="unknown backend 'fast'"):
        choose_backend(wide, backend="fast")


@pytest.mark.slow
def test_the_compiled_tape_equals_the_plain_one_single_and_batch(tmp_path):
    net = sg.mlp([4, 6, 3], activation=["tanh", "softmax"], loss="cross_entropy")
    jitted = net.compile(cache_dir=tmp_path, backend="tape")
    plain = net.compile(jit=False, cache_dir=tmp_path, backend="tape")
    p, x, y = _args(net, 3)
    (a, ga), (b, gb) = jitted(p, x, y), plain(p, x, y)
    assert a == pytest.approx(b, rel=1e-14) and np.allclose(ga, gb, rtol=1e-13)
    rng = np.random.default_rng(1)
    X, Y = rng.uniform(-1, 1, (20_000, 4)), rng.dirichlet(np.ones(3), 20_000)
    (a, ga), (b, gb) = jitted.batch(p, X, Y), net.compile(cache_dir=tmp_path, backend="straight-line").batch(p, X, Y)
    assert a == pytest.approx(b, rel=1e-12) and np.allclose(ga, gb, rtol=1e-11)
    with pytest.raises(SymgradError, match="x contains inf"):
        jitted(p, np.array([np.inf, 0, 0, 0]), y)
