"""What a diagnosis knows: the mistakes it can name, and the true derivative evaluated at the sample points.

A :class:`Context` holds the true derivative, its chain-rule paths and their local
factors, each as a vector of values at the verifier's sample points, and compares
them with the claim's values. The checks of :mod:`.diagnose` and
:mod:`.factor_mistakes` build variants of the truth from these vectors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy

from ..present.latex import expr_latex

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.sweep import ChainPath, Derivative

__all__ = ["Vec", "MAX_PATHS", "MAX_POOL", "MAX_SUBSET_PATHS", "MAX_SWAPS", "MISTAKES", "Context", "Finding", "add", "edge_text", "factor_tex", "mul",
           "paths_text", "ratio", "slip_name", "sub", "term_tex", "tex"]

#: The mistakes a diagnosis can name.
MISTAKES = (
    "sign",
    "constant_factor",
    "wrong_parameter",
    "missing_path",
    "extra_path",
    "bracket",
    "missing_factor",
    "extra_factor",
    "wrong_factor",
    "wrong_variable",
    "transposed",
)

# Limits that keep a diagnosis well under a second on networks of a few dozen parameters; beyond
# them the costlier checks are skipped rather than slowing every verdict down.
MAX_PATHS = 12
MAX_SUBSET_PATHS = 6
MAX_POOL = 600
MAX_SWAPS = 3000


@dataclass(frozen=True)
class Finding:
    """A diagnosis: which mistake (one of :data:`MISTAKES`) and what it is, in words."""

    mistake: str
    message: str


# --------------------------------------------------------------------------- vectors

Vec = list  # one value per sample point (mpmath numbers), or None when undefined somewhere


def add(*vs: Vec | None) -> Vec | None:
    if any(v is None for v in vs):
        return None
    return [sum(xs) for xs in zip(*vs)]


def sub(a: Vec | None, b: Vec | None) -> Vec | None:
    if a is None or b is None:
        return None
    return [x - y for x, y in zip(a, b)]


def mul(*vs: Vec | None) -> Vec | None:
    if any(v is None for v in vs):
        return None
    out = list(vs[0])
    for v in vs[1:]:
        out = [x * y for x, y in zip(out, v)]
    return out


def ratio(a: Vec | None, b: Vec | None) -> list | None:
    """a / b point by point, None at the points where b is 0 (they say nothing about a ratio)."""
    if a is None or b is None:
        return None
    return [x / y if x is not None and y is not None and abs(y) > 1e-25 else None for x, y in zip(a, b)]


class Context:
    """The true derivative, its paths and factors, evaluated at the sample points."""

    def __init__(self, derivative: "Derivative", claimed: Vec, sample, rel_tol: float, abs_tol: float):
        self.d = derivative
        self.net = derivative.network
        self.param = derivative.param
        self.sweep = derivative.sweep
        self.claimed = claimed
        self.sample = sample
        self.rel_tol, self.abs_tol = rel_tol, abs_tol
        self._cache: dict[sympy.Expr, Vec | None] = {}
        self.truth = self.vec(derivative.factored)
        n_paths = self.sweep.path_count(self.param)
        self.paths: tuple["ChainPath", ...] = derivative.paths if n_paths <= MAX_PATHS else ()
        self.path_vecs = [self.product(p.factors) for p in self.paths]

    def vec(self, expr) -> Vec | None:
        expr = sympy.sympify(expr)
        if expr not in self._cache:
            values = self.sample.vec(expr)
            self._cache[expr] = None if any(v is None for v in values) else values
        return self._cache[expr]

    def product(self, factors) -> Vec | None:
        return mul(*[self.vec(f.value) for f in factors]) if factors else [1] * len(self.claimed)

    def without(self, k: int, skip) -> Vec | None:
        """Path ``k``'s term without the factors at positions ``skip``: a product of the
        others, never a division (a ReLU's step factor is 0 wherever the unit is dead)."""
        return self.product([f for j, f in enumerate(self.paths[k].factors) if j not in skip])

    def close(self, a, b) -> bool:
        return abs(a - b) <= self.abs_tol + self.rel_tol * max(abs(a), abs(b))

    def matches(self, v: Vec | None) -> bool:
        return v is not None and all(self.close(a, b) for a, b in zip(v, self.claimed))

    def is_zero(self, v: Vec | None) -> bool:
        return v is not None and all(self.close(a, 0) for a in v)

    def path_text(self, path: "ChainPath") -> str:
        return " → ".join(s.name for s in reversed(path.nodes))

    def derivative_name(self, p=None) -> str:
        p = self.param if p is None else p
        return f"∂{self.net.loss.name}/∂{p.name}"


def tex(expr) -> str:
    return f"${expr_latex(sympy.sympify(expr))}$"


def factor_tex(value) -> str:
    text = expr_latex(value)
    return f"$\\left({text}\\right)$" if sympy.sympify(value).is_Add else f"${text}$"


def edge_text(of: sympy.Symbol, wrt: sympy.Symbol) -> str:
    return f"∂{of.name}/∂{wrt.name}"


def paths_text(ctx: Context, ks) -> str:
    return "; ".join(ctx.path_text(ctx.paths[k]) for k in ks)


def term_tex(ctx: Context, k: int) -> str:
    factors = [f.value for f in ctx.paths[k].factors if f.value != 1]
    return " \\cdot ".join(f"\\left({expr_latex(v)}\\right)" if v.is_Add else expr_latex(v) for v in factors) or "1"




def slip_name(s: sympy.Symbol, t: sympy.Symbol) -> str:
    """What writing ``t`` for ``s`` is: a swapped index, a wrong layer, or another index or variable.

    >>> from symgrad.model.names import real_symbol
    >>> slip_name(real_symbol("W2_1_2"), real_symbol("W2_2_1")), slip_name(real_symbol("x1_3"), real_symbol("x2_3"))
    ('swapped index', 'wrong layer')
    """
    ps, pt = re.findall(r"\d+", s.name), re.findall(r"\d+", t.name)
    base_s, base_t = re.sub(r"\d+", "#", s.name), re.sub(r"\d+", "#", t.name)
    layered = "_" in s.name
    if base_s == base_t and len(ps) == len(pt) == 3 and ps[0] == pt[0] and ps[1:] == pt[1:][::-1]:
        return "swapped index"
    if base_s == base_t and layered and len(ps) == len(pt) >= 2 and ps[0] != pt[0] and ps[1:] == pt[1:]:
        return "wrong layer"
    return "wrong index or variable"
