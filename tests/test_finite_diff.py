"""Finite differences: step control, Richardson extrapolation, directional derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import seed_network
from symgrad.crosscheck.backprop import numeric_backprop, numeric_loss
from symgrad.crosscheck.finite_diff import (
    central_difference,
    directional_derivative,
    fd_gradient,
    step_sizes,
)
from symgrad.errors import ShapeError

EPS = np.finfo(float).eps


def test_step_is_cube_root_of_epsilon_scaled_by_the_parameter():
    np.testing.assert_allclose(step_sizes([0.0, 0.5, -1.0, 4.0, -1e6]), EPS ** (1 / 3) * np.array([1, 1, 1, 4, 1e6]))
    np.testing.assert_allclose(step_sizes([0.5, 3.0], richardson=True), EPS**0.2 * np.array([1, 3]))


def test_central_difference_error_is_near_its_theoretical_floor():
    # f = exp: truncation h²e/6 ≈ 1.7e-11 and rounding ε·e/h ≈ 1e-10 at h = ε^(1/3).
    err = abs(central_difference(lambda t: math.exp(t[0]), [1.0])[0] - math.e)
    assert 1e-14 < err < 1e-9


def test_richardson_is_more_accurate():
    f = lambda t: math.sin(3 * t[0]) * math.exp(t[0])
    exact = 3 * math.cos(3.0) * math.e + math.sin(3.0) * math.e
    plain = abs(central_difference(f, [1.0])[0] - exact)
    richardson = abs(central_difference(f, [1.0], richardson=True)[0] - exact)
    assert richardson < plain / 10 and richardson < 1e-11


def test_scaled_step_keeps_its_accuracy_for_a_large_parameter():
    # At θ = 1e6 an unscaled step of 6e-6 is only ~5e4 ulps of θ, so rounding f(θ ± h)
    # dominates; scaled by |θ| the step keeps the relative error near its floor.
    f = lambda t: t[0] ** 3
    exact = 3e12
    unscaled = central_difference(f, [1e6], step=EPS ** (1 / 3))[0]
    scaled = central_difference(f, [1e6])[0]
    assert abs(unscaled - exact) / exact > 1e-7
    assert abs(scaled - exact) / exact < 1e-9


def test_the_actual_step_is_divided_by():
    # θ ± h are rounded; dividing by the distance actually travelled keeps the identity exact.
    theta = 0.1 + 1e-9
    h = step_sizes([theta])[0]
    assert ((theta + h) - (theta - h)) / (2 * h) != 1.0  # what a naive 2h would give
    assert central_difference(lambda t: t[0], [theta])[0] == 1.0


def test_fd_gradient_on_seed_002():
    net = seed_network("datawhale")
    rng = np.random.default_rng(0)
    theta, x, y = rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 3), rng.uniform(0, 1, 2)
    loss, exact = numeric_backprop(net, theta, x, y)
    fd_loss, fd = fd_gradient(net, theta, x, y)
    assert fd_loss == loss
    np.testing.assert_allclose(fd, exact, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fd_gradient(net, theta, x, y, richardson=True)[1], exact, rtol=1e-9, atol=1e-12)


def test_fd_gradient_of_seed_000_at_its_second_step():
    loss, g = fd_gradient(seed_network("quadratic"), [1.04, 1.04], richardson=True)
    np.testing.assert_allclose(g, [-3.990272, -3.990272], rtol=1e-10)


def test_directional_derivative_is_g_dot_v():
    net = seed_network("deep_4_layer")
    rng = np.random.default_rng(5)
    theta, x, y = rng.uniform(-1, 1, len(net.params)), rng.uniform(-1, 1, 3), rng.uniform(0, 1, 2)
    g = numeric_backprop(net, theta, x, y)[1]
    for _ in range(3):
        v = rng.standard_normal(len(theta))
        d = directional_derivative(lambda t: numeric_loss(net, t, x, y), theta, v, richardson=True)
        assert d == pytest.approx(g @ v / np.linalg.norm(v), rel=1e-7, abs=1e-12)


def test_directional_derivative_notices_one_wrong_component():
    f = lambda t: float(np.sum(np.sin(t)))
    theta = np.linspace(-1, 1, 50)
    g = np.cos(theta)
    wrong = g.copy()
    wrong[17] *= 1.5
    v = np.random.default_rng(1).standard_normal(50)
    d = directional_derivative(f, theta, v)
    assert d == pytest.approx(g @ v / np.linalg.norm(v), abs=1e-8)
    assert abs(d - wrong @ v / np.linalg.norm(v)) > 1e-3


def test_fd_gradient_checks_shapes():
    with pytest.raises(ShapeError, match=r"params must have shape \(2,\)"):
        fd_gradient(seed_network("quadratic"), [1.0])
