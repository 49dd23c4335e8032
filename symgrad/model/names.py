"""The names symgrad gives what it declares or generates, in one place.

Every symbol is real (so |x|' is sign(x), not a complex formula). A layered network's
names follow one scheme: inputs ``x1..xn``, targets ``y1..ym``, weights ``W{l}_{i}_{j}``
(layer l, row i, column j), biases ``b{l}_{i}``, pre-activations ``u{l}_{i}``,
activations ``x{l}_{i}``, the softmax normaliser ``lse{l}`` and the loss ``L``. The
reverse sweep names the adjoint of a step ``s`` ``bar_s``.

>>> weight_name(1, 2, 3), adjoint_name("u1"), real_symbol("w1").is_real
('W1_2_3', 'bar_u1', True)
"""

from __future__ import annotations

import sympy

__all__ = [
    "ADJOINT_PREFIX",
    "LAYERED_LOSS",
    "activation_name",
    "adjoint_name",
    "bias_name",
    "input_name",
    "lse_name",
    "pre_activation_name",
    "real_symbol",
    "target_name",
    "weight_name",
]

#: The adjoint of step ``s`` (∂Loss/∂s) is called ``bar_s``.
ADJOINT_PREFIX = "bar_"
#: The loss of a layered network.
LAYERED_LOSS = "L"


def real_symbol(name: str) -> sympy.Symbol:
    """The symbol symgrad uses for ``name``: real, so |x|' is sign(x), not a complex formula."""
    return sympy.Symbol(name, real=True)


def adjoint_name(name: str) -> str:
    return ADJOINT_PREFIX + name


def weight_name(l: int, i: int, j: int) -> str:
    return f"W{l}_{i}_{j}"


def bias_name(l: int, i: int) -> str:
    return f"b{l}_{i}"


def pre_activation_name(l: int, i: int) -> str:
    return f"u{l}_{i}"


def activation_name(l: int, i: int) -> str:
    return f"x{l}_{i}"


def input_name(j: int) -> str:
    return f"x{j}"


def target_name(k: int) -> str:
    return f"y{k}"


def lse_name(l: int) -> str:
    return f"lse{l}"
