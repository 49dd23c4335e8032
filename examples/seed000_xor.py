"""Seed 000, §3.2–3.4: the 2-4-1 XOR network with dummy bias nodes, trained per sample.

The seed trains its network on the XOR table with one update per sample (lr = 0.02,
100,000 epochs, θ from ``np.random.rand``) and prints the summed error e1 + e2 + e3 + e4
every 10,000 epochs. This script does the same with symgrad's compiled gradient
(``examples/xor.toml``, ``symgrad.train.gradient_descent(..., mode="sgd")``), then checks
the symbolic gradient, and the seed's own NumPy backprop (fixed, in
``examples/xor_user_backprop.py``), against numeric backprop and finite differences.

    python examples/seed000_xor.py [--epochs N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# Run as a script, this file's directory is on sys.path: the seed's code is importable.
from xor_user_backprop import NeuralNet, xor_backprop

import symgrad as sg
from symgrad.model.spec import load_spec
from symgrad.train import gradient_descent

SPEC = Path(__file__).resolve().with_name("xor.toml")
REPORT_EVERY = 10_000  # the seed prints its error every 10,000 epochs


def main(argv=None) -> int:
    spec = load_spec(SPEC)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=spec.train["epochs"], help="passes over the XOR table (default: the seed's %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the starting θ (default: %(default)s)")
    args = parser.parse_args(argv)

    net = spec.network
    X, Y = spec.data["X"], spec.data["Y"]
    lr = spec.train["lr"]
    # Like the seed's np.random.rand(4, 3) and rand(1, 5): uniform in [0, 1), θ⁽¹⁾ then θ⁽²⁾ row by row.
    theta0 = np.random.default_rng(args.seed).random(len(net.params))
    print(f"XOR network: {len(net.params)} parameters, {len(X)} samples, lr = {lr:g}, {args.epochs} epochs, seed {args.seed}")

    # One update per sample, in the table's order, as the seed's loop does.
    hist = gradient_descent(net, theta0, (X, Y), lr=lr, epochs=args.epochs, mode="sgd")
    # hist.loss[k] is the mean loss over the table after k updates, so after epoch e it is
    # hist.loss[4e], and 4 × that is the summed error. (The seed sums e1..e4 as it goes,
    # each sample's error taken just before its own update, so its numbers differ slightly.)
    n = len(X)
    print(f"epoch {0:>6}: error e1+e2+e3+e4 = {n * hist.loss[0]:.6f}")
    for epoch in range(REPORT_EVERY, args.epochs + 1, REPORT_EVERY):
        print(f"epoch {epoch:>6}: error e1+e2+e3+e4 = {n * hist.loss[n * epoch]:.6f}")
    if args.epochs % REPORT_EVERY:
        print(f"epoch {args.epochs:>6}: error e1+e2+e3+e4 = {n * hist.final_loss:.6f}")

    # The trained θ, run through the seed's own forward pass: x⁽⁴⁾ for each row of the table.
    seed_net = NeuralNet()
    theta = hist.final_params
    seed_net.set_parameter(theta[:12].reshape(4, 3), theta[12:].reshape(1, 5))
    print("\ntrained network (the seed's feed_forward):")
    for x, t in zip(X, Y):
        seed_net.feed_forward(x.reshape(2, 1), t.reshape(1, 1))
        print(f"  x = ({x[0]:g}, {x[1]:g})  t = {t[0]:g}  x4 = {seed_net.x4[0, 0]:.4f}")

    print("\nsymgrad's gradient, checked at 3 random points:")
    ours = sg.check(net, seed=0)
    print(ours.table(max_rows=3))
    print("\nthe seed's Jacobian-product backprop (examples/xor_user_backprop.py) as grad=:")
    theirs = sg.check(net, grad=xor_backprop, seed=0)
    print(theirs.table(max_rows=3))
    return max(ours.exit_code, theirs.exit_code)


if __name__ == "__main__":
    sys.exit(main())
