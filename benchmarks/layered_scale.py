"""Layered (mlp) networks at scale: compile time against width, batch gradient against NumPy.

    python benchmarks/layered_scale.py            # all widths (a few minutes: one cold compile each)
    python benchmarks/layered_scale.py --quick    # 8-8-2 and 784-256-10 only

1. Build + cold compile: for n-n-2 (n = 8 … 1024) and 784-256-10 sigmoid/mse networks,
   the time from ``sg.mlp(...)`` to the first single-sample, value and batch calls
   returning (numba compiles on first call). Each size runs in its own Python process
   with its own fresh ``SYMGRAD_CACHE_DIR``, so every compile is cold and none profits
   from another's in-process numba state; the timer starts after ``import symgrad, numba``.
   Target: 784-256-10 within 3x of 8-8-2.
2. A 784-256-10 sigmoid network, batch of 256: ``f.batch`` against a NumPy batched
   backprop (``symgrad.crosscheck.backprop.LayerPass``, the same δ recursion in NumPy), in this
   process, best and median of repeated runs. Target: at most 1.2x NumPy's time.
   PyTorch CPU autograd is added when torch is importable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This checkout, not an installed symgrad.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
import numpy as np
import numba  # imported before the timer: the same fixed cost for every size
import symgrad as sg
sizes = json.loads(sys.argv[1])
t0 = time.perf_counter()
net = sg.mlp(sizes, activation="sigmoid", loss="mse")
built = time.perf_counter() - t0
f = net.compile(layered=True)  # the loop kernel whatever the size: its scaling is measured
rng = np.random.default_rng(0)
p = rng.normal(0.0, 0.05, len(net.params))
x, y = rng.uniform(0, 1, sizes[0]), rng.uniform(0, 1, sizes[-1])
f(p, x, y); f.value(p, x, y); f.batch(p, x[None, :], y[None, :])
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "build": built, "module": sg.__file__, "params": len(net.params), "steps_expanded": net._steps is not None,
                  "source_lines": f.source.count("\n")}))
"""


def cold_compile(sizes: list[int]) -> dict:
    with tempfile.TemporaryDirectory(prefix="symgrad-bench-") as cache:
        env = dict(os.environ, SYMGRAD_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(sizes), str(ROOT)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _timed(call, repeat: int) -> tuple[float, float]:
    call()  # warm: compiled, caches and BLAS threads up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def batch_speed(repeat: int = 30) -> dict:
    import symgrad as sg
    from symgrad.crosscheck.backprop import LayerPass

    net = sg.mlp([784, 256, 10], activation="sigmoid", loss="mse")
    with tempfile.TemporaryDirectory(prefix="symgrad-bench-") as cache:
        f = net.compile(cache_dir=cache, layered=True)
        rng = np.random.default_rng(1)
        p = rng.normal(0.0, 0.05, len(net.params))
        X, Y = rng.uniform(0, 1, (256, 784)), rng.uniform(0, 1, (256, 10))
        loss, g = f.batch(p, X, Y)
        ref = LayerPass(net.layers, p, X, Y)
        assert np.allclose(g, ref.backward(), rtol=1e-10, atol=1e-14) and abs(loss - ref.loss) < 1e-12
        results = {"symgrad": _timed(lambda: f.batch(p, X, Y), repeat), "numpy": _timed(lambda: LayerPass(net.layers, p, X, Y).backward(), repeat)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        W1 = torch.tensor(p[: 256 * 784].reshape(256, 784), requires_grad=True)
        b1 = torch.tensor(p[256 * 784 : 256 * 785], requires_grad=True)
        rest = p[256 * 785 :]
        W2 = torch.tensor(rest[:2560].reshape(10, 256), requires_grad=True)
        b2 = torch.tensor(rest[2560:], requires_grad=True)
        tX, tY = torch.tensor(X), torch.tensor(Y)

        def torch_step():
            for t in (W1, b1, W2, b2):
                t.grad = None
            o = torch.sigmoid(torch.sigmoid(tX @ W1.T + b1) @ W2.T + b2)
            (0.5 * ((o - tY) ** 2).sum() / len(tX)).backward()

        results["torch"] = _timed(torch_step, repeat)
    return results


def main() -> None:
    quick = "--quick" in sys.argv
    widths = [8, 1024] if quick else [8, 32, 128, 512, 1024]
    configs = [[n, n, 2] for n in widths] + [[784, 256, 10]]
    print("build + cold compile (mlp sigmoid/mse, fresh cache dir, own process)")
    print(f"{'network':>12} {'params':>9} {'lines':>6} {'build s':>8} {'compile s':>10} {'total s':>8}")
    seconds = {}
    for sizes in configs:
        r = cold_compile(sizes)
        name = "-".join(map(str, sizes))
        seconds[name] = r["seconds"]
        assert not r["steps_expanded"], f"{name}: compiling expanded the network's scalar steps"
        assert Path(r["module"]).resolve().parent.parent == ROOT, f"the child imported {r['module']}, not this checkout"
        compile_s = r["seconds"] - r["build"]
        print(f"{name:>12} {r['params']:>9} {r['source_lines']:>6} {r['build']:>8.2f} {compile_s:>10.2f} {r['seconds']:>8.2f}", flush=True)
    ratio = seconds["784-256-10"] / seconds["8-8-2"]
    print(f"784-256-10 / 8-8-2 build + compile time: {ratio:.2f}x (target <= 3x: {'met' if ratio <= 3 else 'MISSED'})")
    print()
    print("784-256-10 sigmoid/mse, batch of 256, gradient time (best / median of 30)")
    speed = batch_speed()
    for name, (best, median) in speed.items():
        print(f"{name:>8}: {best * 1e3:8.2f} ms / {median * 1e3:8.2f} ms")
    if "torch" not in speed:
        print("   torch: not installed, skipped")
    rb = speed["symgrad"][0] / speed["numpy"][0]
    rm = speed["symgrad"][1] / speed["numpy"][1]
    print(f"symgrad / numpy: {rb:.2f}x best, {rm:.2f}x median (target <= 1.2x: {'met' if min(rb, rm) <= 1.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
