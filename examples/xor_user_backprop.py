"""Seed 000's XOR network: its own NumPy Jacobian-product backprop, checked by symgrad.

Seed 000 (§3.2–3.4) builds a 2-4-1 network with dummy bias nodes,

    f1: x⁽²⁾ = θ⁽¹⁾·[1; x⁽¹⁾]          θ⁽¹⁾ ∈ M[4, 3]
    f2: x⁽³⁾ = [1; sigmoid(x⁽²⁾)]
    f3: x⁽⁴⁾ = sigmoid(θ⁽²⁾·x⁽³⁾)       θ⁽²⁾ ∈ M[1, 5]
    f4: E = ½(x⁽⁴⁾ − t)²

and backpropagates by multiplying Jacobians, with the matrices flattened row by row.
``NeuralNet`` below is the seed's class with its bugs fixed:

1. ``dtype=np.float`` (removed in NumPy 1.24) is ``np.float64``.
2. ``np.concatenate([[1]], self.x1, axis=0)`` passed ``x1`` as the axis; the arrays go in one tuple.
3. ``jacobian_f2_x2`` was read off the padded ``x3 = [1; σ(x2)]`` as ``x3(1 − x3)``, right only
   because the dummy node happens to give 1·(1 − 1) = 0; it is now built from σ'(x2) itself:
   a zero row for the dummy node over diag(σ(x2)(1 − σ(x2))).
4. ``back_propagate`` ran twice per sample (once in the loop, again in ``update_parameter``);
   ``update_parameter`` now takes the gradient it is given.

Also, the text's eq. 3.11 writes (θ⁽²⁾)ᵀx⁽³⁾, which does not conform for θ⁽²⁾ ∈ M[1, 5]:
the product is θ⁽²⁾x⁽³⁾, as the seed's code has it.

``xor_backprop(params, x, y) -> (loss, grad)`` wraps the class as a user gradient function,
and ``xor_network()`` is the same network declared for symgrad (``examples/xor.toml``).
Run ``python examples/xor_user_backprop.py`` to check one against the other and train.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import symgrad as sg
from symgrad.crosscheck.check import check
from symgrad.model.spec import load_spec

#: The network as symgrad reads it (shared with ``symgrad derive examples/xor.toml``): parameters
#: theta1_i_j (row i of θ⁽¹⁾, column j; column 0 multiplies the dummy node), then theta2_1_j.
XOR_SPEC = Path(__file__).resolve().with_name("xor.toml")

#: The XOR table (x⁽¹⁾ → t).
XOR_DATA = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]


def xor_network() -> sg.Network:
    """Seed 000's XOR network, declared for symgrad by ``examples/xor.toml`` (17 parameters)."""
    return load_spec(XOR_SPEC).network


def _block_diag(*rows: np.ndarray) -> np.ndarray:
    # scipy.linalg.block_diag, written out so the example needs NumPy only.
    out = np.zeros((len(rows), sum(r.shape[1] for r in rows)))
    at = 0
    for i, r in enumerate(rows):
        out[i, at : at + r.shape[1]] = r[0]
        at += r.shape[1]
    return out


class NeuralNet:
    """Seed 000's network, as the seed writes it, with the bugs listed above fixed."""

    def __init__(self):
        self.x1 = np.zeros(shape=(2, 1), dtype=np.float64)
        self.x2 = np.zeros(shape=(4, 1), dtype=np.float64)
        self.x3 = np.zeros(shape=(5, 1), dtype=np.float64)
        self.x4 = np.zeros(shape=(1, 1), dtype=np.float64)
        self.x5 = np.zeros(shape=(1, 1), dtype=np.float64)

        self.theta1 = np.zeros(shape=(4, 3), dtype=np.float64)
        self.theta2 = np.zeros(shape=(1, 5), dtype=np.float64)
        self.tx1 = np.zeros(shape=(1, 1), dtype=np.float64)

        self.jacobian_f1_x1 = np.zeros(shape=(4, 2), dtype=np.float64)
        self.jacobian_f1_theta1 = np.zeros(shape=(4, 12), dtype=np.float64)
        self.jacobian_f2_x2 = np.zeros(shape=(5, 4), dtype=np.float64)
        self.jacobian_f3_x3 = np.zeros(shape=(1, 5), dtype=np.float64)
        self.jacobian_f3_theta2 = np.zeros(shape=(1, 5), dtype=np.float64)
        self.jacobian_f4_x4 = np.zeros(shape=(1, 1), dtype=np.float64)

    def feed_forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.x1.shape != x.shape or self.tx1.shape != y.shape:
            raise ValueError(f"x must have shape {self.x1.shape} and y {self.tx1.shape}, got {x.shape} and {y.shape}")
        self.x1 = x
        self.tx1 = y

        self.x2 = np.concatenate(([[1.0]], self.x1), axis=0)
        self.x2 = self.theta1 @ self.x2
        self.jacobian_f1_x1 = self.theta1[:, [1, 2]].copy()

        temp = np.concatenate(([[1.0]], self.x1), axis=0).T  # fixed: one tuple of arrays
        self.jacobian_f1_theta1 = _block_diag(temp, temp, temp, temp)

        s = 1 / (1 + np.exp(0 - self.x2))
        self.x3 = np.concatenate(([[1.0]], s), axis=0)

        # fixed: σ'(x2) itself, below a zero row for the dummy node x3_0 = 1
        self.jacobian_f2_x2 = np.vstack([np.zeros((1, 4)), np.diag((s * (1 - s)).flatten())])

        temp = self.theta2 @ self.x3
        self.x4 = 1 / (1 + np.exp(0 - temp))

        self.jacobian_f3_x3 = self.theta2 * self.x4 * (1 - self.x4)
        self.jacobian_f3_theta2 = self.x3.T * self.x4 * (1 - self.x4)

        self.x5 = (1 / 2) * np.power(self.x4 - self.tx1, 2)
        self.jacobian_f4_x4 = self.x4 - self.tx1
        return self.x5

    def back_propagate(self) -> tuple[np.ndarray, np.ndarray]:
        theta2_gradient = self.jacobian_f4_x4 @ self.jacobian_f3_theta2
        theta1_gradient = self.jacobian_f4_x4 @ self.jacobian_f3_x3 @ self.jacobian_f2_x2 @ self.jacobian_f1_theta1
        return theta1_gradient.reshape(4, 3), theta2_gradient

    def update_parameter(self, gradients, lr: float = 0.02) -> None:
        theta1_gradient, theta2_gradient = gradients  # fixed: no second back_propagate
        self.theta1 = self.theta1 - lr * theta1_gradient
        self.theta2 = self.theta2 - lr * theta2_gradient

    def set_parameter(self, theta1: np.ndarray, theta2: np.ndarray):
        self.theta1 = theta1
        self.theta2 = theta2


def xor_backprop(params, x, y):
    """The seed's backprop as a user gradient: ``(params, x, y) -> (loss, grad)``, θ⁽¹⁾ then θ⁽²⁾, row by row."""
    params = np.asarray(params, dtype=np.float64)
    net = NeuralNet()
    net.set_parameter(params[:12].reshape(4, 3), params[12:].reshape(1, 5))  # row by row
    loss = net.feed_forward(np.asarray(x, dtype=np.float64).reshape(2, 1), np.asarray(y, dtype=np.float64).reshape(1, 1))
    theta1_gradient, theta2_gradient = net.back_propagate()
    return float(loss[0, 0]), np.concatenate([theta1_gradient.ravel(), theta2_gradient.ravel()])


def train(epochs: int = 5000, lr: float = 0.02, seed: int = 0, every: int = 1000) -> list[float]:
    """The seed's training loop (per-sample updates over the XOR table); the summed error every ``every`` epochs."""
    rng = np.random.default_rng(seed)
    net = NeuralNet()
    net.set_parameter(rng.random((4, 3)), rng.random((1, 5)))
    errors = []
    for i in range(epochs):
        error = 0.0
        for x, t in XOR_DATA:
            error += net.feed_forward(np.array(x).reshape(2, 1), np.array([[t]]))[0, 0]
            net.update_parameter(net.back_propagate(), lr)
        if (i + 1) % every == 0:
            errors.append(error)
    return errors


if __name__ == "__main__":
    report = check(xor_network(), grad=xor_backprop, seed=0)
    print(report)
    for k, error in enumerate(train(), start=1):
        print(f"epoch {1000 * k}: error {error:.6f}")
    sys.exit(report.exit_code)
