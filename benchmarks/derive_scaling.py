"""Derivation time: symgrad's reverse sweep vs naive sympy.diff per parameter + cse.

Run: python benchmarks/derive_scaling.py [--max-naive 16] [--max-n 128]

For n-n-2 sigmoid MLPs (mse loss), prints the time to build the network and derive
every parameter's gradient (the adjoint program and each factored form), and, up
to --max-naive, the naive baseline in the same process: sympy.diff of the fully
substituted loss for each parameter, then sympy.cse over all of them (what one
would need to evaluate the gradient efficiently). Targets (issue 2): >= 100x the
naive speed at n = 16; 32-32-2 in <= 0.5 s; 128-128-2 in <= 5 s; linear growth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy  # noqa: E402

import symgrad as sg  # noqa: E402


def symgrad_time(n: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    net = sg.mlp([n, n, 2])
    net.steps
    t1 = time.perf_counter()
    grads = net.gradients()
    factored = grads.factored  # every parameter's factored form, built by the sweep
    t2 = time.perf_counter()
    assert len(factored) == len(net.params)
    return t1 - t0, t2 - t1, len(net.params)


def naive_time(n: int) -> float:
    net = sg.mlp([n, n, 2])
    loss = net.loss_expr
    t0 = time.perf_counter()
    grads = [sympy.diff(loss, p) for p in net.params]
    sympy.cse(grads)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-naive", type=int, default=16)
    parser.add_argument("--max-n", type=int, default=128)
    args = parser.parse_args()
    print(f"{'network':>12} {'params':>7} {'build s':>9} {'derive s':>9} {'naive s':>9} {'speed-up':>9} {'µs/param':>9}")
    n = 2
    while n <= args.max_n:
        build, derive, n_params = symgrad_time(n)
        naive = naive_time(n) if n <= args.max_naive else None
        ratio = f"{naive / derive:8.0f}x" if naive else f"{'-':>9}"
        naive_s = f"{naive:9.3f}" if naive else f"{'-':>9}"
        print(f"{f'{n}-{n}-2':>12} {n_params:7d} {build:9.3f} {derive:9.3f} {naive_s} {ratio} {derive / n_params * 1e6:9.1f}", flush=True)
        n *= 2


if __name__ == "__main__":
    main()
