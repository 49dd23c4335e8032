"""The fast product builds exactly sympy's canonical Mul."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symgrad.model.canonical import product

_symbols = sympy.symbols("a b c x1 x2 W1_1_1 bar_u", real=True) + (sympy.Dummy("d", real=True),)
_atoms = st.sampled_from(_symbols + (sympy.Integer(2), sympy.Rational(-1, 2), sympy.Integer(-1)))
_exprs = st.recursive(
    _atoms,
    lambda c: st.one_of(st.tuples(c, c).map(lambda p: p[0] * p[1]), st.tuples(c, c).map(lambda p: p[0] + p[1]),
                        c.map(lambda e: sympy.exp(e)), c.map(lambda e: e**2)),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(_exprs, _exprs)
def test_product_is_structurally_sympys_mul(a, b):
    got, want = product(a, b), a * b
    assert got == want and got.args == want.args and hash(got) == hash(want)


def test_fast_path_cases():
    a, b, x = sympy.symbols("a b x", real=True)
    assert product(sympy.S.One, x) is x
    assert product(3 * a * b, x).args == (3 * a * b * x).args
    assert product(a * x, x) == a * x**2  # exponents merge: sympy's own path
