"""Compiled gradients of the straight-line backend (symgrad.compile.straight_line, run by symgrad.compile.pipeline): exactness, stability, the golden module, the
cache, export, float32.

Most tests import the generated module as plain Python (``jit=False``), which runs
the very same text numba compiles; the few that compile with numba are marked slow.

Regenerate the golden module after an intended change to the generated code with

    SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_straight_line.py

and review ``git diff tests/golden/datawhale_grad_module.py``.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
import mpmath
import numpy as np
import pytest
import sympy
from test_gradfn import _INFINITE_PARAMS

import symgrad as sg
from conftest import ROOT, check_golden, evaluate, random_point, seed_network
from symgrad.compile.cache import load_module
from symgrad.compile.gradfn import GradFn
from symgrad.compile.pipeline import JIT_AFTER, compile_network, generate_source, module_path
from symgrad.compile.straight_line import STRAIGHT_LINE
from symgrad.errors import SymgradError
from symgrad.model.functions import to_elementary
from symgrad.template_loader import code_environment, template_text

SEEDS = ["datawhale", "quadratic", "xor", "mlp_3_4_2", "blog_2_3_2_l1", "deep_4_layer"]

MORE = {
    "mlp_softmax_cross_entropy": lambda: sg.mlp([3, 4, 3], loss="softmax_cross_entropy"),
    "mlp_softmax_then_cross_entropy": lambda: sg.mlp([2, 3, 3], activation=["tanh", "softmax"], loss="cross_entropy"),
    "mlp_binary_cross_entropy": lambda: sg.mlp([2, 3, 2], loss="cross_entropy"),
    "mlp_relu_mae": lambda: sg.mlp([3, 4, 2], activation="relu", loss="mae"),
    "mlp_softplus_identity": lambda: sg.mlp([2, 3, 2], activation=["softplus", "identity"]),
}

# sympy.diff of a deep network's flat loss takes seconds per parameter; beyond this
# many parameters a spread of them is differentiated (all are compared with the sweep).
_MAX_DIFFED = 12


def build(name: str) -> sg.Network:
    return MORE[name]() if name in MORE else seed_network(name)


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(directory))
    return directory


def call_args(net: sg.Network, values: dict) -> tuple:
    p = np.array([values[s] for s in net.params])
    x = np.array([values[s] for s in net.inputs])
    y = np.array([values[s] for s in net.targets])
    return p, (x if net.inputs else None), (y if net.targets else None)


def close(computed: float, exact, rel: float = 1e-12) -> bool:
    exact = float(exact)
    return abs(computed - exact) <= rel * max(abs(exact), 1e-300)


# --------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("name", SEEDS + sorted(MORE))
def test_compiled_equals_the_symbolic_gradient_and_sympy_diff(name):
    net = build(name)
    f = net.compile(jit=False)
    values = random_point(net, random.Random(7))
    loss, g = f(*call_args(net, values))
    flat = to_elementary(net.loss_expr)
    assert close(loss, evaluate(flat, values))
    grads = net.gradients()
    diffed = set(range(len(net.params)))
    if len(net.params) > _MAX_DIFFED:
        diffed = set(np.linspace(0, len(net.params) - 1, _MAX_DIFFED).astype(int))
    for k, p in enumerate(net.params):
        assert close(g[k], evaluate(grads[k].expanded, values)), f"{p}: {g[k]} vs the sweep"
        if k in diffed:
            assert close(g[k], evaluate(sympy.diff(flat, p), values)), f"{p}: {g[k]} vs sympy.diff"


def test_seed_000_numbers():
    f = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").compile(jit=False)
    assert f([1.0, 1.0]) == (5.0, pytest.approx([-4.0, -4.0], abs=0))


@pytest.mark.parametrize("name", ["mlp_3_4_2", "mlp_softmax_cross_entropy"])
def test_a_program_split_into_parts_computes_the_same(name):
    net = build(name)
    args = call_args(net, random_point(net, random.Random(1)))
    whole = compile_network(net, jit=False, part_ops=0)
    parts = compile_network(net, jit=False, part_ops=10)
    assert parts.source.count("def _grad_sample_part") > 3
    assert whole(*args)[0] == parts(*args)[0]
    np.testing.assert_array_equal(whole(*args)[1], parts(*args)[1])
    assert whole.value(*args) == parts.value(*args)


# --------------------------------------------------------------------------- stability


def extreme_datawhale_args():
    return np.full(12, 40.0), np.full(3, 9.0), np.array([0.2, 0.9])


def test_seed_002_at_params_40_x_9_is_finite_without_warnings():
    f = seed_network("datawhale").compile(jit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in np.exp would be a RuntimeWarning
        loss, g = f(*extreme_datawhale_args())
        value = f.value(*extreme_datawhale_args())
    assert np.isfinite(loss) and np.isfinite(g).all() and value == loss


@pytest.mark.parametrize("name", ["mlp_binary_cross_entropy", "mlp_softmax_then_cross_entropy", "mlp_softmax_cross_entropy"])
@pytest.mark.parametrize("scale", [30.0, 400.0])
def test_cross_entropy_losses_stay_exact_where_textbook_forms_overflow(name, scale):
    # exp(400) overflows a double and σ(−40) is 0 to 1 − σ(40): the textbook formulas give
    # inf or NaN; the stable forms give the true numbers.
    net = build(name)
    values = random_point(net, random.Random(2))
    values.update({p: scale * (1 if i % 2 else -1) for i, p in enumerate(net.params)})
    f = net.compile(jit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, g = f(*call_args(net, values))
    with mpmath.workdps(60):
        assert close(loss, evaluate(to_elementary(net.loss_expr), values, dps=60))
        for k, d in enumerate(net.gradients()):
            exact = evaluate(d.expanded, values, dps=60)
            assert abs(g[k] - float(exact)) <= 1e-12 * max(abs(float(exact)), float(np.abs(g).max()) * 1e-3), net.params[k]


# --------------------------------------------------------------------------- the module


def test_golden_module_for_seed_002():
    text = generate_source(seed_network("datawhale"), key="golden")
    check_golden("datawhale_grad_module.py", text)


def test_generated_text_does_not_depend_on_the_hash_seed():
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, "tests")
        from conftest import seed_network
        from symgrad.compile.pipeline import generate_source
        sys.stdout.write(generate_source(seed_network("datawhale"), key="golden"))
        """
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(ROOT))
    other = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert other.stdout == generate_source(seed_network("datawhale"), key="golden")


def test_the_module_needs_only_numpy_and_numba():
    text = generate_source(seed_network("mlp_3_4_2"))
    imports = {line.split()[1] for line in text.splitlines() if line.strip().startswith(("import ", "from "))}
    assert imports == {"math", "numpy", "numba"}  # math: the standard library's erfc, for the GELU


def test_template_is_found_and_strict():
    assert "def grad_kernel" in template_text(STRAIGHT_LINE.template)
    with pytest.raises(jinja2.UndefinedError):
        code_environment().get_template(STRAIGHT_LINE.template).render({})


def test_module_is_written_to_the_cache_dir_under_its_key(cache_dir):
    net = seed_network("datawhale")
    f = net.compile(jit=False)
    assert f.path.parent == cache_dir and f.path.exists()
    assert f.path == module_path(net)
    assert f.path.name.startswith("symgrad_datawhale_float64_")
    assert f"symgrad key: {f.path.stem.rsplit('_', 1)[-1]}" in f.source


def test_changing_one_equation_changes_the_file_name():
    base = seed_network("datawhale")
    declarations = dict(params="w1:11 b1 b2", inputs="i1 i2 i3", targets="f1 f2", functions={"g": "sigmoid"}, name="datawhale")
    assert "u1 = w7*h1 + w8*h2 + b1" in base.source
    same = sg.Network.from_equations(base.source, **declarations)
    changed = sg.Network.from_equations(base.source.replace("u1 = w7*h1 + w8*h2 + b1", "u1 = w7*h1 - w8*h2 + b1"), **declarations)
    assert module_path(same) == module_path(base)
    assert module_path(changed) != module_path(base)
    assert module_path(base, dtype=np.float32) != module_path(base)


def test_what_a_function_name_stands_for_is_part_of_the_key():
    # net.fingerprint has names only: g as a sigmoid and g as a tanh must not share code.
    sig = sg.Network.from_equations("L = g(w*x)", params="w", inputs="x", functions={"g": "sigmoid"})
    tanh = sg.Network.from_equations("L = g(w*x)", params="w", inputs="x", functions={"g": "tanh"})
    assert module_path(sig) != module_path(tanh)
    assert sig.compile(jit=False)([1.0], [0.5])[0] == pytest.approx(1 / (1 + np.exp(-0.5)))
    assert tanh.compile(jit=False)([1.0], [0.5])[0] == pytest.approx(np.tanh(0.5))


def test_an_existing_module_is_reused_not_rewritten():
    net = seed_network("quadratic")
    first = net.compile(jit=False)
    stamp = first.path.stat().st_mtime_ns
    second = net.compile(jit=False)
    assert second.path == first.path and second.path.stat().st_mtime_ns == stamp


# --------------------------------------------------------------------------- bad options


@pytest.mark.parametrize(
    "options, token",
    [
        ({"fast": True}, "fast"),
        ({"dtype": np.int64}, "int64"),
        ({"dtype": "float16"}, "float16"),
        ({"part_ops": -1}, "part_ops"),
        ({"part_ops": 2.5}, "part_ops"),
        ({"jit_after": -1}, "jit_after"),
        ({"jit_after": 2.5}, "jit_after"),
        ({"jit_after": True}, "jit_after"),
        ({"jit_after": "3"}, "jit_after"),
    ],
)
def test_bad_options_raise_symgrad_error(options, token):
    with pytest.raises(SymgradError) as info:
        compile_network(seed_network("quadratic"), jit=False, **options)
    assert token in str(info.value)


def test_unwritable_cache_dir_is_named(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(SymgradError, match="SYMGRAD_CACHE_DIR"):
        compile_network(seed_network("quadratic"), jit=False, cache_dir=blocker / "cache")


def test_a_function_without_code_form_is_named():
    w = sympy.Symbol("w", real=True)
    net = sg.Network.from_expr(sympy.gamma(w) ** 2, params="w")
    with pytest.raises(SymgradError, match="gamma"):
        net.compile(jit=False)


# --------------------------------------------------------------------------- numba (slow)


@pytest.fixture(scope="module")
def compiled_datawhale(tmp_path_factory):
    directory = tmp_path_factory.mktemp("numba_cache")
    net = seed_network("datawhale")
    return compile_network(net, cache_dir=directory), compile_network(net, jit=False, cache_dir=directory)


@pytest.mark.slow
def test_numba_gives_the_numbers_plain_python_gives(compiled_datawhale):
    f, plain = compiled_datawhale
    rng = np.random.default_rng(5)
    p, X, Y = rng.normal(size=12), rng.normal(size=(501, 3)), rng.uniform(size=(501, 2))
    loss, g = f(p, X[0], Y[0])
    ref_loss, ref_g = plain(p, X[0], Y[0])
    assert loss == pytest.approx(ref_loss, rel=1e-14) and np.allclose(g, ref_g, rtol=1e-13, atol=0)
    assert f.value(p.tolist(), [1, 2, 3], [0, 1]) == pytest.approx(plain.value(p, [1.0, 2.0, 3.0], [0.0, 1.0]), rel=1e-14)
    frozen, strided = p.copy(), np.repeat(X[1], 2)[::2]
    frozen.setflags(write=False)
    assert f(frozen, strided, Y[1])[0] == pytest.approx(plain(p, X[1], Y[1])[0], rel=1e-14)
    assert [len(k.signatures) for k in (f._module.call_grad, f._module.call_value)] == [1, 1]  # no recompiles
    singles = [f(p, x, y) for x, y in zip(X, Y)]
    batch_loss, batch_g = f.batch(p, X, Y)
    assert batch_loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(batch_g, np.mean([s[1] for s in singles], axis=0), rtol=1e-12)
    total, total_g = f.batch(p, X, Y, reduce="sum")
    assert total == pytest.approx(501 * batch_loss, rel=1e-12)
    np.testing.assert_allclose(total_g, 501 * batch_g, rtol=1e-12)


@pytest.mark.slow
def test_numba_is_stable_at_params_40_x_9(compiled_datawhale):
    f, _ = compiled_datawhale
    loss, g = f(*extreme_datawhale_args())
    assert np.isfinite(loss) and np.isfinite(g).all()
    with pytest.raises(SymgradError, match="NaN: w1"):
        f(np.r_[np.nan, np.ones(11)], np.ones(3), np.ones(2))


@pytest.mark.slow
def test_numba_refuses_nan_parameters_and_infinite_inputs_and_nothing_else():
    # +inf and -inf parameters (a NaN sum) and finite inputs whose sum overflows are run,
    # in the compiled checks as in plain Python (test_gradfn).
    expr, params, p = _INFINITE_PARAMS
    f = sg.Network.from_expr(expr, params=params, inputs="x").compile()
    assert f(np.array(p), np.array([1.5]))[0] == 0.5
    with pytest.raises(SymgradError, match=r"params contains NaN: v \(index 2\)"):
        f(np.array([0.5, np.inf, np.nan]), np.array([1.5]))
    g = sg.Network.from_expr("w*x + v*y", params="w v", inputs="x y").compile()
    loss, grad = g(np.array([1.0, -1.0]), np.array([1e308, 1e308]))
    assert loss == 0.0 and grad.tolist() == [1e308, 1e308]
    with pytest.raises(SymgradError, match=r"x contains -inf \(at index 0, x\)"):
        g.value(np.array([1.0, -1.0]), np.array([-np.inf, 1.0]))


# --------------------------------------------------------------------------- the first calls in plain Python


def test_small_straight_line_code_and_the_layered_kernels_run_their_first_calls_in_plain_python(monkeypatch):
    monkeypatch.delenv("SYMGRAD_JIT_AFTER", raising=False)
    net = seed_network("mlp_3_4_2")
    assert compile_network(net)._plain_calls_left == JIT_AFTER > 0
    assert compile_network(net, backend="tape")._plain_calls_left == 0  # an interpreter, slow as plain Python
    assert compile_network(net, layered=True)._plain_calls_left == JIT_AFTER  # NumPy's matrix products
    assert compile_network(net, backend="tape", jit_after=5)._plain_calls_left == 5
    assert compile_network(net, jit_after=0)._plain_calls_left == 0
    assert compile_network(sg.mlp([8, 8, 2]), backend="straight-line")._plain_calls_left == 0  # 90 parameters
    assert "its next 1000 calls plain Python" in compile_network(net).summary()
    monkeypatch.setenv("SYMGRAD_JIT_AFTER", "7")
    assert compile_network(net)._plain_calls_left == 7
    monkeypatch.setenv("SYMGRAD_JIT_AFTER", "soon")
    with pytest.raises(SymgradError, match=r"\$SYMGRAD_JIT_AFTER must be a whole number of calls, 0 or more, got 'soon'"):
        compile_network(net)


def outcome(call):
    """What a call gives: its numbers, or its exception's type and message."""
    try:
        loss, g = call()
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return type(exc).__name__, str(exc)
    return loss, g.tolist()


@pytest.mark.slow
def test_the_first_calls_run_plain_python_then_numba_compiles():
    net = seed_network("datawhale")
    f, plain = compile_network(net, jit_after=4), compile_network(net, jit=False)
    rng = np.random.default_rng(11)
    p, x, y = rng.normal(size=12), rng.normal(size=3), rng.uniform(size=2)
    nan_p = np.r_[np.nan, p[1:]]
    # The plain calls give plain Python's very numbers and errors; a batch is compiled and not counted.
    first = [lambda: f(p, x, y), lambda: (f.value(p.tolist(), x, y), p), lambda: f(nan_p, x, y), lambda: f(p, x[:2], y)]
    again = [lambda: plain(p, x, y), lambda: (plain.value(p, x, y), p), lambda: plain(nan_p, x, y), lambda: plain(p, x[:2], y)]
    assert [outcome(c) for c in first[:2]] == [outcome(c) for c in again[:2]]
    X, Y = rng.normal(size=(40, 3)), rng.uniform(size=(40, 2))
    batch_loss, batch_g = f.batch(p, X, Y)
    assert batch_loss == pytest.approx(plain.batch(p, X, Y)[0], rel=1e-13)
    assert [outcome(c) for c in first[2:]] == [outcome(c) for c in again[2:]]
    assert f._plain_calls_left == 1  # a call refused before it runs (the short x) is not counted
    assert outcome(lambda: f(p, 2 * x, y)) == outcome(lambda: plain(p, 2 * x, y))
    assert f._plain_calls_left == 0 and not f._module.call_grad.signatures  # numba has compiled no call kernel yet
    loss, g = f(p, x, y)  # the call after the plain ones: compiled
    assert len(f._module.call_grad.signatures) == 1 and f.cache_info()["call_grad"]["misses"] == 1
    ref_loss, ref_g = plain(p, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-14) and np.allclose(g, ref_g, rtol=1e-13, atol=0)
    assert outcome(lambda: f(nan_p, x, y)) == outcome(lambda: plain(nan_p, x, y))
    assert "plain Python" not in f.summary()


@pytest.mark.slow
def test_calls_from_threads_and_copies_cross_over_to_numba_together():
    net = seed_network("xor")
    f, plain = compile_network(net, jit_after=60), compile_network(net, jit=False)
    twin = copy.copy(f)
    assert twin._plain_calls_left == 60
    rng = np.random.default_rng(2)
    cases = [(rng.normal(size=len(net.params)), rng.normal(size=2), rng.uniform(size=1)) for _ in range(50)]
    expected = [plain(*case) for case in cases]

    def run(fn):
        return [fn(*case) for case in cases for _ in range(2)]

    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(run, fn) for fn in (f, f, twin, twin)]  # all four at once
        results = [r for job in jobs for r in job.result()]
    for (loss, g), (ref_loss, ref_g) in zip(results, [e for _ in range(4) for e in expected for _ in range(2)]):
        assert loss == pytest.approx(ref_loss, rel=1e-13) and np.allclose(g, ref_g, rtol=1e-12, atol=1e-15)
    assert f._plain_module is None and twin._plain_module is None
    assert len(f._module.call_grad.signatures) == 1


@pytest.mark.slow
def test_after_the_first_batch_every_block_is_handed_out_so_two_blocks_run_on_two_cores(monkeypatch, tmp_path):
    net = seed_network("xor")
    f = compile_network(net, cache_dir=tmp_path, jit_after=0)
    f._block_rows = 4  # two blocks of the 8 rows below
    rng = np.random.default_rng(5)
    p, X, Y = rng.normal(size=len(net.params)), rng.normal(size=(8, 2)), rng.uniform(size=(8, 1))
    monkeypatch.setenv("SYMGRAD_NUM_THREADS", "2")
    first = f.batch(p, X, Y)  # its first block alone: the kernel compiles once
    kernel, both, cores = f._block_kernel, threading.Barrier(2, timeout=5), {}

    def meeting(*args):  # each block waits for the other: they must run at the same time
        cores[threading.get_ident()] = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        both.wait()
        return kernel(*args)

    f._block_kernel = meeting
    again = f.batch(p, X, Y)
    assert len(cores) == 2
    assert again[0] == first[0] and np.array_equal(again[1], first[1])  # blocks added in order, whichever thread ran them
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:  # the helper keeps off the caller's core
        caller = cores.pop(threading.get_ident())
        (helper,) = cores.values()
        assert helper < caller and len(helper) == len(caller) - 1


def test_float32_is_within_float32_tolerance():
    # Plain Python runs the float32 module on NumPy float32 scalars: the same arithmetic.
    net = seed_network("datawhale")
    f32, f64 = net.compile(jit=False, dtype=np.float32), net.compile(jit=False)
    rng = np.random.default_rng(3)
    p = rng.normal(size=len(net.params))
    X, Y = rng.normal(size=(64, len(net.inputs))), rng.uniform(size=(64, len(net.targets)))
    loss, g = f32(p, X[0], Y[0])
    ref_loss, ref_g = f64(p, X[0], Y[0])
    assert g.dtype == np.float32
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(g, ref_g, rtol=1e-4, atol=1e-6 * np.abs(ref_g).max())
    batch_loss, batch_g = f32.batch(p, X, Y)
    ref_batch_loss, ref_batch_g = f64.batch(p, X, Y)
    assert batch_g.dtype == np.float32 and batch_loss == pytest.approx(ref_batch_loss, rel=1e-5)
    np.testing.assert_allclose(batch_g, ref_batch_g, rtol=1e-4, atol=1e-6 * np.abs(ref_batch_g).max())


@pytest.mark.slow
def test_numba_float32_program_has_no_float64_inside():
    # One float64 literal or integer power anywhere would make numba type the whole
    # sample function float64: the types numba inferred for its variables (inlined into
    # the call kernel, named after it) say whether it stayed float32.
    net = seed_network("datawhale")
    f32 = net.compile(dtype=np.float32)
    p = np.random.default_rng(3).normal(size=12)
    loss, g = f32(p, np.ones(3), np.ones(2))
    assert g.dtype == np.float32
    (compiled,) = f32._module.call_grad.overloads.values()
    inside = {name: str(t) for name, t in compiled.type_annotation.typemap.items() if name.startswith("_grad_sample") and "const" not in name}
    assert "float32" in inside.values() and "float64" not in inside.values(), inside
    assert loss == pytest.approx(net.compile(jit=False)(p, np.ones(3), np.ones(2))[0], rel=1e-5)


@pytest.mark.slow
def test_numba_compiles_a_program_split_into_parts():
    net = sg.mlp([2, 2, 1])
    split = compile_network(net, part_ops=12)
    assert split.source.count("def _grad_sample_part") >= 3
    args = call_args(net, random_point(net, random.Random(4)))
    loss, g = split(*args)
    ref_loss, ref_g = compile_network(net, jit=False, part_ops=0)(*args)
    assert loss == pytest.approx(ref_loss, rel=1e-14)
    np.testing.assert_allclose(g, ref_g, rtol=1e-13)


_EXPORTED_RUN = """
import json, sys
sys.modules["symgrad"] = None  # make any import of symgrad fail
sys.path.insert(0, {directory!r})
import grad_datawhale as m
loss, g = m.loss_and_grad({p}, {x}, {y})
print(json.dumps({{"loss": loss, "g": g.tolist(), "value": m.value({p}, {x}, {y}), "doc": m.__doc__}}))
"""


@pytest.mark.slow
def test_exported_module_works_where_symgrad_cannot_be_imported(tmp_path):
    net = seed_network("datawhale")
    plain = net.compile(jit=False)
    plain.save(tmp_path / "grad_datawhale.py")
    p, x, y = [0.1 * k for k in range(12)], [0.5, -0.3, 0.8], [0.2, 0.9]
    script = _EXPORTED_RUN.format(directory=str(tmp_path), p=p, x=x, y=y)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SYMGRAD_CACHE_DIR")}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    loss, g = plain(p, x, y)
    assert result["loss"] == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(result["g"], g, rtol=1e-13)
    assert result["value"] == pytest.approx(loss, rel=1e-14)
    assert "w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, b1, b2" in result["doc"] and "datawhale" in result["doc"]


_CACHED_RUN = """
import json, os, sys
import symgrad as sg
f = sg.Network.from_expr("(x1*x2 - 3)**2 + sigmoid(x1)", params="x1 x2").compile()
loss, g = f([0.1, 2.0])
print(json.dumps({"path": str(f.path), "mtime": os.stat(f.path).st_mtime_ns, "info": f.cache_info(), "loss": loss}))
"""


@pytest.mark.slow
def test_a_second_process_loads_from_the_cache(cache_dir):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMGRAD_CACHE_DIR=str(cache_dir))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _CACHED_RUN], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        runs.append(json.loads(out.stdout))
    first, second = runs
    assert first["info"]["call_grad"] == {"hits": 0, "misses": 1}  # compiled
    assert second["info"]["call_grad"] == {"hits": 1, "misses": 0}  # loaded, nothing compiled
    assert second["path"] == first["path"] and second["mtime"] == first["mtime"]
    assert second["loss"] == first["loss"]
    index_files = list((cache_dir / "__pycache__").glob("*call_grad*.nbi"))
    assert index_files, "numba wrote no cache index next to the generated module"


@pytest.mark.slow
def test_a_numba_failure_becomes_a_symgrad_error(tmp_path):
    # A module numba cannot type (a stand-in for a code generator bug) must not leak
    # a TypingError: the user gets a SymgradError naming the module and jit=False.
    f = seed_network("quadratic").compile(cache_dir=tmp_path)
    broken = tmp_path / f"broken_{f.path.stem.rsplit('_', 1)[-1]}.py"  # the key it records
    broken.write_text(f.source.replace("    f = _t0*_t0 + 1.0", "    f = _t0*_t0 + 'one'"))
    module = load_module(broken, jit=True)
    with pytest.raises(SymgradError, match=r"numba could not compile .*broken_\w+\.py.*jit=False"):
        GradFn(module, path=broken)([1.0, 1.0])
