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

import bisect

import sympy
from sympy.core.mul import _args_sortkey

__all__ = ["factor_key", "is_plain_factor", "product"]


def _plain_symbol(e) -> bool:
    return e.is_Symbol and e.is_commutative


def factor_key(factor: sympy.Expr) -> tuple:
    """What ``Mul`` gathers factors by: the base and the exponent's term (x²·x³ = x⁵ and
    e^x·e^(2x) = e^(3x), but x^a·x^b and e^x·e^y stay apart).

    >>> x, y = sympy.symbols("x y")
    >>> factor_key(x**2) == factor_key(x**3), factor_key(sympy.exp(x)) == factor_key(sympy.exp(y))
    (True, False)
    """
    base, exponent = factor.as_base_exp()
    return base, exponent.as_coeff_Mul()[1]


def is_plain_factor(e: sympy.Expr) -> bool:
    """A factor that ``Mul`` gathers only with factors of its own :func:`factor_key`: not a
    number, a product, an infinity or I, nor a power of a number (2^x·3^x = 6^x)."""
    if e.is_Atom:
        return e.is_commutative and (e.is_Symbol or e.is_NumberSymbol)
    return e.is_commutative and not e.is_Mul and not e.as_base_exp()[0].is_Number


# The gathering keys of the last products built (None when a factor is not plain): a
# reverse sweep multiplies each product by one more factor, and re-reading a
# 5,000-factor product each time is what made a long chain quadratic.
_KEYS: dict[sympy.Expr, frozenset | None] = {}
_KEYS_KEPT = 64


def _keys_of(m: sympy.Expr) -> frozenset | None:
    if m in _KEYS:
        return _KEYS[m]
    factors = m.args[1:] if m.args[0].is_Number else m.args
    return frozenset(factor_key(f) for f in factors) if all(is_plain_factor(f) for f in factors) else None


def _insert(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr | None:
    """``a*b`` for a product ``a`` and a factor ``b`` that nothing in ``a`` gathers with; None otherwise.

    Mul would re-flatten and re-sort all of ``a``; ``b`` goes into its sorted place instead.
    """
    if not (a.is_Mul and a.is_commutative and is_plain_factor(b)):
        return None
    keys, key = _keys_of(a), factor_key(b)
    if keys is None or key in keys:
        return None
    args = list(a.args)
    bisect.insort(args, b, lo=1 if args[0].is_Number else 0, key=_args_sortkey)
    result = sympy.Mul._from_args(tuple(args), True)
    if len(_KEYS) >= _KEYS_KEPT:
        _KEYS.pop(next(iter(_KEYS)))
    _KEYS[result] = keys | {key}
    return result


def product(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a*b`` in sympy's canonical form, built quickly when ``b`` or ``a`` is a plain symbol,
    or when one more factor joins a product that has nothing to gather it with."""
    if not _plain_symbol(b):
        if _plain_symbol(a):
            a, b = b, a
        else:
            fast = _insert(a, b) if a.is_Mul else (_insert(b, a) if b.is_Mul else None)
            return fast if fast is not None else a * b
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
