"""The BLAS thread count during a layered batch (symgrad/compile/blas.py)."""

import numpy as np
import pytest

from symgrad.compile import blas


@pytest.mark.parametrize("value, threads", [("", 1), ("3", 3), ("0", 1), ("-2", 1), ("many", 1)])
def test_the_wanted_count_comes_from_the_environment(monkeypatch, value, threads):
    monkeypatch.setenv("SYMGRAD_BLAS_THREADS", value)
    assert blas.wanted_blas_threads() == threads


def _blas_counts(threadpoolctl) -> dict[str, int]:
    return {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


def test_inside_the_context_scipys_blas_runs_on_the_wanted_threads_and_after_it_as_before(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.delenv("SYMGRAD_BLAS_THREADS", raising=False)
    import scipy.linalg.cython_blas  # noqa: F401 - loaded, as it is once numba has compiled an np.dot

    limited = {lib.filepath for lib in blas._controller().lib_controllers}
    before = _blas_counts(threadpoolctl)
    assert any("scipy" in path for path in limited)  # SciPy's OpenBLAS, the one numba's np.dot calls
    assert not any("numpy.libs" in path for path in limited)  # the library NumPy's wheel brings is NumPy's
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        outside = _blas_counts(threadpoolctl)
        with blas.blas_threads():
            inside = _blas_counts(threadpoolctl)
        assert _blas_counts(threadpoolctl) == outside
    assert _blas_counts(threadpoolctl) == before
    assert all(inside[path] == 1 for path in limited)
    assert all(inside[path] == outside[path] for path in inside if path not in limited)  # NumPy's own is left alone


def test_numpys_own_blas_is_limited_only_where_scipy_shares_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.cython_blas  # noqa: F401

    every_blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    scipys = blas._scipys_own(every_blas)
    assert scipys is not None and all("scipy" in lib.filepath for lib in scipys.lib_controllers)
    numpys = [lib.filepath for lib in every_blas.lib_controllers if lib not in scipys.lib_controllers]
    if numpys:  # NumPy's wheel brings its own library: alone, it is not SciPy's
        assert blas._scipys_own(every_blas.select(filepath=numpys)) is None


def test_a_count_already_as_wanted_is_left_alone(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.cython_blas  # noqa: F401

    libs = blas._controller().lib_controllers
    monkeypatch.setenv("SYMGRAD_BLAS_THREADS", str(libs[0].num_threads))
    with threadpoolctl.threadpool_limits(limits=libs[0].num_threads, user_api="blas"):
        calls = []
        for lib in libs:
            monkeypatch.setattr(lib, "set_num_threads", lambda n, lib=lib: calls.append((lib.filepath, n)))
        with blas.blas_threads():
            pass
        assert calls == []  # setting even the same count costs a wide batch a few percent
        monkeypatch.setenv("SYMGRAD_BLAS_THREADS", str(libs[0].num_threads + 1))
        with blas.blas_threads():
            pass
        assert {n for _, n in calls} == {libs[0].num_threads + 1, libs[0].num_threads}  # set, then put back


def test_a_layered_batch_gives_the_same_numbers_on_any_thread_count(monkeypatch, tmp_path):
    import symgrad as sg

    net = sg.mlp([6, 5, 3])
    f = net.compile(cache_dir=tmp_path)
    rng = np.random.default_rng(0)
    p, X, Y = rng.normal(0, 0.5, net.n_params), rng.uniform(-1, 1, (2500, 6)), rng.uniform(0, 1, (2500, 3))
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("SYMGRAD_NUM_THREADS", threads)
        results.append(f.batch(p, X, Y))
    ref = sg.numeric_backprop_batch(net, p, X, Y)
    assert results[0][0] == results[1][0] and np.array_equal(results[0][1], results[1][1])  # blocks added in order
    assert results[0][0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(results[0][1], ref[1], rtol=1e-9, atol=1e-13)
