"""Smoke tests of examples/seed*.py: each script runs in a fresh process, from another
directory, against this checkout, exits 0 and prints the facts its seed is about."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import symgrad as sg
from conftest import EXAMPLES, ROOT
from symgrad.model.spec import load_spec

SCRIPTS = {
    "seed000_quadratic.py",
    "seed000_xor.py",
    "seed001_blog_l1.py",
    "seed002_datawhale.py",
    "seed003_mlp.py",
    "seed004_deep.py",
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("symgrad-cache")


def run(script: str, cwd, cache_dir, *args: str) -> str:
    """Run ``examples/<script>`` from ``cwd`` with the checkout first on the path; its stdout."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, SYMGRAD_CACHE_DIR=str(cache_dir), PYTHONIOENCODING="utf-8")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300,
    )
    assert proc.returncode == 0, f"{script} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def numbers_after(label: str, text: str) -> list[float]:
    """Every number printed right after ``label`` (a regex), in order."""
    return [float(m) for m in re.findall(label + r"\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)", text)]


def test_every_example_script_has_a_smoke_test():
    assert {p.name for p in EXAMPLES.glob("seed*.py")} == SCRIPTS


def test_seed000_quadratic(tmp_path, cache_dir):
    out = run("seed000_quadratic.py", tmp_path, cache_dir)
    assert out.count("seed: HOLDS") == 2  # the seed's (3.2)
    assert "x(1) = (1, 1)   f = 5   J = [-4, -4]" in out  # (3.3), (3.4)
    assert "x(2) = (1.04, 1.04)   f = 4.68025856   J = [-3.990272, -3.990272]" in out  # (3.5), (3.6), the true J
    assert "x(3) = (1.07990272, 1.07990272)" in out
    # the seed's own step with its hand value gives its (3.7), and its (3.8) to the digits printed there
    assert "x(3) = (1.05995136, 1.05995136)" in out
    assert round(numbers_after(r"\(1\.05995136, 1\.05995136\), f =", out)[0], 10) == 4.5212639385
    assert "∂f/∂x1: REFUTED (constant factor)" in out
    assert "the true value is -3.990272" in out and "factor 2" in out


@pytest.mark.slow  # numba compiles the per-sample training loop in every process (~10 s)
def test_seed000_xor(tmp_path, cache_dir):
    out = run("seed000_xor.py", tmp_path, cache_dir)
    errors = numbers_after(r"error e1\+e2\+e3\+e4 =", out)
    assert len(errors) == 11  # epoch 0, then every 10,000 epochs up to the seed's 100,000
    assert errors[0] > 0.5 and errors[-1] < 0.01
    outputs = re.findall(r"t = (\d)  x4 = (\d\.\d+)", out)
    assert len(outputs) == 4 and all(abs(float(t) - float(x4)) < 0.1 for t, x4 in outputs)
    assert out.count("OK: all 17 parameters agree") == 2  # symgrad's gradient, and the seed's backprop
    assert re.search(r"param\s+user\s+symbolic\s+backprop\s+finite diff", out)


def test_seed001_blog_l1(tmp_path, cache_dir):
    out = run("seed001_blog_l1.py", tmp_path, cache_dir)
    assert r"\operatorname{sign}\left(\mathbf{x}^{(2)} - \mathbf{y}\right) \odot f'(\mathbf{u}^{(2)})" in out  # δ⁽ᴸ⁾ of the L1 loss
    assert r"\delta^{(1)} &= \left(\left(W^{(2)}\right)^{T} \delta^{(2)}\right) \odot f'(\mathbf{u}^{(1)})" in out
    assert r"\nabla_{W^{(1)}} L &= \delta^{(1)} \left(\mathbf{x}^{(0)}\right)^{T}" in out
    assert "equals net.grad: 17/17 entries hold" in out
    assert "OK: all 17 parameters agree" in out


def test_seed002_datawhale(tmp_path, cache_dir):
    out = run("seed002_datawhale.py", tmp_path, cache_dir)
    # symgrad's chain derivations end in the factored form with the shared tail outside the bracket
    assert r"\left[\left(\hat{f}_{1} - f_{1}\right) \cdot g(u_{1}) \left(1 - g(u_{1})\right) \cdot w_{7} +" in out
    assert "∂Loss/∂w7: HOLDS (3 lines)" in out
    for p in ("w1", "w6"):
        verdict = out.split(f"∂Loss/∂{p}: ")[1].split("\n\n")[0]
        assert verdict.startswith("REFUTED (3 lines)")
        assert "line 1: HOLDS" in verdict and "line 2: HOLDS" in verdict and "line 3: REFUTED (bracket)" in verdict
    assert "is shared by both chain-rule paths" in out
    # the printed compiled gradient is numeric backprop's, to the digits printed
    spec = load_spec(EXAMPLES / "datawhale.toml")
    net, point = spec.network, spec.point
    loss, grad = sg.numeric_backprop(net, point.params, point.x, point.y)
    printed = [numbers_after(rf"∂Loss/∂{p.name}\s*=", out)[-1] for p in net.params]
    assert np.allclose(printed, grad, rtol=1e-9, atol=1e-15)
    assert numbers_after("Loss =", out)[-1] == pytest.approx(loss, rel=1e-9)
    assert "OK: all 12 parameters agree" in out


def test_seed003_mlp(tmp_path, cache_dir):
    out = run("seed003_mlp.py", tmp_path, cache_dir)
    for i in (1, 2):
        for j in range(1, 5):
            assert f"∂L/∂W2_{i}_{j}: HOLDS" in out
        assert f"∂L/∂b2_{i}: HOLDS" in out
    matrix_part = out.split("the seed's matrix form")[1]
    assert "∂L/∂b2_1: REFUTED (wrong factor)" in matrix_part and "∂L/∂b2_2: REFUTED (wrong factor)" in matrix_part
    assert "σ written for σ'" in matrix_part
    assert r"\nabla_{W^{(2)}} L &= \delta^{(2)} \left(\mathbf{x}^{(1)}\right)^{T}" in out  # column convention


def test_seed004_deep(tmp_path, cache_dir):
    out = run("seed004_deep.py", tmp_path, cache_dir)
    assert r"\delta^{(2)} &= \left(\delta^{(3)} \left(W^{(3)}\right)^{T}\right) \odot f'(\mathbf{u}^{(2)})" in out  # row convention
    assert r"\nabla_{W^{(1)}} L &= \left(\mathbf{x}^{(0)}\right)^{T} \delta^{(1)}" in out
    assert "equals net.grad: 39/39 entries hold" in out
    losses = numbers_after(r"mean loss", out)
    assert len(losses) == 11
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < losses[0] / 20
