"""The speed targets of issue 14, each printed as a ratio against baselines run side by side.

    python benchmarks/targets.py              # all sections, about 10-15 minutes on 2 busy cores
    python benchmarks/targets.py --quick      # fewer repeats and smaller batches
    python benchmarks/targets.py --only call,batch,loaded,wide,compile,layered

Baselines: a hand-written numba value-and-gradient kernel (preallocated output, called
through its dispatcher), a hand-fused ``prange`` batch kernel, NumPy's hand backprop,
and JAX / PyTorch (optional extra ``bench``; skipped when not installed). The machine
is shared: contenders are interleaved round by round, every figure is a median, and
the load average is printed before and after each section. A target's ratio is also
shown paired by round (the median of the two contenders' ratios within each round),
which a load drifting over a section's minutes does not move. Cold compiles run in fresh
processes (imports not counted), JAX's trace + compile of the same loss likewise.

Targets: compile <= 5x JAX up to 1,122 parameters (first f() and first f.batch), <= 10 s
up to 5,000, linear growth; a layered network of compiled kinds ready in <= 0.5 s;
mlp([784, 256, 10]) built in <= 0.3 s; one call <= 1.5x the hand kernel; batch <= 1.15x
the hand-fused kernel on 1 and 2 threads and >= 1.5x faster than JAX; 2 threads never
slower than 1 on a loaded machine; 784-256-10 batch 256 <= 1.0x NumPy on 1 thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

import symgrad as sg  # noqa: E402
from symgrad.model.spec import load_spec  # noqa: E402

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # the optional bench extra
    jax = None
try:
    import torch

    torch.set_default_dtype(torch.float64)
except ImportError:
    torch = None


def datawhale() -> sg.Network:
    return load_spec(ROOT / "examples" / "datawhale.toml").network


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


class Timings(dict):
    """Median seconds per call of each candidate, with every round's time kept."""

    def __init__(self, times: dict[str, list[float]]):
        super().__init__({name: statistics.median(ts) for name, ts in times.items()})
        self.per_round = times

    def ratios(self, name: str, reference: str) -> list[float]:
        """name's time over reference's, round by round."""
        return [a / b for a, b in zip(self.per_round[name], self.per_round[reference])]

    def paired(self, name: str, reference: str) -> float:
        """The median over rounds of name's time over reference's in the same round: the
        two ran within a second of each other, so a load that drifts over the minutes of
        a section moves both (a ratio of the two medians mixes rounds of different load)."""
        return statistics.median(self.ratios(name, reference))


def interleaved(candidates: dict, rounds: int, number: int, settle: float = 0.0) -> Timings:
    """Median seconds per call of each candidate, the candidates taking turns every round.

    Each round takes them in a new random order (the same orders every run): a turn
    starts with the caches and the heap as the one before left them, and NumPy's large
    temporaries, for one, leave memory that costs the next contender page faults. In a
    fixed cycle the same contender would always pay.

    ``settle`` seconds pass before each turn: the thread pools of OpenMP, JAX and PyTorch
    spin for a while after their work, on the cores the next contender needs.
    """
    times: dict[str, list[float]] = {name: [] for name in candidates}
    orders = random.Random(0)
    for _ in range(rounds):
        names = list(candidates)
        orders.shuffle(names)
        for name in names:
            fn = candidates[name]
            time.sleep(settle)
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
    return Timings(times)


def show(title: str, medians: dict[str, float], reference: str, unit: float = 1e-6, unit_name: str = "us") -> None:
    print(f"  {title}")
    base = medians[reference]
    for name, t in medians.items():
        print(f"    {name:<34} {t / unit:10.3f} {unit_name}   {t / base:6.2f}x {reference}")


# --------------------------------------------------------------------------- hand-written baselines


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sig(z):
    e = np.exp(-abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def hand_kernel(p, x, y, g):
    """Seed 002's network, value and gradient, written by hand (preallocated g)."""
    w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, b1, b2 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]
    i1, i2, i3 = x[0], x[1], x[2]
    h1 = _sig(w1 * i1 + w2 * i2 + w3 * i3)
    h2 = w4 * i1 + w5 * i2 + w6 * i3
    o1 = _sig(w7 * h1 + w8 * h2 + b1)
    o2 = _sig(w9 * h1 + w10 * h2 + b2)
    r1, r2 = o1 - y[0], o2 - y[1]
    d1, d3 = r1 * o1 * (1.0 - o1), r2 * o2 * (1.0 - o2)
    du2 = (d1 * w7 + d3 * w9) * h1 * (1.0 - h1)
    dh2 = d1 * w8 + d3 * w10
    g[0], g[1], g[2] = du2 * i1, du2 * i2, du2 * i3
    g[3], g[4], g[5] = dh2 * i1, dh2 * i2, dh2 * i3
    g[6], g[7], g[8], g[9], g[10], g[11] = d1 * h1, d1 * h2, d3 * h1, d3 * h2, d1, d3
    return 0.5 * (r1 * r1 + r2 * r2)


@numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def hand_fused_batch(p, X, Y, n_blocks):
    """The same network's mean loss and gradient over rows, fused by hand: one prange over
    blocks, parameters in registers, the gradient summed in locals."""
    n = X.shape[0]
    losses = np.zeros(n_blocks)
    grads = np.zeros((n_blocks, 16))
    w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, b1, b2 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]
    for b in numba.prange(n_blocks):
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = 0.0
        total = 0.0
        for i in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            i1, i2, i3 = X[i, 0], X[i, 1], X[i, 2]
            h1 = _sig(w1 * i1 + w2 * i2 + w3 * i3)
            h2 = w4 * i1 + w5 * i2 + w6 * i3
            o1 = _sig(w7 * h1 + w8 * h2 + b1)
            o2 = _sig(w9 * h1 + w10 * h2 + b2)
            r1, r2 = o1 - Y[i, 0], o2 - Y[i, 1]
            total += 0.5 * (r1 * r1 + r2 * r2)
            d1, d3 = r1 * o1 * (1.0 - o1), r2 * o2 * (1.0 - o2)
            du2 = (d1 * w7 + d3 * w9) * h1 * (1.0 - h1)
            dh2 = d1 * w8 + d3 * w10
            a0 += du2 * i1
            a1 += du2 * i2
            a2 += du2 * i3
            a3 += dh2 * i1
            a4 += dh2 * i2
            a5 += dh2 * i3
            a6 += d1 * h1
            a7 += d1 * h2
            a8 += d3 * h1
            a9 += d3 * h2
            a10 += d1
            a11 += d3
        losses[b] = total
        grads[b, 0], grads[b, 1], grads[b, 2], grads[b, 3], grads[b, 4], grads[b, 5] = a0, a1, a2, a3, a4, a5
        grads[b, 6], grads[b, 7], grads[b, 8], grads[b, 9], grads[b, 10], grads[b, 11] = a6, a7, a8, a9, a10, a11
    return losses.sum() / n, grads.sum(axis=0)[:12] / n


def numpy_layered_backprop(Ws, bs, X, Y):
    """A sigmoid mlp with the mse loss, forward and backward by hand in NumPy (rows = samples)."""
    A, Us = [X], []
    for W, b in zip(Ws, bs):
        U = A[-1] @ W.T + b
        Us.append(U)
        A.append(1.0 / (1.0 + np.exp(-U)))
    R = A[-1] - Y
    loss = 0.5 * np.sum(R * R) / len(X)
    D = R * A[-1] * (1.0 - A[-1]) / len(X)
    grads = []
    for l in range(len(Ws) - 1, -1, -1):
        grads = [(D.T @ A[l]).ravel(), D.sum(axis=0)] + grads
        if l:
            D = (D @ Ws[l]) * A[l] * (1.0 - A[l])
    return loss, np.concatenate(grads)


# --------------------------------------------------------------------------- JAX and torch versions


def jax_datawhale_loss(p, x, y):
    sig = jax.nn.sigmoid
    h1 = sig(p[0] * x[0] + p[1] * x[1] + p[2] * x[2])
    h2 = p[3] * x[0] + p[4] * x[1] + p[5] * x[2]
    o1 = sig(p[6] * h1 + p[7] * h2 + p[10])
    o2 = sig(p[8] * h1 + p[9] * h2 + p[11])
    return 0.5 * ((o1 - y[0]) ** 2 + (o2 - y[1]) ** 2)


def jax_mlp_loss(sizes):
    def loss(p, x, y):
        at, a = 0, x
        for l in range(1, len(sizes)):
            W = p[at: at + sizes[l] * sizes[l - 1]].reshape(sizes[l], sizes[l - 1])
            at += sizes[l] * sizes[l - 1]
            b = p[at: at + sizes[l]]
            at += sizes[l]
            a = jax.nn.sigmoid(W @ a + b)
        return 0.5 * jnp.sum((a - y) ** 2)

    return loss


def torch_datawhale_loss(p, x, y):
    h1 = torch.sigmoid(p[0] * x[0] + p[1] * x[1] + p[2] * x[2])
    h2 = p[3] * x[0] + p[4] * x[1] + p[5] * x[2]
    o1 = torch.sigmoid(p[6] * h1 + p[7] * h2 + p[10])
    o2 = torch.sigmoid(p[8] * h1 + p[9] * h2 + p[11])
    return 0.5 * ((o1 - y[..., 0]) ** 2 + (o2 - y[..., 1]) ** 2)


# --------------------------------------------------------------------------- sections


P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])
X1 = np.array([1.0, 0.5, -0.3])
Y1 = np.array([0.2, 0.9])


def section_call(quick: bool) -> None:
    print(f"\n[one call] seed 002's network, loss and gradient of one sample ({load()})")
    f = datawhale().compile(backend="straight-line", jit_after=0)  # the compiled call, from the first
    g = np.empty(12)
    hand_kernel(P, X1, Y1, g)
    loss, grad = f(P, X1, Y1)
    assert abs(loss - hand_kernel(P, X1, Y1, g)) < 1e-15 and np.allclose(grad, g, rtol=1e-13)
    out = np.empty(12)
    cands = {
        "hand @njit (dispatcher, prealloc.)": lambda: hand_kernel(P, X1, Y1, g),
        "symgrad f(p, x, y)": lambda: f(P, X1, Y1),
        "symgrad f(p, x, y, out=g)": lambda: f(P, X1, Y1, out=out),
        # the same call with out passed by position: Python builds no dict of keywords
        "symgrad f(p, x, y, g)": lambda: f(P, X1, Y1, out),
    }
    if jax is not None:
        jf = jax.jit(jax.value_and_grad(jax_datawhale_loss))
        jp, jx, jy = jnp.asarray(P), jnp.asarray(X1), jnp.asarray(Y1)
        jf(jp, jx, jy)[1].block_until_ready()
        cands["JAX jit(value_and_grad)"] = lambda: jf(jp, jx, jy)[1].block_until_ready()
    if torch is not None:
        tp, tx, ty = torch.tensor(P, requires_grad=True), torch.tensor(X1), torch.tensor(Y1)

        def torch_call():
            tp.grad = None
            torch_datawhale_loss(tp, tx, ty).backward()

        cands["torch autograd"] = torch_call
    # Short rounds, many of them: the other processes on the machine come and go within seconds.
    medians = interleaved(cands, rounds=31 if quick else 151, number=1000)
    show("median per call", medians, "hand @njit (dispatcher, prealloc.)")
    hand = medians["hand @njit (dispatcher, prealloc.)"]
    print(f"    target: symgrad <= 1.5x hand: {medians['symgrad f(p, x, y)'] / hand:.2f}x (a new gradient array each call), "
          f"{medians['symgrad f(p, x, y, out=g)'] / hand:.2f}x (preallocated, as the hand kernel), "
          f"{medians['symgrad f(p, x, y, g)'] / hand:.2f}x (preallocated, by position)")
    print(f"  ({load()})")


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    return X, Y


def section_batch(quick: bool, busy: bool = False) -> None:
    n = 200_000 if quick else 1_000_000
    title = "[loaded machine] the same batch while another process keeps one core busy" if busy else f"[batch] seed 002's network, {n:,} samples"
    spinner = None
    if busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1.0)
    try:
        print(f"\n{title} ({load()})")
        f = datawhale().compile(backend="straight-line", jit_after=0)
        X, Y = _data(n)
        ref = hand_fused_batch(P, X, Y, 2)
        got = f.batch(P, X, Y)
        assert abs(got[0] - ref[0]) < 1e-12 and np.allclose(got[1], ref[1], rtol=1e-10)
        cands = {}
        for threads in (1, 2):
            def hand(threads=threads):
                numba.set_num_threads(threads)
                hand_fused_batch(P, X, Y, threads)

            def ours(threads=threads):
                os.environ["SYMGRAD_NUM_THREADS"] = str(threads)
                f.batch(P, X, Y)

            cands[f"hand-fused prange, {threads} thread(s)"] = hand
            cands[f"symgrad f.batch, {threads} thread(s)"] = ours
        if jax is not None and not busy:
            jb = jax.jit(lambda p, X, Y: jax.value_and_grad(lambda q: jnp.mean(jax.vmap(lambda x, y: jax_datawhale_loss(q, x, y))(X, Y)))(p))
            jp, jX, jY = jnp.asarray(P), jnp.asarray(X), jnp.asarray(Y)
            jb(jp, jX, jY)[1].block_until_ready()
            cands["JAX jit(vmap), its own threads"] = lambda: jb(jp, jX, jY)[1].block_until_ready()
        if torch is not None and not busy:
            tp, tX, tY = torch.tensor(P, requires_grad=True), torch.tensor(X), torch.tensor(Y)

            def torch_batch():
                tp.grad = None
                torch_datawhale_loss(tp, tX.T, tY).mean().backward()

            cands["torch autograd (vectorised)"] = torch_batch
        medians = interleaved(cands, rounds=5 if quick else 15, number=1, settle=0.0 if busy else 0.2)
        show("median per batch", medians, "hand-fused prange, 1 thread(s)", unit=1e-3, unit_name="ms")
        for threads in (1, 2):
            ours, hand = f"symgrad f.batch, {threads} thread(s)", f"hand-fused prange, {threads} thread(s)"
            print(f"    target: symgrad <= 1.15x hand-fused on {threads} thread(s): {medians[ours] / medians[hand]:.2f}x "
                  f"(paired by round: {medians.paired(ours, hand):.2f}x)")
        two, one = "symgrad f.batch, 2 thread(s)", "symgrad f.batch, 1 thread(s)"
        print(f"    symgrad 2 threads / 1 thread: {medians[two] / medians[one]:.2f} (paired by round: {medians.paired(two, one):.2f}; "
              f"worst round: {max(medians.ratios(two, one)):.2f}) (target <= 1.00)")
        if busy:  # the same, each batch started after 0.2 s idle (the runs above follow each other)
            idle = interleaved({t: cands[f"symgrad f.batch, {t} thread(s)"] for t in (1, 2)}, rounds=5 if quick else 15, number=1, settle=0.2)
            print(f"    symgrad 2 threads / 1 thread, each batch after 0.2 s idle: {idle[2] / idle[1]:.2f} (paired by round: {idle.paired(2, 1):.2f})")
        hand_two = medians["hand-fused prange, 2 thread(s)"] / medians["hand-fused prange, 1 thread(s)"]
        print(f"    hand-fused prange ({numba.threading_layer()} layer) 2 threads / 1 thread: {hand_two:.2f}")
        if "JAX jit(vmap), its own threads" in medians:
            best = min(medians["symgrad f.batch, 1 thread(s)"], medians["symgrad f.batch, 2 thread(s)"])
            print(f"    target: >= 1.5x faster than JAX: {medians['JAX jit(vmap), its own threads'] / best:.2f}x")
        print(f"  ({load()})")
    finally:
        os.environ.pop("SYMGRAD_NUM_THREADS", None)
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def _page_faults(run, calls: int = 5) -> float:
    """Minor page faults per call of run (fresh memory the system maps in on first touch)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        run()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def section_wide(quick: bool) -> None:
    sizes = [784, 256, 10]
    print(f"\n[wide layered] mlp {sizes}, sigmoid, mse, batch 256 ({load()})")
    t0 = time.perf_counter()
    net = sg.mlp(sizes)
    built = time.perf_counter() - t0
    print(f"    sg.mlp({sizes}) built in {built:.3f} s, parameter symbols built: {net._params is not None} (target <= 0.3 s)")
    f = net.compile()
    rng = np.random.default_rng(0)
    p = rng.normal(0, 0.05, net.n_params)
    X, Y = rng.uniform(0, 1, (256, 784)), rng.uniform(0, 1, (256, 10))
    Ws, bs, at = [], [], 0
    for l in range(1, len(sizes)):
        Ws.append(p[at: at + sizes[l] * sizes[l - 1]].reshape(sizes[l], sizes[l - 1]))
        at += sizes[l] * sizes[l - 1]
        bs.append(p[at: at + sizes[l]])
        at += sizes[l]
    ref = numpy_layered_backprop(Ws, bs, X, Y)
    got = f.batch(p, X, Y)
    assert abs(got[0] - ref[0]) < 1e-12 * max(1, abs(ref[0])) and np.allclose(got[1], ref[1], rtol=1e-9, atol=1e-15)
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        print("    (threadpoolctl absent: it is a dependency of symgrad; skipped)")
        return

    blas = ThreadpoolController().select(user_api="blas")  # NumPy's OpenBLAS and SciPy's (numba's np.dot)
    # NumPy is measured at its fastest. Until an array larger than its 1.6 MB temporaries
    # has been freed, glibc gives each freed temporary back to the system and the next
    # one costs page faults (about 1,100 a call, 7-9 ms instead of 5-6); freeing one
    # larger array makes glibc keep such memory. (The PyTorch contender does the same,
    # but only where PyTorch is installed.)
    np.ones(4 * 2**20 // 8)

    def numpy_threads(threads):
        def run():
            with blas.limit(limits=threads):
                numpy_layered_backprop(Ws, bs, X, Y)
        return run

    def symgrad_threads(threads):
        def run():  # numba's np.dot calls SciPy's OpenBLAS: the same thread count
            os.environ["SYMGRAD_NUM_THREADS"] = str(threads)
            with blas.limit(limits=threads):
                f.batch(p, X, Y)
        return run

    cands = {}
    for threads in (1, 2):
        cands[f"NumPy hand backprop, {threads} BLAS thread(s)"] = numpy_threads(threads)
        cands[f"symgrad f.batch, {threads} thread(s)"] = symgrad_threads(threads)
    if jax is not None:
        jb = jax.jit(jax.value_and_grad(lambda q, X, Y: jnp.mean(jax.vmap(lambda x, y: jax_mlp_loss(sizes)(q, x, y))(X, Y))))
        jp, jX, jY = jnp.asarray(p), jnp.asarray(X), jnp.asarray(Y)
        jb(jp, jX, jY)[1].block_until_ready()
        cands["JAX jit(vmap), its own threads"] = lambda: jb(jp, jX, jY)[1].block_until_ready()
    if torch is not None:
        tW = [torch.tensor(W, requires_grad=True) for W in Ws]
        tb = [torch.tensor(b, requires_grad=True) for b in bs]
        tX, tY = torch.tensor(X), torch.tensor(Y)

        def torch_batch():
            a = tX
            for W, b in zip(tW, tb):
                W.grad = b.grad = None
                a = torch.sigmoid(a @ W.T + b)
            (0.5 * ((a - tY) ** 2).sum() / len(X)).backward()

        cands["torch autograd, its own threads"] = torch_batch
    try:
        medians = interleaved(cands, rounds=7 if quick else 31, number=3, settle=0.2)
    finally:
        os.environ.pop("SYMGRAD_NUM_THREADS", None)
    show("median per batch", medians, "NumPy hand backprop, 1 BLAS thread(s)", unit=1e-3, unit_name="ms")
    print(f"    page faults per call: NumPy {_page_faults(cands['NumPy hand backprop, 1 BLAS thread(s)']):.0f}, "
          f"symgrad {_page_faults(cands['symgrad f.batch, 1 thread(s)']):.0f}")
    ours, numpy_one = "symgrad f.batch, 1 thread(s)", "NumPy hand backprop, 1 BLAS thread(s)"
    print(f"    target: symgrad <= 1.0x NumPy on 1 thread: {medians[ours] / medians[numpy_one]:.2f}x "
          f"(paired by round: {medians.paired(ours, numpy_one):.2f}x)")
    ours_two = "symgrad f.batch, 2 thread(s)"
    print(f"    symgrad 2 threads / 1 thread: {medians[ours_two] / medians[ours]:.2f} (paired by round: {medians.paired(ours_two, ours):.2f}); "
          f"NumPy 2 BLAS threads / 1: {medians['NumPy hand backprop, 2 BLAS thread(s)'] / medians[numpy_one]:.2f}")
    print(f"  ({load()})")


# --------------------------------------------------------------------------- compile, in fresh processes

_COLD = r"""
import json, os, sys, time
import numpy as np
sys.path.insert(0, {root!r})
import symgrad as sg
from symgrad.model.spec import load_spec
which, what, backend = sys.argv[1], sys.argv[2], sys.argv[3]
net = load_spec({root!r} + "/examples/datawhale.toml").network if which == "datawhale" else sg.mlp([int(w) for w in which.split("-")])
rng = np.random.default_rng(0)
p = rng.uniform(-0.5, 0.5, net.n_params)
x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0, 1, len(net.targets))
import numba  # imported, as JAX is in its measurement; numba's first compile in a process is counted
if len(sys.argv) > 4 and sys.argv[4] == "started":  # ... unless numba is started first, as JAX's backend is
    numba.njit(lambda v: v + 1.0)(1.0)
t0 = time.perf_counter()
# "compiled": the default backend with numba compiling on the first call (jit_after=0)
f = net.compile(**({{}} if backend == "default" else {{"jit_after": 0}} if backend == "compiled" else {{"backend": backend}}))
if what == "call":
    f(p, x, y)
else:
    f.batch(p, np.tile(x, (64, 1)), np.tile(y, (64, 1)))
seconds = time.perf_counter() - t0
backend = f.backend.name + (", compiled" if backend == "compiled" else "")
if what == "call" and f._plain_calls_left:  # this f() ran as plain Python: the compile comes at call 1,001
    backend += ", plain"
    t1 = time.perf_counter()
    for _ in range(f._plain_calls_left + 1):
        f(p, x, y)
    print(json.dumps({{"seconds": seconds, "backend": backend, "to_compiled": seconds + time.perf_counter() - t1}}))
else:
    print(json.dumps({{"seconds": seconds, "backend": backend}}))
"""

_NUMBA_START = r"""
import json, os, sys, time
import numba, numpy as np
sys.path.insert(0, os.environ["SYMGRAD_CACHE_DIR"])
t0 = time.perf_counter()
from symgrad_bench_numba_start import twice
twice(np.ones(3))
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

_JAX_COLD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
sys.path.insert(0, {bench!r})
from targets import jax_datawhale_loss, jax_mlp_loss
which, what = sys.argv[1], sys.argv[2]
if which == "datawhale":
    loss, n_params, n_in, n_out = jax_datawhale_loss, 12, 3, 2
else:
    sizes = [int(w) for w in which.split("-")]
    loss, n_in, n_out = jax_mlp_loss(sizes), sizes[0], sizes[-1]
    n_params = sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))
rng = np.random.default_rng(0)
p, x, y = rng.uniform(-0.5, 0.5, n_params), rng.uniform(-1, 1, n_in), rng.uniform(0, 1, n_out)
jnp.zeros(1).block_until_ready()  # the backend started, as numba is imported in symgrad's run
t0 = time.perf_counter()
if what == "call":
    jax.jit(jax.value_and_grad(loss))(p, x, y)[1].block_until_ready()
else:
    X, Y = np.tile(x, (64, 1)), np.tile(y, (64, 1))
    batched = jax.jit(lambda q, X, Y: jax.value_and_grad(lambda q: jnp.mean(jax.vmap(lambda a, b: loss(q, a, b))(X, Y)))(q))
    batched(p, X, Y)[1].block_until_ready()
print(json.dumps({{"seconds": time.perf_counter() - t0}}))
"""


def _run(script: str, args: list[str], cache: Path | None) -> dict:
    env = dict(os.environ)
    if cache is not None:
        env["SYMGRAD_CACHE_DIR"] = str(cache)
    out = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_in_copy(script: str, args: list[str], machine: Path) -> dict:
    """_run with a fresh copy of the machine's cache: what was compiled once per machine, nothing of this network."""
    cache = Path(tempfile.mkdtemp(prefix="symgrad-bench-"))
    shutil.rmtree(cache)
    shutil.copytree(machine, cache, copy_function=shutil.copy2)
    try:
        return _run(script, args, cache)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def section_compile(quick: bool) -> None:
    print(f"\n[compile] cold start of a new network to its first f() and first f.batch, in fresh processes ({load()})")
    print("  The machine's own kernels (the tape interpreter, a layered kind's kernel) were compiled once before,")
    print("  as after installation; each network itself is new to the cache (a fresh copy of it per run).")
    machine = Path(tempfile.mkdtemp(prefix="symgrad-bench-machine-"))
    t0 = time.perf_counter()
    _run(_COLD.format(root=str(ROOT)), ["8-8-2", "call", "tape"], machine)
    _run(_COLD.format(root=str(ROOT)), ["8-8-2", "batch", "tape"], machine)
    first_tape = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run(_COLD.format(root=str(ROOT)), ["3-4-2", "call", "layered"], machine)
    _run(_COLD.format(root=str(ROOT)), ["3-4-2", "batch", "layered"], machine)
    first_layered = time.perf_counter() - t0
    print(f"    one-time compiles on this machine (two processes each, imports included): tape interpreter {first_tape:.1f} s, "
          f"layered sigmoid/mse kernel {first_layered:.1f} s")
    script, jax_script = _COLD.format(root=str(ROOT)), _JAX_COLD.format(root=str(ROOT), bench=str(Path(__file__).parent))
    networks = [("datawhale", 12, "default"), ("datawhale", 12, "compiled"), ("datawhale", 12, "tape"), ("8-8-2", 90, "default"), ("16-16-2", 306, "default"),
                ("32-32-2", 1122, "default"), ("32-32-2", 1122, "tape"), ("48-48-2", 2450, "default"), ("48-48-2", 2450, "tape"),
                ("64-64-2", 4290, "default"), ("64-64-2", 4290, "tape")]
    if quick:
        networks = networks[:7]
    reps = 2 if quick else 3
    print("  A straight-line network runs its first 1,000 f() as plain Python ('plain'); 'compiled' is the same")
    print("  network compiled by numba on its first call (jit_after=0).")
    print(f"    {'network':<10} {'params':>6} {'backend':<24} {'first f()':>10} {'JAX':>7} {'ratio':>6}   {'first batch':>11} {'JAX':>7} {'ratio':>6}")
    for which, n_params, chosen in networks:
        row, to_compiled = {}, []
        for what in ("call", "batch"):
            ours, theirs, backend = [], [], ""
            for _ in range(reps):
                result = _run_in_copy(script, [which, what, chosen], machine)
                ours.append(result["seconds"])
                backend = result["backend"]
                if "to_compiled" in result:
                    to_compiled.append(result["to_compiled"])
                if jax is not None:
                    theirs.append(_run(jax_script, [which, what], None)["seconds"])
            row[what] = (statistics.median(ours), statistics.median(theirs) if theirs else float("nan"), backend)
        (c, cj, backend), (b, bj, _) = row["call"], row["batch"]
        print(f"    {which:<10} {n_params:>6} {backend:<24} {c:9.2f}s {cj:6.2f}s {c / cj:5.1f}x   {b:10.2f}s {bj:6.2f}s {b / bj:5.1f}x")
        if to_compiled:
            print(f"    {'':<10} {'':>6} {'  ... to the first compiled f() (call 1,001)':<36} {statistics.median(to_compiled):5.2f}s")
    # Like for like: JAX's script starts its backend (jnp.zeros) before the clock; here numba
    # compiles a one-line function first, which loads its registries (and SciPy, for np.dot).
    started, theirs = [], []
    for _ in range(reps):
        started.append(_run_in_copy(script, ["datawhale", "call", "compiled", "started"], machine)["seconds"])
        if jax is not None:
            theirs.append(_run(jax_script, ["datawhale", "call"], None)["seconds"])
    s_med, j_med = statistics.median(started), statistics.median(theirs) if theirs else float("nan")
    print(f"    datawhale compiled, numba started before the clock as JAX's backend is: first f() {s_med:.2f}s, JAX {j_med:.2f}s, "
          f"{s_med / j_med:.1f}x")
    print("    targets: <= 5x JAX up to 1,122 parameters, <= 10 s up to 5,000, growth at most linear")
    print(f"  ({load()})")
    shutil.rmtree(machine, ignore_errors=True)


def section_layered(quick: bool) -> None:
    print(f"\n[layered kinds compiled before] a new layered network ready in a fresh process ({load()})")
    machine = Path(tempfile.mkdtemp(prefix="symgrad-bench-machine-"))
    (machine / "symgrad_bench_numba_start.py").write_text(
        "import numba\n\n\n@numba.njit(cache=True)\ndef twice(v):\n    return 2.0 * v.sum()\n", encoding="utf-8"
    )
    script = _COLD.format(root=str(ROOT))
    _run(script, ["5-4-3", "call", "layered"], machine)  # the sigmoid/mse kind, compiled once
    _run(_NUMBA_START, [], machine)  # compiled and cached
    startup = [_run(_NUMBA_START, [], machine)["seconds"] for _ in range(2 if quick else 3)]
    print(f"    numba's own start in a process (a cached one-line kernel to its first result): {statistics.median(startup):.2f} s")
    print("  The first calls run the module as plain Python (NumPy's matrix products); the 1,001st loads the")
    print("  compiled kernel from numba's cache.")
    for which in ("30-20-2", "100-50-10", "784-256-10"):
        runs = [_run(script, [which, "call", "default"], machine) for _ in range(2 if quick else 3)]
        first, backend = statistics.median(r["seconds"] for r in runs), runs[0]["backend"]
        compiled = statistics.median(r.get("to_compiled", r["seconds"]) for r in runs)
        print(f"    mlp {which:<12} net.compile() to first f(): {first:.2f} s (target <= 0.5 s; {backend}); "
              f"to the first compiled f(): {compiled:.2f} s")
    shutil.rmtree(machine, ignore_errors=True)
    print(f"  ({load()})")


SECTIONS = {"call": section_call, "batch": section_batch, "loaded": lambda q: section_batch(q, busy=True), "wide": section_wide,
            "layered": section_layered, "compile": section_compile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    print(f"symgrad {sg.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
          f"jax {jax.__version__ if jax else 'absent'}, torch {torch.__version__ if torch else 'absent'}; {load()}")
    for name in args.only.split(","):
        SECTIONS[name.strip()](args.quick)


if __name__ == "__main__":
    main()
