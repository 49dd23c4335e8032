"""A compiled gradient inside PyTorch and JAX (symgrad.compile.interop)."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from conftest import seed_network
from symgrad.compile.interop import to_jax, to_torch

P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])
X = np.array([1.0, 0.5, -0.3])
Y = np.array([0.2, 0.9])


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    return seed_network("datawhale").compile(jit=False, cache_dir=tmp_path_factory.mktemp("cache"))


def test_torch_gradcheck_and_backward(f):
    torch = pytest.importorskip("torch")
    loss = to_torch(f)
    p = torch.tensor(P, dtype=torch.float64, requires_grad=True)
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda q: loss(q, x, y), (p,), eps=1e-6, atol=1e-8)
    value = loss(p, x, y)
    value.backward()
    want_loss, want = sg.numeric_backprop(seed_network("datawhale"), P, X, Y)
    assert float(value.detach()) == pytest.approx(want_loss, rel=1e-13)
    np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-12)
    # a batch (rows) is the mean, as f.batch
    rng = np.random.default_rng(0)
    Xb, Yb = torch.tensor(rng.uniform(-1, 1, (5, 3))), torch.tensor(rng.uniform(0, 1, (5, 2)))
    q = torch.tensor(P, requires_grad=True)
    loss(q, Xb, Yb).backward()
    np.testing.assert_allclose(q.grad.numpy(), f.batch(P, Xb.numpy(), Yb.numpy())[1], rtol=1e-13)


def test_torch_refuses_a_gradient_of_the_data(f):
    torch = pytest.importorskip("torch")
    p = torch.tensor(P, requires_grad=True)
    x = torch.tensor(X, requires_grad=True)
    with pytest.raises(sg.SymgradError, match="x is data"):
        to_torch(f)(p, x, torch.tensor(Y)).backward()


def test_torch_in_an_optimiser_loop_reduces_the_loss(f):
    torch = pytest.importorskip("torch")
    loss = to_torch(f)
    p = torch.tensor(P, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    x, y = torch.tensor(X), torch.tensor(Y)
    first = float(loss(p, x, y).detach())
    for _ in range(20):
        opt.zero_grad()
        loss(p, x, y).backward()
        opt.step()
    assert float(loss(p, x, y).detach()) < first


def test_jax_grad_and_jit(f):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    loss = to_jax(f)
    g = jax.grad(loss)(jnp.asarray(P), jnp.asarray(X), jnp.asarray(Y))
    # at the point as JAX holds it (float32 unless jax_enable_x64)
    seen = [np.asarray(jnp.asarray(a), dtype=np.float64) for a in (P, X, Y)]
    want_loss, want = sg.numeric_backprop(seed_network("datawhale"), *seen)
    tol = 1e-12 if jnp.result_type(float) == jnp.float64 else 1e-6
    np.testing.assert_allclose(np.asarray(g), want, rtol=tol)
    value = jax.jit(loss)(jnp.asarray(P), jnp.asarray(X), jnp.asarray(Y))
    assert float(value) == pytest.approx(want_loss, rel=tol)
    g_jit = jax.jit(jax.grad(loss))(jnp.asarray(P), jnp.asarray(X), jnp.asarray(Y))
    np.testing.assert_allclose(np.asarray(g_jit), want, rtol=tol)
    # the data's cotangent is NaN, never a silent zero
    assert np.all(np.isnan(np.asarray(jax.grad(loss, argnums=1)(jnp.asarray(P), jnp.asarray(X), jnp.asarray(Y)))))


def test_jax_without_inputs(tmp_path):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    f = seed_network("quadratic").compile(jit=False, cache_dir=tmp_path)
    assert np.asarray(jax.grad(to_jax(f))(jnp.asarray([1.0, 1.0]))).tolist() == [-4.0, -4.0]
