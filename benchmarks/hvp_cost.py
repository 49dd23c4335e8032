"""The cost of a compiled Hessian-vector product against one gradient call, side by side.

    python benchmarks/hvp_cost.py

Target: f.hvp(params, v, x, y) at most about 4x the cost of f(params, x, y). Both are
called through GradFn (its argument checks included), interleaved round by round on
the same inputs, medians of many rounds; the machine's load average is printed.
Networks: the datawhale 3-2-2 network, a 4-layer 3-4-4-4-2 mlp (straight-line code) and
a 16-16-2 mlp (tape code).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symgrad as sg  # noqa: E402
from symgrad.model.spec import load_spec  # noqa: E402


def _per_call(function, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def measure(name: str, net: sg.Network, rounds: int = 30, repeats: int = 2000) -> float:
    f = net.compile(jit_after=0)  # compiled, and so is its f.hvp
    rng = np.random.default_rng(0)
    params = rng.uniform(-1, 1, len(net.params))
    x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0, 1, len(net.targets))
    v = rng.standard_normal(len(net.params))
    f(params, x, y), f.hvp(params, v, x, y)  # compile (or load) both first
    grad_times, hvp_times = [], []
    for _ in range(rounds):  # interleaved: a burst of load hits both alike
        grad_times.append(_per_call(lambda: f(params, x, y), repeats))
        hvp_times.append(_per_call(lambda: f.hvp(params, v, x, y), repeats))
    g, h = statistics.median(grad_times), statistics.median(hvp_times)
    print(f"{name:<24} {len(net.params):>5} params   gradient {g * 1e6:8.2f} us   hvp {h * 1e6:8.2f} us   hvp/gradient {h / g:5.2f}x")
    return h / g


def main() -> None:
    print(f"load average before: {os.getloadavg()}")
    ratios = [
        measure("datawhale 3-2-2", load_spec(ROOT / "examples" / "datawhale.toml").network),
        measure("mlp 3-4-4-4-2 tanh", sg.mlp([3, 4, 4, 4, 2], activation="tanh")),
        measure("mlp 16-16-2 sigmoid", sg.mlp([16, 16, 2]), repeats=500),
    ]
    print(f"load average after: {os.getloadavg()}")
    print(f"worst hvp/gradient: {max(ratios):.2f}x (target: at most about 4x)")


if __name__ == "__main__":
    main()
