"""How fast are symgrad's compiled gradients? Seed 002's network against the baselines.

    python benchmarks/grad_speed.py            # about a minute
    python benchmarks/grad_speed.py --quick    # smaller batch, fewer repeats
    python benchmarks/grad_speed.py --compile-scaling   # also cold compiles of wider mlps (~10 minutes)

All speed ratios are measured in this one process, each timing the best of several
repeats (other processes on the machine only ever make a timing slower). Compile
times are measured in fresh subprocesses, as CPU time of that process; the fixed
start-up of numba itself (its first compilation in a process initialises LLVM and
its registries, and imports scipy for BLAS when scipy is installed) is reported on
its own line, since every numba program pays it once whatever it compiles.

Baselines: a hand-written NumPy backprop of the same network (one sample, and
batched as in seed 004), ``sympy.lambdify(..., "numpy", cse=True)`` of the derived
gradient, and JAX ``jit(value_and_grad)`` / PyTorch autograd when importable
(optional extra ``bench``; they are not required).

Targets (issue 3): single call <= 0.5 us (>= 20x the NumPy backprop); the 1M-sample
batch >= 4x faster than batched NumPy (and >= 3x faster than JAX); cold compile
<= 2 s; cached start <= 0.3 s; gradient program <= 2x the forward pass's operations.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np
import sympy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symgrad as sg  # noqa: E402
from symgrad.compile.program import gradient_program, split, value_program  # noqa: E402
from symgrad.compile.straight_line import DEFAULT_PART_OPS  # noqa: E402
from symgrad.model.functions import to_elementary  # noqa: E402
from symgrad.model.spec import load_spec  # noqa: E402


def datawhale() -> sg.Network:
    return load_spec(Path(__file__).resolve().parent.parent / "examples" / "datawhale.toml").network


# --------------------------------------------------------------------------- NumPy baselines


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_backprop(p, x, y):
    """Seed 002 by hand, as seed 004 writes backprop: matrices, δ's, outer products."""
    W1 = p[0:6].reshape(2, 3)  # rows: (w1 w2 w3) -> u2, (w4 w5 w6) -> h2
    W2 = p[6:10].reshape(2, 2)  # rows: (w7 w8) -> u1, (w9 w10) -> u3
    b = p[10:12]
    a = W1 @ x
    h = np.array([_sigmoid(a[0]), a[1]])  # h1 = g(u2), h2 linear
    o = _sigmoid(W2 @ h + b)
    loss = 0.5 * np.sum((o - y) ** 2)
    delta_out = (o - y) * o * (1.0 - o)
    delta_hidden = (W2.T @ delta_out) * np.array([h[0] * (1.0 - h[0]), 1.0])
    return loss, np.concatenate([np.outer(delta_hidden, x).ravel(), np.outer(delta_out, h).ravel(), delta_out])


def numpy_batch(p, X, Y):
    """The same, over the rows of X and Y (the row-vector convention of seed 004), averaged."""
    W1 = p[0:6].reshape(2, 3)
    W2 = p[6:10].reshape(2, 2)
    b = p[10:12]
    A = X @ W1.T
    H = np.column_stack([_sigmoid(A[:, 0]), A[:, 1]])
    O = _sigmoid(H @ W2.T + b)
    n = X.shape[0]
    loss = 0.5 * np.sum((O - Y) ** 2) / n
    D_out = (O - Y) * O * (1.0 - O)
    D_hidden = (D_out @ W2) * np.column_stack([H[:, 0] * (1.0 - H[:, 0]), np.ones(n)])
    grad = np.concatenate([(D_hidden.T @ X).ravel(), (D_out.T @ H).ravel(), D_out.sum(axis=0)]) / n
    return loss, grad


def lambdified(net: sg.Network):
    """sympy.lambdify of the loss and the expanded gradient, NumPy backend, cse=True."""
    leaves = list(net.params + net.inputs + net.targets)
    exprs = [to_elementary(net.loss_expr)] + [to_elementary(d.expanded) for d in net.gradients()]
    fn = sympy.lambdify(leaves, exprs, "numpy", cse=True)
    return lambda p, x, y: fn(*p, *x, *y)


# --------------------------------------------------------------------------- timing


def best(fn, number: int, repeat: int) -> float:
    """Seconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
clock = time.process_time
t0 = clock()
import numpy as np, numba
from grad_speed import datawhale
t_import = clock() - t0
@numba.njit
def _warm(a):
    return a[0] + 1.0
t0 = clock(); _warm(np.ones(2)); t_numba = clock() - t0
net = datawhale()
p, x, y = np.full(12, 0.1), np.array([1.0, 0.5, -0.3]), np.array([0.2, 0.9])
t0 = clock()
f = net.compile(jit_after=0)  # compiled on the first call: the compile is what is timed
t_module = clock() - t0
f(p, x, y)
t_first = clock() - t0
t0 = clock(); f.value(p, x, y); t_value = clock() - t0
t0 = clock(); f.batch(p, np.ones((8, 3)), np.ones((8, 2))); t_batch = clock() - t0
print(json.dumps(dict(imports=t_import, numba_init=t_numba, module=t_module, first_call=t_first,
                      value=t_value, batch=t_batch, info=f.cache_info())))
"""


def compile_times(cache_dir: str) -> dict:
    script = _CHILD.format(root=str(ROOT), bench=str(Path(__file__).parent))
    env = dict(os.environ, SYMGRAD_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


_SCALING_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np, numba, symgrad as sg
@numba.njit
def _warm(a):
    return a[0] + 1.0
_warm(np.ones(2))
net = sg.mlp({sizes})
f = net.compile(part_ops={part_ops}, jit_after=0)
rng = np.random.default_rng(0)
t0 = time.process_time()
f(rng.normal(size=len(net.params)), rng.normal(size={sizes}[0]), rng.uniform(size={sizes}[-1]))
print(time.process_time() - t0)
"""


def compile_scaling(networks=([8, 8, 2], [16, 16, 2], [32, 32, 2], [48, 48, 2])) -> None:
    print("\ncold numba compile of the single-sample gradient (CPU s, numba start-up excluded)")
    for sizes in networks:
        net = sg.mlp(sizes)
        parts = len(split(gradient_program(net), DEFAULT_PART_OPS).parts)
        for part_ops in (0, DEFAULT_PART_OPS) if parts > 1 else (0,):
            with tempfile.TemporaryDirectory() as cache:
                script = _SCALING_CHILD.format(root=str(ROOT), sizes=sizes, part_ops=part_ops)
                env = dict(os.environ, SYMGRAD_CACHE_DIR=cache)
                out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            seconds = float(out.stdout.split()[0])
            label = "one function" if part_ops == 0 else f"{parts} parts (part_ops={part_ops})"
            print(f"  mlp {'-'.join(map(str, sizes)):>8} ({len(net.params):5d} params): {label:<28} {seconds:7.2f} s", flush=True)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 samples and fewer repeats")
    parser.add_argument("--compile-scaling", action="store_true", help="also time cold compiles of wider mlps")
    args = parser.parse_args()
    n_batch = 100_000 if args.quick else 1_000_000
    repeat = 3 if args.quick else 7

    net = datawhale()
    print(f"seed 002 (datawhale): {len(net.params)} parameters, {len(net.steps)} steps; numba threads: ", end="")
    import numba

    print(numba.get_num_threads())

    # -- compile times, in fresh processes ---------------------------------------------
    with tempfile.TemporaryDirectory() as cache:
        cold = compile_times(cache)
        cached = compile_times(cache)
    print("\ncompile (fresh processes, CPU seconds)")
    print(f"  import numpy+numba+symgrad             {cold['imports']:6.2f} s")
    print(f"  numba's own start-up (first compile)   {cold['numba_init']:6.2f} s   (every numba program pays this once)")
    print(f"  cold: compile() + first call           {cold['first_call']:6.2f} s   (generate {cold['module']:.2f} s); target <= 2 s")
    print(f"        + value()  {cold['value']:.2f} s, + batch() (parallel) {cold['batch']:.2f} s, each compiled on first use")
    print(f"  cached: compile() + first call         {cached['first_call']:6.2f} s   target <= 0.3 s; numba cache {cached['info']}")

    # -- one sample ---------------------------------------------------------------
    f = net.compile(jit_after=0)
    rng = np.random.default_rng(0)
    p, x, y = rng.normal(size=12) * 0.5, rng.normal(size=3), rng.uniform(size=2)
    loss, g = f(p, x, y)
    ref_loss, ref_g = numpy_backprop(p, x, y)
    assert np.isclose(loss, ref_loss, rtol=1e-12) and np.allclose(g, ref_g, rtol=1e-11), "baseline disagrees"
    lam = lambdified(net)
    lam_values = lam(p, x, y)
    assert np.allclose(lam_values[1:], g, rtol=1e-10), "lambdify disagrees"

    number = 20_000 if args.quick else 100_000
    kernel, out = f.module.call_grad, np.empty(12)
    entry = next(iter(kernel.overloads.values())).entry_point  # compiled at f's first call
    t_call = best(lambda: f(p, x, y), number, repeat)
    t_kernel = best(lambda: kernel(p, x, y, out), number, repeat)  # call_grad: grad_kernel with the sizes checked
    t_entry = best(lambda: entry(p, x, y, out), number, repeat)
    t_numpy = best(lambda: numpy_backprop(p, x, y), number // 10, repeat)
    t_lambdify = best(lambda: lam(p, x, y), number // 10, repeat)
    print("\none sample (best of repeats)")
    print(f"  symgrad f(params, x, y)                {t_call * 1e6:8.2f} us   (checks arguments, allocates the gradient)")
    print(f"  the kernel through numba's dispatcher  {t_kernel * 1e6:8.2f} us")
    print(f"  the kernel's compiled entry point      {t_entry * 1e6:8.2f} us   (what f calls after its checks)")
    print(f"  NumPy backprop by hand                 {t_numpy * 1e6:8.2f} us   -> symgrad {t_numpy / t_call:6.1f}x faster (target >= 20x)")
    print(f"  sympy.lambdify(numpy, cse=True)        {t_lambdify * 1e6:8.2f} us   -> symgrad {t_lambdify / t_call:6.1f}x faster")

    # -- a batch ----------------------------------------------------------------
    X, Y = rng.normal(size=(n_batch, 3)), rng.uniform(size=(n_batch, 2))
    b_loss, b_g = f.batch(p, X, Y)
    r_loss, r_g = numpy_batch(p, X, Y)
    assert np.isclose(b_loss, r_loss, rtol=1e-9) and np.allclose(b_g, r_g, rtol=1e-8, atol=1e-15), "batched baseline disagrees"
    from symgrad.compile.gradfn import batch_threads

    t_batch = best(lambda: f.batch(p, X, Y), 1, repeat)
    threads = batch_threads()
    os.environ["SYMGRAD_NUM_THREADS"] = "1"
    t_batch_1 = best(lambda: f.batch(p, X, Y), 1, repeat)
    del os.environ["SYMGRAD_NUM_THREADS"]
    t_numpy_batch = best(lambda: numpy_batch(p, X, Y), 1, repeat)
    print(f"\n{n_batch:,}-sample batch (mean loss and gradient)")
    print(f"  symgrad f.batch, {threads} threads              {t_batch * 1e3:8.2f} ms")
    print(f"  symgrad f.batch, 1 thread              {t_batch_1 * 1e3:8.2f} ms")
    print(f"  NumPy batched backprop                 {t_numpy_batch * 1e3:8.2f} ms   -> symgrad {t_numpy_batch / t_batch:6.1f}x faster "
          f"({t_numpy_batch / t_batch_1:.1f}x on one thread; target >= 4x)")

    _optional_baselines(p, x, y, X, Y, t_call, t_batch, repeat)

    # -- the cheap-gradient principle --------------------------------------------------
    forward = value_program(net).op_count()
    program = gradient_program(net)
    whole, reverse = program.op_count(), program.op_count(["adjoint", "gradient"])
    print("\noperation count (sympy.count_ops of the generated programs)")
    print(f"  forward pass {forward}, adjoints + gradient {reverse}, whole gradient program {whole}")
    print(f"  gradient work / forward pass = {reverse / forward:.2f} (target <= 2); whole program / forward = {whole / forward:.2f}")

    if args.compile_scaling:
        compile_scaling()


def _optional_baselines(p, x, y, X, Y, t_call, t_batch, repeat) -> None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("  JAX: not installed (optional extra 'bench')")
    else:
        jax.config.update("jax_enable_x64", True)

        def loss_fn(q, xs, ys):
            W1, W2, b = q[0:6].reshape(2, 3), q[6:10].reshape(2, 2), q[10:12]
            a = xs @ W1.T
            h = jnp.stack([jax.nn.sigmoid(a[..., 0]), a[..., 1]], axis=-1)
            o = jax.nn.sigmoid(h @ W2.T + b)
            return jnp.mean(0.5 * jnp.sum((o - ys) ** 2, axis=-1))

        step = jax.jit(jax.value_and_grad(loss_fn))
        jp, jx, jy, jX, jY = map(jnp.asarray, (p, x[None, :], y[None, :], X, Y))
        step(jp, jx, jy)[1].block_until_ready()
        step(jp, jX, jY)[1].block_until_ready()
        t_one = best(lambda: step(jp, jx, jy)[1].block_until_ready(), 2000, repeat)
        t_many = best(lambda: step(jp, jX, jY)[1].block_until_ready(), 1, repeat)
        print(f"  JAX jit(value_and_grad): one sample {t_one * 1e6:.2f} us ({t_one / t_call:.1f}x symgrad), batch {t_many * 1e3:.2f} ms ({t_many / t_batch:.1f}x symgrad; target >= 3x)")
    try:
        import torch
    except ImportError:
        print("  PyTorch: not installed (optional extra 'bench')")
    else:
        def torch_step(q, xs, ys):
            q = torch.tensor(q, requires_grad=True)
            xs, ys = torch.as_tensor(xs), torch.as_tensor(ys)
            W1, W2, b = q[0:6].reshape(2, 3), q[6:10].reshape(2, 2), q[10:12]
            a = xs @ W1.T
            h = torch.stack([torch.sigmoid(a[..., 0]), a[..., 1]], dim=-1)
            o = torch.sigmoid(h @ W2.T + b)
            loss = (0.5 * ((o - ys) ** 2).sum(dim=-1)).mean()
            loss.backward()
            return loss.item(), q.grad

        t_one = best(lambda: torch_step(p, x[None, :], y[None, :]), 500, repeat)
        t_many = best(lambda: torch_step(p, X, Y), 1, repeat)
        print(f"  PyTorch autograd: one sample {t_one * 1e6:.2f} us ({t_one / t_call:.1f}x symgrad), batch {t_many * 1e3:.2f} ms ({t_many / t_batch:.1f}x symgrad)")


if __name__ == "__main__":
    main()
