"""Fast construction of sympy's canonical product in the common cases of a sweep.

``sympy.Mul`` re-derives the canonical form of a product from scratch (about 75 µs
even for two symbols here). In a reverse sweep over a wide layer almost every
product is *an expression times a symbol it does not contain* (an adjoint times
an input, a weight times an activation); the canonical form of that is known
without flattening: the coefficient first, then the factors sorted by sympy's
own ordering. :func:`product` builds that directly and falls back to ``Mul``
otherwise; a property test checks it against ``Mul`` structurally.

>>> import sympy
>>> a, b, c = sympy.symbols("a b c")
>>> product(2*a*c, b) == 2*a*c*b, product(a, b).args == (a*b).args
(True, True)
"""

from __future__ import annotations

import sympy
from sympy.core.mul import _args_sortkey

__all__ = ["product"]


def _plain_symbol(e) -> bool:
    return e.is_Symbol and e.is_commutative


def product(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a*b`` in sympy's canonical form, built quickly when ``b`` or ``a`` is a plain symbol."""
    if not _plain_symbol(b):
        if _plain_symbol(a):
            a, b = b, a
        else:
            return a * b
    if a is sympy.S.One:
        return b
    if _plain_symbol(a):
        if a == b:
            return a * b
        return sympy.Mul._from_args(tuple(sorted((a, b), key=_args_sortkey)), True)
    if a.is_Mul and a.is_commutative:
        coeff, factors = a.as_coeff_mul()
        if any(f.as_base_exp()[0] == b for f in factors):
            return a * b  # b**k already present: exponents must merge
        ordered = sorted(factors + (b,), key=_args_sortkey)
        args = tuple(ordered) if coeff is sympy.S.One else (coeff, *ordered)
        return sympy.Mul._from_args(args, True)
    return a * b
