"""The functions' values and slopes in plain numbers: the numeric backprop's own rules.

Written by hand, apart from the sympy derivatives of :mod:`symgrad.model.elementwise`,
so that the numeric backprop shares no derivative code with the symbolic engine; the
tests hold the two against each other. Plain-float arithmetic here gives inf/nan
where NumPy would, instead of raising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np

__all__ = [
    "Numeric",
    "exp_value",
    "gelu_tanh_slope",
    "gelu_tanh_value",
    "guarded",
    "log_value",
    "mp_gelu_c",
    "mp_sigmoid",
    "normal_cdf_array",
    "normal_cdf_value",
    "normal_pdf_array",
    "normal_pdf_value",
    "sigmoid_array",
    "sigmoid_value",
    "sign_value",
    "sqrt_value",
]


# The numeric backprop's arithmetic: plain floats that give inf/nan where NumPy would,
# instead of raising.


def exp_value(a):
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def log_value(a):
    return math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)


def sqrt_value(a):
    return math.sqrt(a) if a >= 0 else math.nan


def sigmoid_value(a):
    # Two forms so that neither ever overflows.
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    z = math.exp(a)
    return z / (1.0 + z)


def sign_value(a):
    return 1.0 if a > 0 else (-1.0 if a < 0 else 0.0)


def guarded(f):
    """``f`` with a domain error (asin(2), acosh(0)) giving NaN, as NumPy does."""

    def value(a):
        try:
            return f(a)
        except (ValueError, OverflowError):
            return math.nan

    return value


def sigmoid_array(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free


@dataclass(frozen=True)
class Numeric:
    """A function's value and slope in plain numbers, written independently of its sympy
    derivative: the numeric backprop's rule.

    ``value(a)``/``slope(a, v)`` take a float (``v`` is the value at ``a``), and the
    function's constants as keywords (``alpha=0.2``);
    ``array_value(U)``/``array_slope(U, A)`` the same on NumPy arrays (``A`` = value at ``U``),
    for the layer-by-layer pass; None where a function is never a layer's activation.
    """

    value: Callable[[float], float]
    slope: Callable[[float, float], float]
    array_value: Callable[[np.ndarray], np.ndarray] | None = None
    array_slope: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def rule(self, *args: float, **parameters: float) -> tuple[float, tuple[float, ...]]:
        """The backprop rule: (value, local derivatives) at the arguments; a second
        argument (the step's value at 0) is a constant, with derivative 0. ``parameters``
        are the function's constants (leaky_relu's α)."""
        v = self.value(*args, **parameters)
        return v, (self.slope(args[0], v, **parameters),) + (0.0,) * (len(args) - 1)


# --------------------------------------------------------------------------- more rules


def normal_cdf_value(a):
    return 0.5 * math.erfc(-a / math.sqrt(2.0))


def normal_pdf_value(a):
    return math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)


def normal_cdf_array(u):
    return np.vectorize(normal_cdf_value, otypes=[float])(u)


def normal_pdf_array(u):
    return np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)


GELU_C, GELU_A = math.sqrt(2.0 / math.pi), 0.044715


def gelu_tanh_value(a):
    return 0.5 * a * (1.0 + np.tanh(GELU_C * (a + GELU_A * a * a * a)))


def gelu_tanh_slope(a):
    t = np.tanh(GELU_C * (a + GELU_A * a * a * a))
    return 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * a * a)


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_gelu_c():
    """√(2/π) at mpmath's working precision."""
    return mpmath.sqrt(2 / mpmath.pi)
