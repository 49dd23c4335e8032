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


_x, _y, _z = sympy.symbols("x y z", real=True)
_FACTORS = [_x, _y, _z, _x**2, 1 / _x, _x**_y, sympy.exp(_x), sympy.exp(2 * _x), sympy.exp(_y), sympy.E, sympy.Integer(2), sympy.Rational(-1, 3),
            _x + 1, (_x + 1) ** 2, 1 / (_x + 1), 1 - sympy.tanh(_y) ** 2, sympy.sqrt(2), 2**_x, 3**_x, sympy.Abs(_z), sympy.I, -_y, 2 * _x]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FACTORS), min_size=2, max_size=30))
def test_a_product_grown_one_factor_at_a_time_is_sympys(factors):
    """As the reverse sweep grows an adjoint along a chain: each step equals Mul, structurally."""
    got = want = factors[0]
    for f in factors[1:]:
        got, want = product(got, f), want * f
        assert got == want and got.args == want.args and hash(got) == hash(want)


def test_a_long_chain_of_factors_is_linear():
    """3,000 factors (1 − tanh(h_k)²), one at a time, as the sweep builds a tanh chain's adjoint."""
    hs = sympy.symbols("h1:3001", real=True)
    acc = sympy.S.One
    for h in hs:
        acc = product(acc, 1 - sympy.tanh(h) ** 2)
    assert len(acc.args) == 3000 and acc == sympy.Mul(*[1 - sympy.tanh(h) ** 2 for h in hs])
