"""Finite differences: the third, derivative-free leg of the check.

Central differences ``(f(θ + hᵢeᵢ) − f(θ − hᵢeᵢ)) / 2hᵢ`` err by about
``hᵢ²|f'''|/6`` (truncation) plus ``ε|f|/hᵢ`` (rounding); the two balance at
``hᵢ ≈ ε^(1/3)`` ≈ 6e-6, scaled by ``max(1, |θᵢ|)`` so that a large parameter is not
perturbed below its own rounding. Richardson extrapolation, ``(4·D(h/2) − D(h)) / 3``,
cancels the h² term, leaving O(h⁴); its best step is larger, ``ε^(1/5)`` ≈ 7e-4.
For networks too large for one difference per parameter, :func:`directional_derivative`
checks ``g·v`` along a few random directions ``v`` with two evaluations each.

>>> central_difference(lambda t: (t[0] * t[1] - 3) ** 2 + 1, [1.0, 1.0]).round(6).tolist()
[-4.0, -4.0]
"""

from __future__ import annotations

import numpy as np

from .backprop import as_arrays, numeric_loss

__all__ = ["central_difference", "directional_derivative", "fd_gradient", "step_sizes"]

_EPS = np.finfo(np.float64).eps


def step_sizes(theta, *, richardson: bool = False) -> np.ndarray:
    """The step for each parameter: ε^(1/3)·max(1, |θᵢ|), or ε^(1/5)·max(1, |θᵢ|) with Richardson.

    >>> step_sizes([0.5, -200.0]).round(9).tolist()
    [6.055e-06, 0.001211091]
    """
    theta = np.asarray(theta, dtype=np.float64)
    return _EPS ** (0.2 if richardson else 1 / 3) * np.maximum(1.0, np.abs(theta))


def _difference(f, theta, direction, h) -> float:
    """The central difference of ``f`` at ``theta`` along ``direction``, step ``h``."""
    up, down = theta + h * direction, theta - h * direction
    # Divide by the distance actually travelled: θ ± h is rounded, h itself is not.
    span = np.max(np.abs(up - down)) / np.max(np.abs(direction))
    return (f(up) - f(down)) / span


def _derivative(f, theta, direction, h, richardson: bool) -> float:
    if not richardson:
        return _difference(f, theta, direction, h)
    return (4.0 * _difference(f, theta, direction, h / 2) - _difference(f, theta, direction, h)) / 3.0


def central_difference(f, theta, *, richardson: bool = False, step=None) -> np.ndarray:
    """The gradient of a scalar function ``f(θ)`` by central differences, one parameter at a time.

    ``step`` overrides :func:`step_sizes` (a number or one per parameter).

    >>> import math
    >>> g = central_difference(lambda t: math.exp(t[0]), [1.0], richardson=True)
    >>> bool(abs(g[0] - math.e) < 1e-10)
    True
    """
    theta = np.asarray(theta, dtype=np.float64)
    steps = step_sizes(theta, richardson=richardson) if step is None else np.broadcast_to(np.asarray(step, dtype=np.float64), theta.shape)
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = 1.0
        grad[i] = _derivative(f, theta, e, steps[i], richardson)
    return grad


def directional_derivative(f, theta, direction, *, richardson: bool = False, step=None) -> float:
    """The derivative of ``f`` at ``θ`` along ``direction`` (normalised to length 1): two evaluations
    (four with Richardson), whatever the number of parameters. Compare it with ``g·v/‖v‖``.

    >>> d = directional_derivative(lambda t: t[0] ** 2 + 3 * t[1], [1.0, 0.0], [0.0, 2.0])
    >>> round(float(d), 8)
    3.0
    """
    theta = np.asarray(theta, dtype=np.float64)
    v = np.asarray(direction, dtype=np.float64)
    v = v / np.linalg.norm(v)
    h = step_sizes([np.max(np.abs(theta), initial=0.0)], richardson=richardson)[0] if step is None else float(step)
    return _derivative(f, theta, v, h, richardson)


def fd_gradient(net, params, x=None, y=None, *, richardson: bool = False):
    """Loss and gradient of ``net`` at one sample by central differences of its numeric forward pass.

    >>> import symgrad as sg
    >>> loss, g = fd_gradient(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), [1.04, 1.04])
    >>> round(loss, 8), g.round(6).tolist()
    (4.68025856, [-3.990272, -3.990272])
    """
    theta, xs, ys = as_arrays(net, params, x, y)
    loss = numeric_loss(net, theta, xs, ys)
    return loss, central_difference(lambda t: numeric_loss(net, t, xs, ys), theta, richardson=richardson)
