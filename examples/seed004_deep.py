"""Seed 004 (SIGAI, general backpropagation): a 4-layer network, row-vector matrix form, batch descent.

n_l = 4 layers 3-4-3-2, tanh hidden layers, a sigmoid output, loss ½‖x⁽ⁿˡ⁾ − y‖²
(``examples/deep_4_layer.toml``). The seed derives δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(u⁽ˡ⁾) with
column vectors, then rewrites it for code, where a sample is a row: u = xW + b,
δ⁽ˡ⁾ = δ⁽ˡ⁺¹⁾(W⁽ˡ⁺¹⁾)ᵀ ⊙ f'(u⁽ˡ⁾), ∇_W L = (x⁽ˡ⁻¹⁾)ᵀδ⁽ˡ⁾. This script

1. prints symgrad's matrix form in that row convention, and verifies every entry of it,
   written out at 3-4-3-2, against the element-wise derivatives (``sg.verify``);
2. trains the network in the seed's batch mode (one update per epoch with the mean
   gradient over all samples, ``mode="batch"``) on a small synthetic data set.

    python examples/seed004_deep.py [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import symgrad as sg
from symgrad.model.spec import load_spec
from symgrad.train import gradient_descent

SPEC = Path(__file__).resolve().with_name("deep_4_layer.toml")
N_SAMPLES = 64
LR = 1.0
REPORTS = 10  # loss lines printed during training


def synthetic_data(n_inputs: int, n_targets: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs uniform in [−1, 1]; targets from a random logistic "teacher", so they lie in
    (0, 1) like the sigmoid output and the network can fit them."""
    X = rng.uniform(-1, 1, (N_SAMPLES, n_inputs))
    teacher = rng.normal(scale=2.0, size=(n_inputs, n_targets))
    Y = 1 / (1 + np.exp(-X @ teacher))
    return X, Y


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000, help="batch updates (default: %(default)s)")
    args = parser.parse_args(argv)

    spec = load_spec(SPEC)
    net = spec.network
    mf = net.matrix_form()
    print("matrix form, row convention (a sample is a row vector, as in the seed's code):")
    print(mf.latex("row"))

    # Each entry of (x⁽ˡ⁻¹⁾)ᵀδ⁽ˡ⁾ and δ⁽ˡ⁾, written out, must be ∂L/∂ of its parameter.
    written_out = mf.instantiate("row").gradients
    held = sum(sg.verify(net, p, formula).ok for p, formula in written_out.items())
    sizes = "-".join(map(str, net.layers.sizes))
    print(f"\nthe row form written out at {sizes} equals net.grad: {held}/{len(written_out)} entries hold")

    rng = np.random.default_rng(0)
    X, Y = synthetic_data(len(net.inputs), len(net.targets), rng)
    theta0 = rng.normal(scale=0.5, size=len(net.params))
    print(f"\nbatch gradient descent: {N_SAMPLES} samples, lr = {LR:g}, {args.epochs} epochs")
    # grad=: the compiled per-sample kernel, averaged over the samples each epoch. For a short
    # run on 64 samples it is faster overall than the default f.batch, whose parallel loop
    # takes several seconds to compile and pays a thread hand-off on every call.
    hist = gradient_descent(net, theta0, (X, Y), lr=LR, epochs=args.epochs, mode="batch", grad=net.compile())
    step = max(1, args.epochs // REPORTS)
    for epoch in range(0, args.epochs + 1, step):
        print(f"  epoch {epoch:>5}: mean loss {hist.loss[epoch]:.6f}")
    print(hist.summary())
    return 0 if held == len(written_out) else 1


if __name__ == "__main__":
    sys.exit(main())
