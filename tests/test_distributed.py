"""Batches on Dask (symgrad.compile.distributed): chunks run on the workers, Dask adds them."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from conftest import seed_network
from symgrad.compile.distributed import dask_batch

da = pytest.importorskip("dask.array")


def _data(n: int, chunk: int, seed: int = 0):
    """X, Y built chunk by chunk (each chunk from its own seed), larger than any one chunk."""
    import dask

    def block(k, rows):
        rng = np.random.default_rng(seed + k)
        return rng.uniform(-1, 1, (rows, 3)), rng.uniform(0, 1, (rows, 2))

    sizes = [min(chunk, n - start) for start in range(0, n, chunk)]
    pairs = [dask.delayed(block, nout=2)(k, rows) for k, rows in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(p[0], (rows, 3), dtype=float) for p, rows in zip(pairs, sizes)])
    Y = da.concatenate([da.from_delayed(p[1], (rows, 2), dtype=float) for p, rows in zip(pairs, sizes)])
    return X, Y


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    return seed_network("datawhale").compile(jit=False, cache_dir=tmp_path_factory.mktemp("cache"))


P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_dask_equals_in_memory(f, reduce):
    X, Y = _data(1_000, chunk=128)
    assert X.numblocks[0] == 8
    loss, g = dask_batch(f, P, X, Y, reduce=reduce)
    want_loss, want = f.batch(P, X.compute(), Y.compute(), reduce=reduce)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)


def test_misaligned_chunks_and_bad_shapes(f):
    X, Y = _data(300, chunk=64)
    loss, g = dask_batch(f, P, X, Y.rechunk((50, 2)))
    np.testing.assert_allclose(g, f.batch(P, X.compute(), Y.compute())[1], rtol=1e-12)
    with pytest.raises(sg.ShapeError, match="X must have shape"):
        dask_batch(f, P, X[:, :2], Y)
    with pytest.raises(sg.ShapeError, match="Y has 299 rows but X has 300"):
        dask_batch(f, P, X, Y[:299])
    with pytest.raises(sg.SymgradError, match="NaN"):
        dask_batch(f, P, da.where(X > 0.99, np.nan, X), Y)


def test_a_layered_kernel_on_dask_refuses_an_infinite_input(tmp_path):
    # With positive weights an infinite input saturates the outputs: a finite loss over a NaN
    # gradient, unless the layered kernel's own look at its arguments makes the loss NaN.
    net = sg.mlp([3, 4, 2], activation="sigmoid")
    f = net.compile(jit=False, cache_dir=tmp_path, layered=True)
    p = np.linspace(0.1, 0.6, net.n_params)
    X, Y = _data(300, chunk=64)
    loss, g = dask_batch(f, p, X, Y)
    np.testing.assert_allclose(g, f.batch(p, X.compute(), Y.compute())[1], rtol=1e-12)
    with pytest.raises(sg.SymgradError, match="X or Y a value that is not finite"):
        dask_batch(f, p, da.where(X > 0.99, np.inf, X), Y)


@pytest.mark.slow
def test_on_a_local_cluster_with_two_worker_processes(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    f = seed_network("datawhale").compile(jit=False, cache_dir=tmp_path / "lead")  # the workers get its source
    X, Y = _data(20_000, chunk=2_500)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            loss, g = dask_batch(f, P, X, Y)
            workers = client.run(lambda: __import__("os").getpid())
    assert len(workers) == 2
    want_loss, want = f.batch(P, X.compute(), Y.compute())
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)
    assert list((tmp_path / "cache").glob("symgrad_*.py")), "the workers wrote the module to their cache"


def test_f_batch_and_batch_descent_take_dask_arrays(f):
    X, Y = _data(500, chunk=100)
    loss, g = f.batch(P, X, Y)
    np.testing.assert_allclose(g, f.batch(P, X.compute(), Y.compute())[1], rtol=1e-12)
    net = seed_network("datawhale")
    lazy = sg.gradient_descent(net, P, (X, Y), lr=0.5, epochs=3, grad=f)
    eager = sg.gradient_descent(net, P, (X.compute(), Y.compute()), lr=0.5, epochs=3, grad=f)
    np.testing.assert_allclose(lazy.params, eager.params, rtol=1e-12)
    np.testing.assert_allclose(lazy.loss, eager.loss, rtol=1e-12)
    with pytest.raises(sg.SymgradError, match="mode='batch'"):
        sg.gradient_descent(net, P, (X, Y), lr=0.5, epochs=1, mode="sgd", grad=f)
